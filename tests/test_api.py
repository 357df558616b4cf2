"""The public Python API: ganzoo.create(kind, name, *, data=None, **params) and ganzoo.list_components (docs/api.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import ganzoo
from ganzoo.base.errors import ParamError, UnknownNameError, UsageError
from ganzoo.components.losses import CompositeLoss
from ganzoo.base.specs import DataInfo

POINTS = DataInfo((2,), size=100, modality="points")


def test_create_a_dataset():
    ds = ganzoo.create("dataset", "gaussians", n=64, seed=1)
    assert ds.info.shape == (2,) and ds.info.size == 64
    x, _ = ds.tensors()
    assert x.shape == (64, 2)


def test_create_a_generator_from_a_datainfo_or_a_dataset():
    g = ganzoo.create("generator", "vanilla", data=POINTS, latent_dim=3, hidden=(8, 8))
    assert isinstance(g, torch.nn.Module)
    assert g(torch.randn(5, 3)).shape == (5, 2)
    hidden = [m.out_features for m in g.modules() if isinstance(m, torch.nn.Linear)]
    assert hidden == [8, 8, 2]  # the params reached the factory
    ds = ganzoo.create("dataset", "gaussians", n=32)
    g = ganzoo.create("generator", "vanilla", data=ds, hidden=(4,))
    assert g(torch.randn(3, 100)).shape == (3, 2)  # latent_dim defaults to 100, as train.latent_dim does


def test_create_a_discriminator():
    d = ganzoo.create("discriminator", "vanilla", data=POINTS, hidden=(4,))
    assert d(torch.zeros(6, 2)).shape == (6,)


def test_create_a_loss_with_a_terms_parameters():
    """ganzoo.create("loss", "wgan-gp", gp_weight=5) raised before: the params went to the spec, not the term."""
    loss = ganzoo.create("loss", "wgan-gp", gp_weight=5)
    assert isinstance(loss, CompositeLoss)
    [(term, impl)] = loss.terms
    assert term.name == "wgan-gp" and impl.gp_weight == 5.0 and loss.n_critic == 5
    loss = ganzoo.create("loss", "wgan-gp+0.5*l1", **{"wgan-gp": {"n_critic": 2}})
    assert [(t.name, t.weight) for t, _ in loss.terms] == [("wgan-gp", 1.0), ("l1", 0.5)] and loss.n_critic == 2
    assert [t.name for t, _ in ganzoo.create("loss", "hinge + 10*r1").terms] == ["hinge", "r1"]


@pytest.mark.parametrize("call, error, needle", [
    (lambda: ganzoo.create("generator", "vanilla"), UsageError, "pass data="),
    (lambda: ganzoo.create("discriminator", "vanilla", data="gaussians"), UsageError, "pass data="),
    (lambda: ganzoo.create("dataset", "gaussians", data=POINTS), UsageError, "takes no data"),
    (lambda: ganzoo.create("loss", "wgan-gp", gp_wieght=5), ParamError, "did you mean gp_weight"),
    (lambda: ganzoo.create("loss", "bce+l1", l2={}), UsageError, "do not match a term"),
    (lambda: ganzoo.create("loss", "bce+1_0*l1"), UsageError, "malformed weight"),
    (lambda: ganzoo.create("generator", "bce", data=POINTS), UnknownNameError, "'bce' is a loss"),
    (lambda: ganzoo.create("gen", "vanilla", data=POINTS), UsageError, "unknown kind 'gen'"),
    (lambda: ganzoo.create("recipe", "dcgan-mnist"), UsageError, "ganzoo run RECIPE"),
    (lambda: ganzoo.create("generator", "vanilla", data=POINTS, hidden="x"), ParamError, "hidden must be"),
])
def test_create_mistakes_are_one_line_errors(call, error, needle):
    with pytest.raises(error) as info:
        call()
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_list_components():
    every = ganzoo.list_components()
    assert every == sorted(set(every))  # a name that is both a generator and a discriminator once
    assert {"dcgan", "vanilla", "bce", "wgan-gp", "gaussians"} <= set(every)
    assert "dcgan-mnist" not in every  # recipes only when asked for
    assert ganzoo.list_components("loss", "wgan*") == ["wgan-gp"]
    assert set(ganzoo.list_components("generator")) >= {"dcgan", "vanilla", "cgan"}
    assert "bce" not in ganzoo.list_components("generator")
    assert "dcgan-mnist" in ganzoo.list_components("recipe", "*-mnist")
    assert ganzoo.list_components("dataset", "nothing-*") == []
    with pytest.raises(UsageError, match="unknown kind"):
        ganzoo.list_components("models")
    for kind in ("generator", "discriminator", "loss", "dataset"):  # every name lists is one create takes
        assert ganzoo.list_components(kind)


def test_list_components_is_torch_free():
    code = ("import sys, json, ganzoo; names = ganzoo.list_components('loss'); "
            "print(json.dumps([names, 'torch' in sys.modules]))")
    names, torch_loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                    check=True).stdout)
    assert "bce" in names and not torch_loaded


# -- train, load, sample, evaluate ----------------------------------------------------------------------

def test_train_a_recipe_with_overrides_then_load_sample_and_evaluate(tmp_path):
    run = ganzoo.train("vanilla-gaussians", steps=30, batch_size=64, log_every=10, out=tmp_path / "g",
                       gen={"name": "vanilla", "hidden": [16, 16]}, disc={"name": "vanilla", "hidden": [16]},
                       progress="quiet")
    assert run.path == tmp_path / "g" and run.result is not None and run.result.step == 30
    assert [r["step"] for r in run.metrics() if "d_loss" in r] == [10, 20, 30]
    G = ganzoo.load(run.path)
    assert G.config.gen["hidden"] == [16, 16] and G.config.train["batch_size"] == 64  # the overrides reached the run
    x = G.sample(7, seed=3)
    assert x.shape == (7, 2) and torch.equal(x, run.sample(7, seed=3)) and not torch.equal(x, G.sample(7, seed=4))
    scores = ganzoo.evaluate(run, num=200)
    assert scores["num"] == 200 and 0 <= scores["modes_covered"] <= 8
    # what `ganzoo eval --json` prints is this same function's result
    from conftest import run_cli

    proc = run_cli("eval", str(run.path), "--num", "200", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["modes_covered"] == scores["modes_covered"]


def test_a_config_dict_trains_and_a_conditional_run_samples_the_labels_asked(toy, tmp_path):
    from conftest import tiny_images

    cfg = tiny_images(steps=2)
    cfg["gen"] = {"name": "toy-cmlp"}
    run = ganzoo.train(cfg, out=tmp_path / "c", progress="quiet", latent_dim=4)
    G = ganzoo.open_run(run.path).generator()
    assert G.conditional
    images = run.images(3, labels=[1, 2, 3])
    assert len(images) == 3 and images[0].size == (8, 8) and images[0].mode == "L"
    # the labels asked for reach the model: one label for all, one per sample, the classes in turn by default
    assert torch.equal(G.sample(4, labels=3), G.sample(4, labels=[3, 3, 3, 3]))
    assert not torch.equal(G.sample(4, labels=1), G.sample(4, labels=3))
    assert torch.equal(G.sample(4), G.sample(4, labels=[0, 1, 2, 3]))
    with pytest.raises(UsageError, match="2 labels for 3 samples"):
        G.sample(3, labels=[1, 2])
    with pytest.raises(UsageError, match="--label 10 is out of range"):
        G.sample(3, labels=10)
    # the check `ganzoo sample --label` makes before drawing anything, the same one sample() makes
    assert torch.equal(G.labels(4, None), torch.tensor([0, 1, 2, 3]))
    assert torch.equal(G.labels(2, 7), torch.tensor([7, 7]))
    with pytest.raises(UsageError, match="--label -1 is out of range"):
        G.labels(1, -1)


def test_api_mistakes_are_one_line(tmp_path):
    with pytest.raises(UsageError, match="is not a run folder"):
        ganzoo.open_run(tmp_path)
    with pytest.raises(ParamError):
        ganzoo.train("vanilla-gaussians", steps=1, out=tmp_path / "x", gen={"name": "vanilla", "hiden": [4]},
                     progress="quiet")
    assert not (tmp_path / "x").exists()  # checked before anything is written


def test_the_package_root_loads_the_api_lazily():
    code = ("import sys, ganzoo; assert 'ganzoo.api' not in sys.modules and 'torch' not in sys.modules; "
            "ganzoo.train; assert 'ganzoo.api' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_progress_is_a_live_bar_in_jupyter_and_plain_lines_in_a_pipe(tmp_path):
    import io

    from rich.console import Console

    from ganzoo.training.progress import Reporter

    assert Reporter("auto", Console(force_jupyter=True)).mode == "bar"
    assert Reporter("auto", Console(file=io.StringIO(), force_terminal=False, force_jupyter=False)).mode == "plain"
    assert Reporter("auto", Console(file=io.StringIO(), force_terminal=True, force_jupyter=False)).mode == "bar"


def test_ganzoo_run_trains_through_the_api(monkeypatch, tmp_path, capsys):
    """`ganzoo run` is `ganzoo.train` on the config its flags resolve to, not a parallel path."""
    import ganzoo.api
    from ganzoo.cli import main

    calls = []
    real = ganzoo.api.train
    monkeypatch.setattr(ganzoo.api, "train", lambda *a, **k: calls.append(a) or real(*a, **k))
    with pytest.raises(SystemExit) as exc:
        main(["run", "vanilla-gaussians", "--steps", "2", "--out", str(tmp_path / "r"), "--quiet"])
    assert exc.value.code == 0, capsys.readouterr().err
    assert len(calls) == 1 and calls[0][0].config.train["steps"] == 2
