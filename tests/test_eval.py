"""Offline evaluation end to end: the shipped classifier, `ganzoo eval` on samples files and runs, Inception FID."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from ganzoo.build import build_dataset
from ganzoo.cli import main
from ganzoo.evaluation import evaluate, evaluate_generator, evaluate_samples
from ganzoo.evaluation.classifier import get_classifier, shipped_path
from ganzoo.evaluation.inception import SKIP_NOTE, find_weights


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No Inception weights anywhere, and a private classifier cache: nothing from the machine leaks in."""
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(tmp_path / "missing-inception.pth"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def mnist():
    return build_dataset("mnist-10k")


def real_subset(mnist, n: int, seed: int = 5):
    x, y = mnist.tensors()
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx].contiguous(), y[idx].contiguous()


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


# -- the shipped classifier -------------------------------------------------------------------

def test_shipped_classifier_loads_is_accurate_and_deterministic(mnist):
    path = shipped_path(mnist, "mnist-10k")
    assert path is not None and path.stat().st_size < 1_000_000
    clf = get_classifier(mnist, "mnist-10k", train=False)
    assert clf.source == "shipped" and clf.accuracy > 0.97
    assert clf.meta["dataset"] == "mnist-10k" and clf.meta["seed"] == 0 and clf.meta["epochs"] > 0
    x, y = mnist.tensors()
    feats, probs = clf.embed(x)
    assert feats.shape == (10_000, 64) and probs.shape == (10_000, 10)
    assert (probs.argmax(1) == y).float().mean() > 0.97
    again, _ = clf.embed(x[:1000])  # same batches: bit-identical
    assert torch.equal(again, feats[:1000])
    rebatched, _ = clf.embed(x[:700], batch=64)  # other batch sizes may pick other kernels: float-identical
    assert torch.allclose(rebatched, feats[:700], atol=1e-5)


# -- samples files through the CLI ------------------------------------------------------------

