"""gaussians: 2-D mixtures of Gaussians, the standard test bed for mode collapse, and a coverage metric."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganzoo.errors import UsageError

from .imageops import InMemory
from .splits import SplitRule, check_split

LAYOUTS = {"ring": 0.02, "grid": 0.05}  # layout -> default std, as in Unrolled GAN / VEEGAN / PacGAN


def ring_centers(k: int = 8, radius: float = 2.0) -> Tensor:
    angles = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
    return torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1).float()


def grid_centers(side: int = 5, step: float = 2.0) -> Tensor:
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * step
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


class Gaussians(InMemory):
    """2-D Gaussian mixtures for mode-collapse studies: a ring of 8 modes or a 5x5 grid of 25.

    ``layout`` "ring": 8 modes evenly on a circle of radius 2, std 0.02;
    "grid": 25 modes at (-4..4 step 2)^2, std 0.05 (``std`` overrides; it
    must be positive). ``n`` training points, balanced across modes, drawn
    with ``seed``; ``split`` "heldout" is n/4 more points from the same
    mixture (fresh draws, never trained on), "all" both. Points are float32
    (N, 2); the label of a point is its mode. The mode centres and std are the
    attributes ``centers`` and ``std``; `ganzoo eval` reports modes covered and
    the high-quality share through ``mode_metrics`` in this module.
    """

    def __init__(self, layout: str = "ring", n: int = 20000, std: float | None = None, seed: int = 0,
                 split: str = "train"):
        if layout not in LAYOUTS:
            raise UsageError(f"gaussians: unknown layout {layout!r}", f"choose from {', '.join(LAYOUTS)}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise UsageError(f"gaussians: n must be a positive integer, not {n!r}")
        if std is not None and (isinstance(std, bool) or not isinstance(std, (int, float))
                                or not math.isfinite(std) or std <= 0):
            raise UsageError(f"gaussians: std must be a positive number, not {std!r}",
                             f"leave it out for the layout's own, {LAYOUTS[layout]}")
        check_split(split, "gaussians")
        self.layout = layout
        self.centers = ring_centers() if layout == "ring" else grid_centers()
        self.std = float(std if std is not None else LAYOUTS[layout])
        k = len(self.centers)
        total = n + n // 4
        gen = torch.Generator().manual_seed(seed)
        labels = (torch.arange(total) % k)[torch.randperm(total, generator=gen)]
        x = self.centers[labels] + self.std * torch.randn(total, 2, generator=gen)
        self._hold_part(x, labels, tuple(f"mode-{i}" for i in range(k)), split, SplitRule(n // 4, seed),
                        modality="points")


def mode_metrics(samples: Tensor, dataset: Gaussians) -> dict:
    """`ganzoo eval`'s mode numbers for ``samples`` of this dataset (declared at registration)."""
    out = mode_coverage(samples, dataset.centers, dataset.std)
    out.pop("counts", None)
    return out


def mode_coverage(samples: Tensor, centers: Tensor, std: float, min_count: int | None = None) -> dict:
    """How well ``samples`` (N, 2) cover the modes at ``centers`` (K, 2).

    A sample is high quality when it lies within 3 ``std`` of its nearest centre
    (the criterion of VEEGAN and PacGAN). A mode is covered when at least
    ``min_count`` high-quality samples are nearest to it; by default a tenth of
    a mode's fair share, N / (10 K), and at least 1, so the rule does not depend
    on how many samples are drawn. Returns ``modes_covered``, ``num_modes``,
    ``high_quality_share`` (of all samples) and per-mode ``counts``.
    """
    samples = samples.detach().float().reshape(len(samples), -1).cpu()
    centers = centers.float().cpu()
    if len(samples) == 0:
        return {"modes_covered": 0, "num_modes": len(centers), "high_quality_share": 0.0,
                "counts": [0] * len(centers)}
    dist, nearest = torch.cdist(samples, centers).min(dim=1)
    good = dist <= 3 * std
    counts = torch.bincount(nearest[good], minlength=len(centers))
    threshold = min_count if min_count is not None else max(1, len(samples) // (10 * len(centers)))
    return {"modes_covered": int((counts >= threshold).sum()), "num_modes": len(centers),
            "high_quality_share": float(good.float().mean()), "counts": counts.tolist()}
