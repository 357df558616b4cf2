"""Issue 23, part B: the Python API and sampling/eval faults an outside tester found.

Each test makes the call a user made (`ganzoo.train/load/evaluate/open_run`, `Run.*`,
`LoadedGenerator.sample`, or the command line in process) and checks that a wrong argument is one
`GanzooError` line, raised before any work starts (nothing trained, loaded or written).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import fit, one_line, tiny, tiny_images

import ganzoo
from ganzoo.errors import GanzooError, UsageError


@pytest.fixture
def cond(toy):
    """A tiny conditional run (10 classes) and its loaded generator."""
    cfg = tiny_images(steps=2)
    cfg["gen"] = {"name": "toy-cmlp"}
    fit(cfg)
    return ganzoo.load("run")


@pytest.fixture
def points(toy):
    fit(tiny(steps=2))
    return Path("run")


def _nothing_written(before: set[Path]) -> bool:
    return set(Path().rglob("*")) == before


# -- item 1: progress and out ---------------------------------------------------------------------------

def test_train_refuses_an_unknown_progress_mode_before_training(toy):
    with pytest.raises(UsageError) as err:
        ganzoo.train(tiny(steps=1), progress="fancy")
    assert "progress must be one of auto, bar, plain, quiet, not 'fancy'" in one_line(err)
    assert not Path("run").exists()


def test_train_out_none_is_the_default_folder_not_a_folder_named_none(toy):
    cfg = tiny(steps=1)
    del cfg["out"]
    run = ganzoo.train(cfg, out=None, progress="quiet")
    assert not Path("None").exists()
    assert run.path.parent == Path("runs") and run.path.name.startswith("toy-mlp-")


# -- item 2: labels -------------------------------------------------------------------------------------

@pytest.mark.parametrize("labels", [7.9, [1.5, 2.7], "7", True, [1, True], torch.tensor([1.0, 2.0]),
                                    torch.tensor([[1, 2]]), {"a": 1}, object()])
def test_sample_refuses_labels_that_are_not_classes(cond, labels):
    with pytest.raises(UsageError) as err:
        cond.sample(2, labels=labels)
    assert one_line(err).startswith("labels must be classes, integers 0..9")


def test_sample_takes_integer_labels_of_any_integer_kind(cond):
    import numpy as np

    want = cond.sample(2, labels=[3, 4])
    for labels in ([3, 4], (3, 4), torch.tensor([3, 4]), np.array([3, 4]), [np.int64(3), 4]):
        assert torch.equal(cond.sample(2, labels=labels), want)
    assert torch.equal(cond.sample(2, labels=np.int64(5)), cond.sample(2, labels=5))


def test_sample_refuses_out_of_range_labels(cond):
    with pytest.raises(UsageError, match="out of range"):
        cond.sample(2, labels=[3, 10])


@pytest.mark.parametrize("n, seed, needle", [(2.5, 0, "n must be an integer >= 1, not 2.5"),
                                             (True, 0, "n must be an integer >= 1, not True"),
                                             (0, 0, "n must be an integer >= 1, not 0"),
                                             (2, 1.5, "seed must be an integer"),
                                             (2, "1", "seed must be an integer"),
                                             (2, 2**64, "seed must be an integer")])
def test_sample_refuses_a_count_or_seed_that_is_not_an_integer(cond, n, seed, needle):
    with pytest.raises(UsageError) as err:
        cond.sample(n, seed=seed)
    assert needle in one_line(err)


# -- item 3: evaluate's num -----------------------------------------------------------------------------

@pytest.mark.parametrize("num", [-3, 0, 5, 2.5, True, "100"])
def test_evaluate_refuses_a_num_it_would_misread_before_scoring(points, num, monkeypatch):
    import ganzoo.evaluation.sources as sources

    monkeypatch.setattr(sources, "load_samples", lambda *a, **k: pytest.fail("drew samples"))
    with pytest.raises(UsageError) as err:
        ganzoo.evaluate(points, num=num)
    assert "num must be an integer >= 10, or None for the default" in one_line(err)


def test_evaluate_num_none_is_the_default(points):
    import ganzoo.evaluation.runs as runs

    assert ganzoo.evaluate(points, num=None, seed=1)["num"] == runs.DEFAULT_NUM


# -- item 4: wrong types anywhere in the API --------------------------------------------------------------

@pytest.mark.parametrize("call, needle", [
    (lambda: ganzoo.train(gen=5), "gen must be a name or a table"),
    (lambda: ganzoo.train(5), "the first argument must be a recipe name"),
    (lambda: ganzoo.train("vanilla-gaussians", dataset=["x"]), "dataset must be a name or a table"),
    (lambda: ganzoo.train("vanilla-gaussians", resume="no"), "resume must be True or False"),
    (lambda: ganzoo.train("vanilla-gaussians", overwrite=1), "overwrite must be True or False"),
    (lambda: ganzoo.train("vanilla-gaussians", resume=True, overwrite=True), "not both"),
    (lambda: ganzoo.train("vanilla-gaussians", out=5), "out must be the run folder"),
    (lambda: ganzoo.train("vanilla-gaussians", registry="x"), "registry must be"),
    (lambda: ganzoo.train(resume=True), "resume=True continues the run in out="),
    (lambda: ganzoo.load(5), "path must be a run folder"),
    (lambda: ganzoo.load(None), "path must be a run folder"),
    (lambda: ganzoo.load("dcgan-mnist", ema="no"), "ema must be True or False"),
    (lambda: ganzoo.load("dcgan-mnist", device=0), "device must be a device name"),
    (lambda: ganzoo.load("dcgan-mnist", device="gpu"), "device must be"),
    # options are the run's reader's: a noise generator takes no direction, a translator one of its own
    (lambda: ganzoo.load("dcgan-mnist", direction="BtoA"), "generator 'dcgan' draws from noise; it translates no"),
    (lambda: ganzoo.load("pix2pix-mnist-edges", direction="up"), "--direction up: expected one of AtoB, BtoA"),
    (lambda: ganzoo.load("dcgan-mnist", colour=3), "takes no colour"),
    (lambda: ganzoo.open_run(None), "path must be a run folder"),
    (lambda: ganzoo.open_run(3), "path must be a run folder"),
    (lambda: ganzoo.evaluate(None), "path must be a run folder"),
    (lambda: ganzoo.evaluate("dcgan-mnist", seed="a"), "seed must be an integer"),
    (lambda: ganzoo.evaluate("dcgan-mnist", dataset=5), "dataset must be a dataset name"),
    (lambda: ganzoo.evaluate("dcgan-mnist", inception="yes"), "inception must be True or False"),
    (lambda: ganzoo.evaluate("pix2pix-mnist-edges", direction="up"), "--direction up: expected one of AtoB, BtoA"),
    (lambda: ganzoo.evaluate("dcgan-mnist", log="print"), "log must be a function"),
    (lambda: ganzoo.create("dataset", None), "name must be a component's name"),
    (lambda: ganzoo.create("loss", 5), "name must be a component's name"),
    (lambda: ganzoo.list_components(pattern=5), "pattern must be a glob"),
    (lambda: ganzoo.api.Run(None), "path must be a run folder"),
])
def test_api_arguments_of_the_wrong_type_are_one_line_errors(call, needle):
    before = set(Path().rglob("*"))
    with pytest.raises(GanzooError) as err:
        call()
    assert needle in one_line(err)
    assert _nothing_written(before)


def test_run_methods_check_their_arguments_before_loading(points, monkeypatch):
    import ganzoo.api

    run = ganzoo.open_run(str(points))  # a str path is a Path on the Run
    assert run.path == points and run.metrics()
    monkeypatch.setattr(ganzoo.api, "load", lambda *a, **k: pytest.fail("loaded the generator"))
    for call in (lambda: run.sample(-1), lambda: run.sample(2.0), lambda: run.images(True),
                 lambda: run.sample(2, seed=0.5), lambda: run.evaluate(num=0)):
        with pytest.raises(UsageError):
            call()


# -- item 6: resuming a run whose config.toml was edited --------------------------------------------------

def _edit_config(old: str, new: str) -> None:
    path = Path("run/config.toml")
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_api_resume_says_which_edits_of_config_toml_it_does_not_use(toy, capsys):
    fit(tiny(steps=2, lr=2e-4))
    capsys.readouterr()
    _edit_config("lr = 0.0002", "lr = 0.1")
    _edit_config("batch_size = 32", "batch_size = 8")
    run = ganzoo.train(resume=True, out="run", steps=3, progress="quiet")  # the checkpoint's config, as the CLI
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"{Path('run/config.toml')} differs from the checkpoint in train.batch_size, train.lr; "
                             "resuming with the checkpoint's: train.batch_size = 32, train.lr = 0.0002")
    assert run.result is not None and run.result.step == 3 and run.result.config.train["lr"] == 2e-4
    # config.toml now records what ran: the next resume has nothing to say
    ganzoo.train(resume=True, out="run", steps=4, progress="quiet")
    assert capsys.readouterr().err == ""


def test_cli_resume_names_the_edited_keys_once_and_a_flag_that_sets_one_is_not_named(toy, capsys):
    from ganzoo.cli import main

    fit(tiny(steps=2, lr=2e-4))
    capsys.readouterr()
    _edit_config("lr = 0.0002", "lr = 0.1")
    _edit_config('name = "toy-mlp"', 'name = "toy-cmlp"')
    with pytest.raises(SystemExit) as code:
        main(["run", "--resume", "run", "--steps", "3", "--quiet"])
    assert code.value.code == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "differs from the checkpoint in disc.name, gen.name, train.lr;" in err[0], err
    _edit_config("lr = 0.0002", "lr = 0.1")
    with pytest.raises(SystemExit) as code:
        main(["run", "--resume", "run", "--steps", "4", "--lr", "0.1", "--quiet"])  # the edit, made as a flag
    assert code.value.code == 0 and capsys.readouterr().err == ""


# -- item 7: eval --json is JSON, whatever the numbers ------------------------------------------------------

def _nan_modes(samples, dataset):
    """A dataset plugin's mode metric whose numbers are not finite (as a diverged generator's samples make them)."""
    return {"modes_covered": 0, "num_modes": 2, "high_quality_share": math.nan,
            "per_mode": {"share": [math.nan, math.inf], "spread": -math.inf}}


class NanPlugin:
    @ganzoo.hookimpl
    def ganzoo_register_components(self, register):
        from ganzoo.specs import DatasetEvaluation

        toy = __import__("ganzoo_toy")
        register.dataset("nan-blobs", toy.ToyBlobs, evaluation=DatasetEvaluation(modes=f"{__name__}:_nan_modes"))


def test_eval_json_is_valid_json_when_numbers_are_not_finite(toy, add_plugin, capsys):
    from ganzoo.cli import main

    add_plugin(NanPlugin(), "nan")
    cfg = tiny(steps=2)
    cfg["dataset"] = {"name": "nan-blobs"}
    fit(cfg)
    capsys.readouterr()
    with pytest.raises(SystemExit) as code:
        main(["eval", "run", "--json", "--num", "40"])
    assert code.value.code == 0
    out = capsys.readouterr().out

    def strict(token: str) -> None:
        raise AssertionError(f"{token} is not JSON")

    result = json.loads(out, parse_constant=strict)
    # the modes metric reports the keys it declares (per_mode is not one of them: metrics return what they declare)
    assert result["high_quality_share"] is None and "per_mode" not in result
    assert any("high_quality_share" in n and "null" in n for n in result["notes"]), result["notes"]


def test_nested_numbers_that_are_not_finite_are_null_with_a_note():
    from ganzoo.api import _json_safe

    result = _json_safe({"fd": 1.0, "per_mode": {"share": [math.nan, math.inf], "spread": -math.inf}, "notes": []})
    assert result["per_mode"] == {"share": [None, None], "spread": None}
    assert any("per_mode.share, per_mode.spread" in n and "null" in n for n in result["notes"]), result["notes"]


# -- item 5: a user recipe that takes a built-in's name -------------------------------------------------

USER_DCGAN = """
[recipes.dcgan-mnist]
doc = "mine: a vanilla GAN on gaussians"
gen = { name = "vanilla" }
loss = { name = "bce" }
dataset = { name = "gaussians" }
"""


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    from ganzoo.cli import main

    with pytest.raises(SystemExit) as code:
        main(list(args))
    out = capsys.readouterr()
    return int(code.value.code or 0), out.out, out.err


def test_a_user_recipe_named_like_a_pretrained_one_is_not_offered_its_weights(capsys):
    # the built-in first: dcgan-mnist ships its generator
    code, out, _ = _cli(capsys, "list", "--pretrained", "--json")
    assert code == 0 and "dcgan-mnist" in {r["name"] for r in json.loads(out)}
    Path("registry.toml").write_text(USER_DCGAN)
    import ganzoo.plugin_manager as gp

    gp.reset()
    code, out, _ = _cli(capsys, "list", "--pretrained", "--json")
    assert code == 0 and "dcgan-mnist" not in {r["name"] for r in json.loads(out)}
    code, out, _ = _cli(capsys, "info", "dcgan-mnist")
    assert code == 0 and "ganzoo sample dcgan-mnist" not in out
    [line] = [ln for ln in out.splitlines() if ln.startswith("pretrained:")]
    assert "not offered under this name" in line and "registry.toml" in line
    assert json.loads(_cli(capsys, "info", "dcgan-mnist", "--json")[1])["pretrained"] is None
    code, out, err = _cli(capsys, "sample", "dcgan-mnist", "--out", "x.png")
    assert code == UsageError.exit_code and len(err.strip().splitlines()) == 1 and not Path("x.png").exists()
    # the line says why the shipped weights are not used, and where the recipe that replaced them is
    assert "replaces plugin 'recipes'" in err and "registry.toml" in err and "rename your recipe" in err
    with pytest.raises(UsageError, match=r"your recipe .* replaces"):
        ganzoo.load("dcgan-mnist")
    assert "dcgan-mnist" not in [s.name for s in ganzoo.get_registry().all_pretrained()]
    assert ganzoo.get_registry().pretrained("cdcgan-mnist") is not None  # the others are still offered


# -- beyond the items: the same class of bug on the command line ---------------------------------------------

@pytest.mark.parametrize("command", [["sample", "run", "--out", "x.png"], ["eval", "run", "--num", "20"]])
def test_a_seed_torch_cannot_take_is_one_line_not_a_traceback(points, capsys, command):
    code, _, err = _cli(capsys, *command, "--seed", str(2**64))
    assert code == UsageError.exit_code and err.strip().splitlines() == [
        f"error: seed must be an integer (|seed| < 2**62), not {2**64} (int)"]
    assert not Path("x.png").exists()


def test_resume_of_a_run_whose_data_root_is_not_utf8_has_nothing_to_say(toy, capsys):
    import os

    root = os.fsdecode(b"data-\xff")  # config.toml records it as data-\xff, the checkpoint exactly
    cfg = tiny(steps=2)
    cfg["dataset"] = {"name": "toy-blobs", "root": root}
    fit(cfg)
    assert "data-\\\\xff" in Path("run/config.toml").read_text()
    capsys.readouterr()
    ganzoo.train(resume=True, out="run", steps=3, progress="quiet")
    assert capsys.readouterr().err == ""
