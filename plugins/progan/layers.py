"""Layers of ProGAN (Karras et al. 2018) that StyleGAN2 (Karras et al. 2020) reuses.

Equalized learning rate: weights are stored as N(0, 1) and multiplied by
He's constant ``gain / sqrt(fan_in)`` on every forward, so Adam's per-weight
step sizes act on equally scaled parameters. Pixel-wise feature
normalization and the minibatch standard deviation are the paper's two other
stabilisers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["EqualizedLinear", "EqualizedConv2d", "PixelNorm", "MinibatchStdDev", "lrelu"]

SQRT2 = math.sqrt(2)


def lrelu(x: Tensor) -> Tensor:
    """LeakyReLU(0.2), not in place (gradient penalties differentiate twice)."""
    return F.leaky_relu(x, 0.2)


class EqualizedLinear(nn.Module):
    """A linear layer with equalized learning rate: ``y = x (w * gain / sqrt(in))ᵀ + b``, w ~ N(0, 1).

    ``lr_multiplier`` scales both the stored weight (down) and the runtime
    constant (up): StyleGAN's mapping network learns 100x slower this way.
    """

    def __init__(self, cin: int, cout: int, *, gain: float = SQRT2, bias: bool = True, bias_init: float = 0.0,
                 lr_multiplier: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((cout,), bias_init / lr_multiplier)) if bias else None
        self.scale = gain / math.sqrt(cin) * lr_multiplier
        self.bias_scale = lr_multiplier

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias * self.bias_scale if self.bias is not None else None
        return F.linear(x, self.weight * self.scale, bias)


class EqualizedConv2d(nn.Module):
    """A same-padded convolution with equalized learning rate: weight * gain / sqrt(cin * k * k) at run time."""

    def __init__(self, cin: int, cout: int, kernel: int, *, gain: float = SQRT2, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale = gain / math.sqrt(cin * kernel * kernel)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


class PixelNorm(nn.Module):
    """Pixel-wise feature normalization: each pixel's feature vector scaled to unit mean square."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.square().mean(1, keepdim=True) + 1e-8)


class MinibatchStdDev(nn.Module):
    """Appends the average standard deviation across the minibatch as ``channels`` extra feature maps.

    The batch is split into groups of ``group_size`` (the largest divisor of
    N that is not larger, so any batch works; None: the whole batch); in each
    group, every feature's standard deviation over the group's samples is
    averaged over features and pixels (over each of ``channels`` slices of the
    features), and that number becomes a constant extra channel for the
    group's samples. D can then see a batch's lack of variety.
    """

    def __init__(self, group_size: int | None = 4, channels: int = 1):
        super().__init__()
        self.group_size, self.channels = group_size, channels

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        g = n if self.group_size is None else max(d for d in range(1, min(self.group_size, n) + 1) if n % d == 0)
        f = self.channels
        # sample i lands in group i % (n // g), as in the official code
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()     # (n/g, f, c/f, h, w): std over each group
        y = y.mean((2, 3, 4)).reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], 1)