def test_eval_real_digits_near_floor_json(mnist, tmp_path, capsys):
    x, y = real_subset(mnist, 2000)
    save_file({"images": x, "labels": y}, str(tmp_path / "real.safetensors"))
    code, out, _ = run_main(capsys, "eval", str(tmp_path / "real.safetensors"), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["dataset"] == "mnist-10k" and result["num"] == result["num_compared"] == 2000
    assert result["fd"] < 2 * result["fd_floor"]
    assert result["classes_covered"] == 10 and result["conditional_accuracy"] > 0.97
    assert result["precision"] > 0.8 and result["recall"] > 0.8
    assert "fid" not in result
    skipped = [n for n in result["notes"] if n.startswith("standard FID skipped")]
    assert len(skipped) == 1 and "missing-inception.pth" in skipped[0]


def test_eval_noise_table(tmp_path, capsys):
    noise = torch.randint(0, 256, (1000, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    save_file({"images": noise}, str(tmp_path / "noise.safetensors"))
    code, out, _ = run_main(capsys, "eval", str(tmp_path / "noise.safetensors"), "--num", "600")
    assert code == 0
    assert "FD-classifier" in out and "real vs real" in out and "mnist-10k assumed" in out
    assert out.count("standard FID skipped") == 1
    result = evaluate(tmp_path / "noise.safetensors", num=600)
    assert result["num"] == 600 and result["fd"] > 50 * result["fd_floor"]
    assert result["recall"] < 0.05 and result["classes_covered"] <= 2


def test_no_weights_anywhere_gives_the_documented_note(monkeypatch):
    monkeypatch.delenv("GANZOO_INCEPTION_WEIGHTS")
    assert find_weights() == (None, SKIP_NOTE)


@pytest.mark.parametrize("tensors,args,message", [
    (None, [], "does not exist"),
    ({"images": torch.zeros(20, 3, 32, 32, dtype=torch.uint8)}, [], "--dataset"),
    ({"images": torch.zeros(20, 1, 28, 28, dtype=torch.uint8)}, ["--dataset", "gaussians"], "do not match"),
    ({"images": torch.zeros(20, 1, 28, 28)}, [], "must be uint8"),
    ({"weights": torch.zeros(3)}, [], "holds no samples"),
])
def test_user_errors_are_one_line(tmp_path, capsys, tensors, args, message):
    path = tmp_path / "s.safetensors"
    if tensors is not None:
        save_file(tensors, str(path))
    code, out, err = run_main(capsys, "eval", str(path), *args)
    assert code in (1, 2) and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_gaussians_points(tmp_path):
    true, _ = build_dataset("gaussians", {"n": 3000, "seed": 3}).tensors()
    save_file({"points": true}, str(tmp_path / "p.safetensors"))
    result = evaluate(tmp_path / "p.safetensors", dataset="gaussians")
    assert result["feature_space"] == "points"
    assert result["modes_covered"] == result["num_modes"] == 8 and result["high_quality_share"] > 0.95
    assert result["fd"] < 3 * result["fd_floor"] + 1e-3
    grid, _ = build_dataset("gaussians", {"layout": "grid", "n": 2500, "seed": 3}).tensors()
    table = json.dumps({"name": "gaussians", "layout": "grid"})  # a [dataset] table in the file's metadata
    save_file({"points": grid}, str(tmp_path / "g.safetensors"), metadata={"dataset": table})
    result = evaluate(tmp_path / "g.safetensors")
    assert result["dataset_params"] == {"layout": "grid"} and result["modes_covered"] == 25
    collapsed = true[:1].repeat(3000, 1)
    result = evaluate_samples(collapsed, None, "gaussians")
    assert result["modes_covered"] == 1 and result["recall"] < 0.2


# -- in-memory generators (the trainer's --eval-every path) -------------------------------------

@pytest.mark.parametrize("name", ["vanilla", "cgan"])
def test_evaluate_generator(mnist, name):
    from ganzoo.build import build_generator

    torch.manual_seed(0)
    g = build_generator(name, mnist.info, latent_dim=16)
    g.train()
    state = torch.get_rng_state()
    first = evaluate_generator(g, mnist, num=300, seed=1)
    assert g.training and torch.equal(torch.get_rng_state(), state)
    assert first["dataset"] == "mnist-10k" and first["num"] == 300
    assert ("conditional_accuracy" in first) == (name == "cgan")
    assert evaluate_generator(g, mnist, num=300, seed=1)["fd"] == first["fd"]


# -- classifiers for other labelled datasets ----------------------------------------------------

class Tiny:
    """A small labelled image set standing in for a dataset without shipped weights."""

    def __init__(self, mnist):
        x, y = real_subset(mnist, 600, seed=9)
        self.info = mnist.info
        self._t = (x, y)

    def tensors(self):
        return self._t


def test_classifier_is_trained_on_first_use_then_cached(mnist, tmp_path):
    heard = []
    clf = get_classifier(Tiny(mnist), "tiny", log=heard.append)
    assert clf.source == "trained" and heard and "tiny" in heard[0]
    assert clf.path.parent == tmp_path / "cache" / "classifiers" and clf.path.name.startswith("tiny-")
    assert clf.meta["heldout"] == 60 and clf.accuracy > 0.7
    again = get_classifier(Tiny(mnist), "tiny")
    assert again.source == "cache" and again.digest == clf.digest


# -- runs and Inception ------------------------------------------------------------------------

def test_eval_run_dir_and_its_samples_file(tmp_path, cli):
    run = tmp_path / "run"
    res = cli("run", "vanilla-mnist", "--steps", "5", "--out", str(run), "--device", "cpu")
    assert res.returncode == 0, res.stderr
    result = evaluate(run, num=300)
    assert result["dataset"] == "mnist-10k" and result["num"] == 300 and result["fd"] > result["fd_floor"]
    assert any(n.startswith("step 5") for n in result["notes"])

    from ganzoo.commands.sample_cmd import sample_to_file

    sample_to_file(run, out=tmp_path / "s.safetensors", num=200)
    result = evaluate(tmp_path / "s.safetensors")
    assert result["num"] == 200 and any("from the run of" in n for n in result["notes"])


@pytest.mark.slow
def test_standard_fid_when_weights_are_on_disk(tmp_path, monkeypatch, mnist):
    from torchvision.models import inception_v3

    monkeypatch.delenv("GANZOO_INCEPTION_WEIGHTS")
    hub = tmp_path / "torch-home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    model = inception_v3(weights=None, aux_logits=True, init_weights=False)  # random weights, same file layout
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
               hub / "inception_v3_google-0cc3c7bd.pth")
    x, y = real_subset(mnist, 10)
    result = evaluate_samples(x, y, "mnist-10k", dataset=mnist)
    assert result["inception_weights"] == "inception_v3_google-0cc3c7bd.pth"
    assert result["fid"] >= 0 and result["fid_floor"] >= 0
    assert not any("FID skipped" in n for n in result["notes"])


def test_listing_and_help_import_no_evaluation_code():
    code = ("import sys\nfrom ganzoo.cli import main\n"
            "for args in (['list'], ['eval', '--help']):\n"
            "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
            "bad = [m for m in sys.modules if m.startswith('ganzoo.evaluation') or m == 'torch']\n"
            "print('LOADED', bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "LOADED []" in out
