"""Statistics of feature sets: Fréchet distance, KID, precision/recall, class coverage, memorization.

Every function takes plain tensors (N, D) of features (or class probabilities)
and returns Python numbers, so the same code scores classifier features,
Inception features and raw 2-D points. The registered metrics (the ``metric``
kind, ganzoo's own in its ``metrics`` plugin) are built on them, and a
plugin's own metric may be too. Linear algebra runs in float64: the
Fréchet distance subtracts large traces from each other and float32 loses the
small differences that matter near the real-vs-real floor.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _f64(x: Tensor) -> Tensor:
    return x.detach().reshape(len(x), -1).to("cpu", torch.float64)


def mean_cov(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of ``features`` (N, D), in float64."""
    x = _f64(features)
    if len(x) < 2:
        raise ValueError("the Fréchet distance needs at least 2 samples per set")
    mu = x.mean(dim=0)
    xc = x - mu
    return mu, xc.T @ xc / (len(x) - 1)


def _psd_sqrt(a: Tensor) -> Tensor:
    w, v = torch.linalg.eigh(a)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def trace_sqrt_product(cov1: Tensor, cov2: Tensor) -> float:
    """tr sqrt(cov1 @ cov2) for symmetric PSD matrices, without scipy.

    cov1 @ cov2 is not symmetric, but S cov2 S with S = sqrt(cov1) is, and has
    the same eigenvalues; so two symmetric eigen-decompositions suffice, and
    tiny negative eigenvalues from rounding are clamped to zero.
    """
    s = _psd_sqrt(cov1)
    m = s @ cov2 @ s
    eig = torch.linalg.eigvalsh((m + m.T) / 2)
    return float(eig.clamp(min=0).sqrt().sum())


def frechet_from_stats(mu1: Tensor, cov1: Tensor, mu2: Tensor, cov2: Tensor) -> float:
    """||mu1 - mu2||^2 + tr(cov1 + cov2 - 2 sqrt(cov1 cov2)): the distance between two Gaussians."""
    diff = float(((mu1 - mu2) ** 2).sum())
    value = diff + float(torch.trace(cov1) + torch.trace(cov2)) - 2 * trace_sqrt_product(cov1, cov2)
    return max(value, 0.0)  # rounding can leave -1e-12 for identical sets


def frechet_distance(features1: Tensor, features2: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N1, D) and (N2, D)."""
    return frechet_from_stats(*mean_cov(features1), *mean_cov(features2))


def kernel_inception_distance(features1: Tensor, features2: Tensor, subsets: int = 20, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): unbiased MMD^2 with the kernel (x.y / D + 1)^3, averaged over subsets.

    Returns (mean, std) over ``subsets`` random subsets of ``min(subset_size,
    N1, N2)`` samples from each set. Unbiased, so it can dip slightly below 0
    when the two distributions match.
    """
    x, y = _f64(features1), _f64(features2)
    d = x.shape[1]
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError("KID needs at least 2 samples per set")
    gen = torch.Generator().manual_seed(seed)

    def k(a: Tensor, b: Tensor) -> Tensor:  # in place: three 1000x1000 float64 matrices per subset add up
        return (a @ b.T).div_(d).add_(1.0).pow_(3)

    values = []
    for _ in range(subsets):
        a = x[torch.randperm(len(x), generator=gen)[:m]]
        b = y[torch.randperm(len(y), generator=gen)[:m]]
        kxx, kyy = k(a, a), k(b, b)
        # Off-diagonal means for the within-set terms: that is what makes the estimate unbiased.
        within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
        values.append(float(within - 2 * k(a, b).mean()))
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def _sqdist(a: Tensor, b: Tensor) -> Tensor:
    """Squared Euclidean distances by one matmul: several times faster than cdist, and no sqrt is needed
    because only comparisons between distances are ever made."""
    return (a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2 * a @ b.T).clamp_min_(0)


def _kth_radius(x: Tensor, k: int, chunk: int) -> Tensor:
    """Squared distance from each row of ``x`` to its k-th nearest other row (the point itself excluded)."""
    out = torch.empty(len(x), dtype=x.dtype)
    for i in range(0, len(x), chunk):
        # k + 1 smallest: the first is the point itself, at distance 0
        out[i:i + chunk] = _sqdist(x[i:i + chunk], x).topk(k + 1, dim=1, largest=False).values[:, -1]
    return out


