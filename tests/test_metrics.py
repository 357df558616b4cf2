"""The metric code against cases with known answers (no classifier, no CLI: fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganzoo.evaluation import metrics as M


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- Fréchet distance -----------------------------------------------------------------

def test_identical_sets_give_zero_fd_and_kid():
    x = torch.randn(2000, 16, generator=gen(0))
    assert M.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    kid, _ = M.kernel_inception_distance(x, x, subsets=20, subset_size=500)
    shifted, _ = M.kernel_inception_distance(x, x + 0.5, subsets=20, subset_size=500)
    assert abs(kid) < 0.02 and shifted > 50 * max(abs(kid), 1e-3)


def closed_form_diagonal(mu1, var1, mu2, var2) -> float:
    """FD of two Gaussians with diagonal covariances: ||mu1-mu2||^2 + sum(s1 + s2 - 2 sqrt(s1 s2))."""
    return float(((mu1 - mu2) ** 2).sum() + (var1 + var2 - 2 * np.sqrt(var1 * var2)).sum())


def test_fd_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    d, n = 6, 200_000
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    var1, var2 = rng.uniform(0.2, 2.0, size=d), rng.uniform(0.2, 2.0, size=d)
    x = torch.from_numpy(mu1 + np.sqrt(var1) * rng.normal(size=(n, d)))
    y = torch.from_numpy(mu2 + np.sqrt(var2) * rng.normal(size=(n, d)))
    expected = closed_form_diagonal(mu1, var1, mu2, var2)
    assert M.frechet_distance(x, y) == pytest.approx(expected, rel=0.02)
    # the statistics-level function is exact on exact statistics
    exact = M.frechet_from_stats(torch.from_numpy(mu1), torch.diag(torch.from_numpy(var1)),
                                 torch.from_numpy(mu2), torch.diag(torch.from_numpy(var2)))
    assert exact == pytest.approx(expected, rel=1e-10)


def newton_schulz_sqrt(a: np.ndarray, iters: int = 100) -> np.ndarray:
    """sqrt of a matrix with positive real eigenvalues (here cov1 @ cov2), by coupled Newton-Schulz."""
    norm = np.linalg.norm(a)
    y, z, eye = a / norm, np.eye(len(a)), np.eye(len(a))
    for _ in range(iters):
        t = 0.5 * (3 * eye - z @ y)
        y, z = y @ t, t @ z
    return y * np.sqrt(norm)


def reference_fd(x: np.ndarray, y: np.ndarray, sqrt: str) -> float:
    mu1, mu2 = x.mean(0), y.mean(0)
    c1, c2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    if sqrt == "newton-schulz":
        tr = np.trace(newton_schulz_sqrt(c1 @ c2))
    else:  # eigh: sqrt(c1) c2 sqrt(c1) is symmetric with the eigenvalues of c1 c2
        w, v = np.linalg.eigh(c1)
        s = v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T
        tr = np.sqrt(np.clip(np.linalg.eigh(s @ c2 @ s)[0], 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * tr)


@pytest.mark.parametrize("sqrt", ["newton-schulz", "eigh"])
def test_fd_matches_numpy_reference_with_full_covariances(sqrt):
    rng = np.random.default_rng(1)
    d = 12
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d)) * 0.5
    x = rng.normal(size=(3000, d)) @ a + 1.0
    y = rng.normal(size=(2500, d)) @ b
    ours = M.frechet_distance(torch.from_numpy(x), torch.from_numpy(y))
    assert ours == pytest.approx(reference_fd(x, y, sqrt), rel=1e-6)


def test_fd_handles_rank_deficient_features():
    # dead ReLU units give zero-variance feature columns; the distance must stay finite and >= 0
    x = torch.randn(500, 8, generator=gen(2))
    x[:, :3] = 0
    y = torch.randn(400, 8, generator=gen(3)) + 1
    y[:, :3] = 0
    fd = M.frechet_distance(x, y)
    assert math.isfinite(fd) and fd > 4


# -- precision / recall -------------------------------------------------------------

def ring(n: int, modes: list[int], seed: int) -> torch.Tensor:
    g = gen(seed)
    k = torch.tensor(modes)[torch.randint(0, len(modes), (n,), generator=g)]
    angles = k.double() * (2 * math.pi / 8)
    centers = torch.stack([2 * angles.cos(), 2 * angles.sin()], 1)
    return (centers + 0.05 * torch.randn(n, 2, generator=g, dtype=torch.float64)).float()


def test_precision_recall_identical_sets():
    x = torch.randn(800, 10, generator=gen(4))
    assert M.precision_recall(x, x) == (1.0, 1.0)


def test_precision_recall_half_the_modes():
    real = ring(4000, list(range(8)), seed=5)
    fake = ring(4000, [0, 1, 2, 3], seed=6)
    precision, recall = M.precision_recall(real, fake)
    assert precision > 0.95
    assert 0.4 < recall < 0.6


# -- class and mode metrics -----------------------------------------------------------

def test_one_class_coverage_and_entropy():
    probs = torch.zeros(300, 10)
    probs[:, 3] = 0.9
    probs[:, 5] = 0.1
    out = M.class_metrics(probs)
    assert out["classes_covered"] == 1 and out["class_entropy"] == 0.0
    assert out["mean_confidence"] == pytest.approx(0.9)
    assert out["class_counts"][3] == 300


def test_uniform_coverage_entropy_and_conditional_accuracy():
    labels = torch.arange(1000) % 10
    probs = torch.nn.functional.one_hot(labels, 10).float()
    out = M.class_metrics(probs, labels)
    assert out["classes_covered"] == 10
    assert out["class_entropy"] == pytest.approx(math.log(10))
    assert out["conditional_accuracy"] == 1.0
    assert M.class_metrics(probs, (labels + 1) % 10)["conditional_accuracy"] == 0.0


@pytest.mark.parametrize("layout,modes", [("ring", 8), ("grid", 25)])
def test_mode_metrics_come_from_the_dataset_registration(layout, modes):
    from ganzoo.evaluation.reference import mode_metric, reference

    metric = mode_metric(reference("gaussians", {"layout": layout, "n": 2000}))
    fresh = reference("gaussians", {"layout": layout, "n": 5000, "seed": 1}).train_x
    out = metric(fresh)
    assert out["modes_covered"] == out["num_modes"] == modes
    assert out["high_quality_share"] > 0.95
    collapsed = metric(fresh[:1] + 0.001 * torch.randn(500, 2, generator=gen(7)))
    assert collapsed["modes_covered"] == 1


def test_mode_metrics_absent_for_datasets_that_declare_none():
    from ganzoo.evaluation.reference import mode_metric, reference

    assert mode_metric(reference("mnist-10k")) is None


# -- memorization ---------------------------------------------------------------------

def test_nearest_sqdist_against_brute_force():
    a, b = torch.randn(50, 7, generator=gen(0)), torch.randn(80, 7, generator=gen(1))
    brute = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1).min(dim=1).values
    assert torch.allclose(M.nearest_sqdist(a, b, chunk=16), brute.double(), atol=1e-5)
    assert M.nearest_sqdist(b[:10], b).max() < 1e-5  # members of the set are at distance 0


def test_memorized_share_is_the_quantile_rule():
    calibration = torch.arange(1, 101, dtype=torch.float32)  # the 5th percentile is 5.95 (linear interpolation)
    assert M.memorized_share(torch.tensor([0.0, 5.0, 5.95, 6.0]), calibration) == 0.75
    assert M.memorized_share(torch.zeros(10), calibration) == 1.0
    assert M.memorized_share(calibration, calibration) == pytest.approx(0.05)
