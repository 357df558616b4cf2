"""Offline evaluation end to end: the shipped classifier, `ganzoo eval` on samples files and runs, Inception FID."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from ganzoo.components.build import build_dataset
from ganzoo.cli import main
from ganzoo.evaluation import evaluate, evaluate_generator, evaluate_samples, load_samples
from ganzoo.evaluation.classifier import get_classifier, shipped_path
from ganzoo.evaluation.inception import SKIP_NOTE, find_weights
from ganzoo.plugin.manager import get_registry
from ganzoo.evaluation.reference import Reference, reference
from ganzoo.evaluation.runs import class_labels, sample_generator


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No Inception weights anywhere, and a private classifier cache: nothing from the machine leaks in."""
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(tmp_path / "missing-inception.pth"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def mnist():
    return build_dataset("mnist-10k")  # the train part, as a run sees it


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
    ref = reference("mnist-10k")
    path = shipped_path(ref)
    assert path is not None and path.stat().st_size < 1_000_000
    clf = get_classifier(ref, train=False)
    assert clf.source == "shipped" and clf.accuracy > 0.97
    assert clf.meta["dataset"] == "mnist-10k" and clf.meta["seed"] == 0 and clf.meta["epochs"] > 0
    x, y = ref.heldout_x, ref.heldout_y  # never trained on: the recorded accuracy is reproduced here
    feats, probs = clf.embed(x)
    assert feats.shape == (2000, 64) and probs.shape == (2000, 10)
    assert float((probs.argmax(1) == y).float().mean()) == pytest.approx(clf.accuracy, abs=1e-4)
    again, _ = clf.embed(x[:1000])  # same batches: bit-identical
    assert torch.equal(again, feats[:1000])
    rebatched, _ = clf.embed(x[:700], batch=64)  # other batch sizes may pick other kernels: float-identical
    assert torch.allclose(rebatched, feats[:700], atol=1e-5)


# -- samples files through the CLI ------------------------------------------------------------

def test_eval_real_digits_near_floor_json(mnist, tmp_path, capsys):
    """Real training digits, scored against the held-out split they are not part of: about the floor, and flagged."""
    x, y = real_subset(mnist, 2000)
    save_file({"images": x, "labels": y}, str(tmp_path / "real.safetensors"), metadata={"dataset": "mnist-10k"})
    code, out, _ = run_main(capsys, "eval", str(tmp_path / "real.safetensors"), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["dataset"] == "mnist-10k" and result["num"] == result["num_compared"] == 2000
    assert result["reference"]["split"] == "heldout" and result["reference"]["images"] == 2000
    # had the reference been drawn from these very images, FD would be ~0 and precision/recall ~1
    assert 0.5 * result["fd_floor"] < result["fd"] < 2 * result["fd_floor"]
    assert result["classes_covered"] == 10 and result["conditional_accuracy"] > 0.97
    assert 0.8 < result["precision"] < 0.95 and 0.8 < result["recall"] < 0.95
    assert result["memorized"] > 0.99 > 0.1 > result["memorized_floor"]
    assert "fid" not in result
    skipped = [n for n in result["notes"] if n.startswith("standard FID skipped")]
    assert len(skipped) == 1 and "missing-inception.pth" in skipped[0]


def test_eval_noise_table(tmp_path, capsys):
    noise = torch.randint(0, 256, (1000, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    save_file({"images": noise}, str(tmp_path / "noise.safetensors"))
    code, out, _ = run_main(capsys, "eval", str(tmp_path / "noise.safetensors"), "--num", "600",
                            "--dataset", "mnist-10k")
    assert code == 0
    assert "FD-classifier" in out and "real vs real" in out and "held-out split of mnist-10k (2,000 images)" in out
    assert "memorized (pixels)" in out and "8,000 images" in out
    assert out.count("standard FID skipped") == 1
    result = evaluate(tmp_path / "noise.safetensors", num=600, dataset="mnist-10k")
    assert result["num"] == 600 and result["fd"] > 50 * result["fd_floor"]
    assert result["recall"] < 0.05 and result["classes_covered"] <= 2 and result["memorized"] == 0.0


def test_eval_json_prints_null_not_nan(tmp_path, capsys):
    x = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    x[:5] = float("nan")
    save_file({"points": x}, str(tmp_path / "p.safetensors"))
    code, out, _ = run_main(capsys, "eval", str(tmp_path / "p.safetensors"), "--dataset", "gaussians", "--json")
    assert code == 0

    def not_json(constant):
        raise AssertionError(f"{constant} is not JSON")

    result = json.loads(out, parse_constant=not_json)
    assert result["fd"] is None and any(n.startswith("fd, kid: not a finite number") for n in result["notes"])


def test_no_weights_anywhere_gives_the_documented_note(monkeypatch):
    monkeypatch.delenv("GANZOO_INCEPTION_WEIGHTS")
    assert find_weights() == (None, SKIP_NOTE)


@pytest.mark.parametrize("tensors,args,message", [
    (None, [], "does not exist"),
    ({"images": torch.zeros(20, 3, 32, 32, dtype=torch.uint8)}, [], "--dataset"),
    ({"images": torch.zeros(20, 1, 28, 28, dtype=torch.uint8)}, [], "--dataset"),  # no guessing from the shape
    ({"images": torch.zeros(20, 1, 28, 28, dtype=torch.uint8)}, ["--num", str(10**12)], "at most 100,000"),
    ({"images": torch.zeros(20, 1, 28, 28, dtype=torch.uint8)}, ["--dataset", "gaussians"], "do not match"),
    ({"images": torch.zeros(20, 1, 28, 28)}, [], "must be uint8"),
    ({"weights": torch.zeros(3)}, [], "holds no samples"),
])
def test_user_errors_are_one_line(tmp_path, capsys, tensors, args, message):
    path = tmp_path / "s.safetensors"
    if tensors is not None:
        save_file(tensors, str(path))
    code, out, err = run_main(capsys, "eval", str(path), *args)
    assert code in (2, 3) and out == ""  # usage error, or data error (see ganzoo.base.errors)
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_gaussians_points(tmp_path):
    true, _ = build_dataset("gaussians", {"n": 3000, "seed": 3}).tensors()
    save_file({"points": true}, str(tmp_path / "p.safetensors"))
    result = evaluate(tmp_path / "p.safetensors", dataset="gaussians")
    assert result["feature_space"] == "points"
    assert result["modes_covered"] == result["num_modes"] == 8 and result["high_quality_share"] > 0.95
    assert result["fd"] < 3 * result["fd_floor"] + 1e-3
    assert result["reference"]["images"] == 5000 and result["memorized"] < 0.12  # fresh points (another seed)
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
    from ganzoo.components.build import build_generator

    torch.manual_seed(0)
    g = build_generator(name, mnist.info, latent_dim=16)
    g.train()
    state = torch.get_rng_state()
    conditional = get_registry().get("generator", name).conditional
    first = evaluate_generator(g, mnist, num=300, seed=1, conditional=conditional)
    assert g.training and torch.equal(torch.get_rng_state(), state)
    assert first["dataset"] == "mnist-10k" and first["num"] == 300
    assert ("conditional_accuracy" in first) == (name == "cgan")
    assert evaluate_generator(g, mnist, num=300, seed=1, conditional=conditional)["fd"] == first["fd"]


# -- classifiers for other labelled datasets ----------------------------------------------------

def tiny_reference(mnist, heldout: bool) -> Reference:
    """A small labelled image set standing in for a dataset without shipped weights."""
    x, y = real_subset(mnist, 600, seed=9)
    held = real_subset(build_dataset("mnist-10k", {"split": "heldout"}), 200, seed=9) if heldout else (None, None)
    return Reference("tiny", {}, mnist, x, y, *held)


def test_classifier_is_trained_on_first_use_then_cached(mnist, tmp_path):
    heard = []
    clf = get_classifier(tiny_reference(mnist, heldout=False), log=heard.append)
    assert clf.source == "trained" and heard and "tiny" in heard[0]
    assert clf.path.parent == tmp_path / "cache" / "classifiers" and clf.path.name.startswith("tiny-")
    assert clf.meta["heldout"] == 60 and clf.meta["trained_on"] == 540 and clf.accuracy > 0.7
    again = get_classifier(tiny_reference(mnist, heldout=False))
    assert again.source == "cache" and again.digest == clf.digest


def test_classifier_trains_on_the_train_part_and_is_scored_on_the_heldout_part(mnist):
    ref = tiny_reference(mnist, heldout=True)
    clf = get_classifier(ref)
    assert clf.meta["trained_on"] == 600 and clf.meta["heldout"] == 200
    assert clf.meta["split"]["heldout_images"] == 200 and clf.meta["split"]["images"] == 600
    _, probs = clf.embed(ref.heldout_x)
    assert float((probs.argmax(1) == ref.heldout_y).float().mean()) == pytest.approx(clf.accuracy, abs=1e-4)


# -- conditional runs: the data's class prior --------------------------------------------------

def test_class_labels_follow_the_prior():
    prior = torch.tensor([0.5, 0.3, 0.2])
    labels = class_labels(10, prior, seed=0)
    assert torch.bincount(labels).tolist() == [5, 3, 2]
    assert torch.bincount(class_labels(7, prior, seed=1)).tolist() == [4, 2, 1]  # 3.5, 2.1, 1.4: one remainder
    assert not torch.equal(class_labels(10, prior, seed=0), class_labels(10, prior, seed=1))  # shuffled


def test_conditional_generators_are_asked_for_the_data_prior(mnist):
    class Recorder(torch.nn.Module):
        conditional, latent_dim = True, 4

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.seen = []

        def forward(self, z, labels):
            self.seen.append(labels)
            return torch.zeros(len(z), 1, 28, 28) + self.w

    g = Recorder()
    prior = reference("mnist-10k").class_prior()
    _, labels = sample_generator(g, 2000, 10, True, prior=prior)
    assert torch.equal(torch.cat(g.seen), labels)
    expected = prior * 2000  # 980/10000 of 2000 zeros, 1135/10000 ones, ...
    assert (torch.bincount(labels, minlength=10).double() - expected).abs().max() <= 1
    result = evaluate_generator(g, mnist, num=300, seed=1, conditional=True)
    assert (torch.bincount(torch.cat(g.seen[-2:])[-300:], minlength=10).double() - prior * 300).abs().max() <= 1
    assert "conditional_accuracy" in result and any(n.startswith("conditional: classes") for n in result["notes"])


def test_a_conditional_run_is_scored_with_the_data_prior(tmp_path, cli):
    run = tmp_path / "run"
    res = cli("run", "cgan-mnist", "--steps", "2", "--out", str(run), "--device", "cpu", "--quiet")
    assert res.returncode == 0, res.stderr
    samples = load_samples(run, num=1000)
    prior = reference("mnist-10k").class_prior()
    assert (torch.bincount(samples.labels, minlength=10).double() - prior * 1000).abs().max() <= 1
    assert any(n.startswith("conditional: classes") for n in samples.notes)


# -- runs and Inception ------------------------------------------------------------------------

def test_eval_run_dir_and_its_samples_file(tmp_path, cli):
    run = tmp_path / "run"
    res = cli("run", "vanilla-mnist", "--steps", "5", "--out", str(run), "--device", "cpu")
    assert res.returncode == 0, res.stderr
    config = (run / "config.toml").read_text()
    assert '[meta.data]' in config and 'split = "train"' in config and "size = 8000" in config
    result = evaluate(run, num=300)
    assert result["dataset"] == "mnist-10k" and result["num"] == 300 and result["fd"] > result["fd_floor"]
    assert result["reference"]["split"] == "heldout" and result["reference"]["run_split"] == "train"
    assert any(n.startswith("step 5") for n in result["notes"])

    from ganzoo.cli.commands.sample_cmd import sample_to_file

    sample_to_file(run, out=tmp_path / "s.safetensors", num=200)
    result = evaluate(tmp_path / "s.safetensors")
    assert result["num"] == 200 and any("from the run of" in n for n in result["notes"])


@pytest.mark.slow
def test_standard_fid_when_weights_are_on_disk(tmp_path, monkeypatch, mnist):
    from torchvision.models import inception_v3

    monkeypatch.delenv("GANZOO_INCEPTION_WEIGHTS")
    hub = tmp_path / "torch-home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.manual_seed(0)
    model = inception_v3(weights=None, aux_logits=True, init_weights=True)  # random weights, same file layout
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
               hub / "inception_v3_google-0cc3c7bd.pth")
    x, y = real_subset(mnist, 24)
    real = evaluate_samples(x, y, "mnist-10k", dataset=mnist)
    assert real["inception_weights"] == "inception_v3_google-0cc3c7bd.pth"
    assert not any("FID skipped" in n for n in real["notes"])
    noise = torch.randint(0, 256, x.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fake = evaluate_samples(noise, None, "mnist-10k", dataset=mnist)
    # even random Inception features tell noise from digits; real digits sit near the floor
    assert fake["fid_floor"] == real["fid_floor"] > 0
    assert fake["fid"] > 2 * real["fid"] and real["fid"] < 2 * real["fid_floor"]


def test_listing_and_help_import_no_evaluation_code():
    code = ("import sys\nfrom ganzoo.cli import main\n"
            "for args in (['list'], ['eval', '--help']):\n"
            "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
            "bad = [m for m in sys.modules if m.startswith('ganzoo.evaluation') or m == 'torch']\n"
            "print('LOADED', bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "LOADED []" in out
