"""DiffAugment (Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random, differentiable transformations are applied to real and
fake batches before D (in both the D and the G step), so D cannot overfit a
small dataset while G still receives gradients through the augmentation.
Three policies, as in the paper's code: ``color`` (brightness, saturation,
contrast), ``translation`` (shift by up to 1/8 of the image, zero fill) and
``cutout`` (zero a square of half the image side). Images are in [-1, 1], so
"zero" is mid grey. Every random number comes from ``generator`` (or torch's
default one), drawn on the images' device.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["diff_augment", "POLICIES", "brightness", "saturation", "contrast", "translation", "cutout"]


def _rand(x: Tensor, generator: torch.Generator | None) -> Tensor:
    """One uniform [0, 1) number per sample, shaped (N, 1, 1, 1)."""
    return torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype, generator=generator)


def brightness(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Add one offset in [-0.5, 0.5) per sample."""
    return x + (_rand(x, generator) - 0.5)


def saturation(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Scale each pixel's deviation from its channel mean by a factor in [0, 2) per sample."""
    mean = x.mean(1, keepdim=True)
    return (x - mean) * (_rand(x, generator) * 2) + mean


def contrast(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Scale each sample's deviation from its mean by a factor in [0.5, 1.5)."""
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, generator) + 0.5) + mean


def translation(x: Tensor, generator: torch.Generator | None = None, ratio: float = 0.125) -> Tensor:
    """Shift each sample by whole pixels, up to ``round(ratio * side)`` each way; vacated pixels become 0.

    Written as a gather from the zero-padded image, so gradients flow to the
    pixels that stay in view.
    """
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device, generator=generator)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device, generator=generator)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    # output pixel (y, x) reads input (y - dy, x - dx); a read outside the image hits the zero border of the pad
    src_y = (ys - dy).clamp(-1, h) + 1
    src_x = (xs - dx).clamp(-1, w) + 1
    padded = F.pad(x, (1, 1, 1, 1))
    index = (src_y * (w + 2) + src_x).view(n, 1, h * w).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, index).view_as(x)


def cutout(x: Tensor, generator: torch.Generator | None = None, ratio: float = 0.5) -> Tensor:
    """Zero one square of side ``round(ratio * side)`` per sample, centred anywhere (clipped at the borders)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device, generator=generator)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device, generator=generator)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - cy + ch // 2) >= 0) & ((ys - cy + ch // 2) < ch) & ((xs - cx + cw // 2) >= 0) & \
        ((xs - cx + cw // 2) < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


POLICIES: dict[str, tuple[Callable[[Tensor, torch.Generator | None], Tensor], ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def diff_augment(x: Tensor, policy: str = "color,translation,cutout",
                 generator: torch.Generator | None = None) -> Tensor:
    """Apply the comma-separated ``policy`` (names from `POLICIES`, in order) to a batch of images (N, C, H, W)."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {', '.join(unknown)}; known: {', '.join(POLICIES)}")
    for name in names:
        for op in POLICIES[name]:
            x = op(x, generator)
    return x