def _inside(query: Tensor, ref: Tensor, radius: Tensor, chunk: int) -> Tensor:
    """For each query row: does it fall inside some ball (ref_j, radius_j)? (squared radii)"""
    hit = torch.empty(len(query), dtype=torch.bool)
    for i in range(0, len(query), chunk):
        hit[i:i + chunk] = (_sqdist(query[i:i + chunk], ref) <= radius.unsqueeze(0)).any(dim=1)
    return hit


def precision_recall(real: Tensor, fake: Tensor, k: int = 3, chunk: int = 1024) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds.

    Precision: share of ``fake`` inside the real manifold (the union of balls
    around each real point reaching its k-th nearest real neighbour), i.e.
    fidelity. Recall: share of ``real`` inside the fake manifold, i.e. how much
    of the real data the samples cover.
    """
    r = real.detach().reshape(len(real), -1).float().cpu()
    f = fake.detach().reshape(len(fake), -1).float().cpu()
    if len(r) <= k or len(f) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples per set")
    precision = _inside(f, r, _kth_radius(r, k, chunk), chunk).float().mean()
    recall = _inside(r, f, _kth_radius(f, k, chunk), chunk).float().mean()
    return float(precision), float(recall)


def class_metrics(probs: Tensor, labels: Tensor | None = None,
                  min_count: int | None = None) -> dict[str, int | float | list[int]]:
    """What a classifier makes of a sample set, from its class probabilities ``probs`` (N, K).

    ``classes_covered``: classes predicted for at least ``min_count`` samples
    (default a tenth of a class's fair share N / (10 K), and at least 1, the
    rule the gaussians plugin uses for modes). ``class_entropy``: entropy in
    nats of the predicted-class histogram (ln K when uniform, 0 for one class).
    ``mean_confidence``: mean top probability. ``conditional_accuracy`` (only
    with ``labels``): share of samples classified as the label they were drawn for.
    """
    probs = probs.detach().float().cpu()
    n, k = probs.shape
    pred = probs.argmax(dim=1)
    counts = torch.bincount(pred, minlength=k)
    threshold = min_count if min_count is not None else max(1, n // (10 * k))
    p = counts.double() / max(n, 1)
    nz = p[p > 0]
    out: dict[str, int | float | list[int]] = {
        "classes_covered": int((counts >= threshold).sum()),
        "num_classes": int(k),
        "class_entropy": float(-(nz * nz.log()).sum()) + 0.0,  # + 0.0 turns -0.0 into 0.0
        "mean_confidence": float(probs.max(dim=1).values.mean()),
        "class_counts": counts.tolist(),
    }
    if labels is not None:
        out["conditional_accuracy"] = label_accuracy(probs, labels)
    return out


def label_accuracy(probs: Tensor, labels: Tensor) -> float:
    """Share of rows of ``probs`` (N, K) whose most probable class is their label (N,)."""
    pred = probs.detach().float().cpu().argmax(dim=1)
    return float((pred == labels.cpu().long()).float().mean())


def nearest_sqdist(query: Tensor, ref: Tensor, chunk: int = 1024) -> Tensor:
    """Squared Euclidean distance from each row of ``query`` (N, D) to its nearest row of ``ref`` (M, D).

    In float64: nearest neighbours can be far closer than the points' norms (20,000 points on a
    ring of radius 2 lie ~1e-3 apart), and float32's |a|^2 + |b|^2 - 2 a.b would round them to 0.
    """
    q, r = _f64(query), _f64(ref)
    out = torch.empty(len(q), dtype=torch.float64)
    chunk = max(1, min(chunk, 20_000_000 // max(len(r), 1)))  # one (chunk, M) float64 block stays near 160 MB
    for i in range(0, len(q), chunk):
        out[i:i + chunk] = _sqdist(q[i:i + chunk], r).min(dim=1).values
    return out


def memorized_share(nearest: Tensor, calibration: Tensor, quantile: float = 0.05) -> float:
    """Share of ``nearest`` at or below the ``quantile`` of ``calibration``.

    Both hold distances to the same training set: ``nearest`` for samples,
    ``calibration`` for real images that set aside from training (held out).
    Held-out images score ``quantile`` (0.05) by construction; a generator that
    copies training images scores up to 1, since a copy is at distance 0.
    """
    if len(calibration) == 0 or len(nearest) == 0:
        raise ValueError("the memorization check needs samples and held-out images")
    threshold = torch.quantile(calibration.double(), quantile)
    return float((nearest.double() <= threshold).double().mean())

