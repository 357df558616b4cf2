"""The memorization check: copies of training data are flagged; fresh samples score what held-out data scores."""

from __future__ import annotations

import pytest
import torch

from ganzoo.evaluation import evaluate, evaluate_samples
from ganzoo.evaluation.reference import reference


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(tmp_path / "missing-inception.pth"))
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))


def pick(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    return x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]].clone()


def test_copied_training_points_are_flagged_fresh_points_are_not():
    ref = reference("gaussians")
    copies = evaluate_samples(pick(ref.train_x, 1000, 1), None, "gaussians")
    # held-out points score about the quantile that defines the threshold (0.05), by construction
    assert 0.02 <= copies["memorized_floor"] <= 0.08
    assert copies["memorized"] == 1.0  # a copy is at distance 0 from its training point
    # fresh draws from the same mixture (another seed: in neither part) are as far from the train
    # part as held-out points are
    fresh = reference("gaussians", {"seed": 11, "n": 1000}).train_x
    result = evaluate_samples(fresh, None, "gaussians")
    assert abs(result["memorized"] - result["memorized_floor"]) < 0.04
    assert result["fd"] < 3 * result["fd_floor"] + 1e-3
    # half copies, half fresh: half flagged, plus the fresh half's own ~5%
    half = evaluate_samples(torch.cat([pick(ref.train_x, 500, 2), fresh[:500]]), None, "gaussians")
    assert 0.5 <= half["memorized"] <= 0.6


def test_copied_training_digits_are_flagged_and_no_longer_beat_the_floor():
    ref = reference("mnist-10k")
    result = evaluate_samples(pick(ref.train_x, 1000, 3), None, "mnist-10k", inception=False)
    assert result["reference"] == {"dataset": "mnist-10k", "split": "heldout", "images": 2000,
                                   "train_images": 8000, "run_split": "train"}
    assert result["memorized"] >= 0.99 and result["memorized_pixels"] >= 0.99
    assert 0.01 <= result["memorized_floor"] <= 0.1 and 0.01 <= result["memorized_pixels_floor"] <= 0.1
    # measured against images it never trained on, a memorizing generator is only as good as the floor
    assert result["fd"] > 0.5 * result["fd_floor"] and result["precision"] < 1.0
    # held-out digits are not in the train part: their nearest training digit is as far as usual
    held = evaluate_samples(pick(ref.heldout_x, 1000, 4), None, "mnist-10k", inception=False)
    assert held["memorized"] < 0.12 and held["memorized_pixels"] < 0.12


def test_a_small_trained_generator_is_not_flagged(tmp_path, cli):
    run = tmp_path / "run"
    res = cli("run", "vanilla-gaussians", "--steps", "300", "--out", str(run), "--device", "cpu", "--quiet")
    assert res.returncode == 0, res.stderr
    result = evaluate(run, num=2000)
    assert result["reference"]["split"] == "heldout" and result["reference"]["run_split"] == "train"
    assert result["memorized"] <= result["memorized_floor"] + 0.05
