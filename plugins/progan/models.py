"""ProGAN generator and discriminator (Karras, Aila, Laine & Lehtinen 2018), grown from 4 px to the data size.

Growth state is a level and a fade-in alpha, shared in meaning by G and D
and set by `on_progress(step, total)`, which a trainer calls before each
step; until it is called (and after training) both work at full resolution.
G always returns full-size images (the current resolution upsampled by
nearest neighbour) and D always takes them, so the rest of ganzoo never sees
a changing shape. The blend is the "linear" structure of the official code:
every lower resolution's ToRGB / FromRGB stays in the graph with weight
0 once faded out, so every parameter has a gradient at full resolution.
"""

from __future__ import annotations

import math
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.interfaces import DataInfo, Discriminator, Generator
from ganzoo.params import Range
from ganzoo_plugins.sngan.blocks import image_side

from .layers import SQRT2, EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm, lrelu

__all__ = ["ProGANGenerator", "ProGANDiscriminator", "growth_schedule"]

RESOLUTIONS = (8, 16, 32, 64, 128, 256, 512, 1024)


def growth_schedule(step: int, total: int, levels: int, growth: float) -> tuple[int, float]:
    """(level, alpha) at ``step`` of ``total``: the first ``growth`` share of training grows the networks.

    That share is cut into 2 * levels - 1 equal phases: 4 px alone, then for
    each further resolution a fade-in (alpha 0 -> 1) and a stabilising phase
    (the reference's 600k + 600k images per resolution, train.py:91-92 of
    tkarras/progressive_growing_of_gans, the paper's 800k + 800k, scaled to the
    share ``growth`` of the run: phases of equal length, as there). Level
    ``levels - 1`` is the data size; alpha 1 means no blend.
    """
    if total <= 0 or growth <= 0 or levels <= 1:
        return levels - 1, 1.0
    t = (step / total) / growth * (2 * levels - 1)
    if t >= 2 * levels - 1:
        return levels - 1, 1.0
    phase = int(t)
    if phase == 0:
        return 0, 1.0
    level = (phase + 1) // 2
    return (level, t - phase) if phase % 2 == 1 else (level, 1.0)


def _channels(res: int, channel_base: int, channel_max: int) -> int:
    return max(1, min(channel_base // res, channel_max))


class _Growing(nn.Module):
    """The growth state G and D share: ``level`` (0 = 4 px) and the fade-in ``alpha`` of that level.

    alpha lives in a (non-persistent) tensor so that torch.compile does not
    specialise on it and recompile at every step of a fade-in; the level, an
    int, changes once per resolution.
    """

    levels: int
    level: int
    growth: float
    _alpha: Tensor

    def _init_growth(self, side: int, growth: float) -> None:
        self.levels = int(math.log2(side)) - 1
        self.growth = growth
        self.level = self.levels - 1
        self.register_buffer("_alpha", torch.ones(()), persistent=False)

    @property
    def alpha(self) -> float:
        """The weight of the current level's own output: 0 -> 1 during its fade-in, then 1."""
        return float(self._alpha)

    @property
    def resolution(self) -> int:
        """The side of the images at the current level (the higher one during a fade-in)."""
        return 4 * 2 ** self.level

    def set_growth(self, level: int, alpha: float = 1.0) -> None:
        """Work at ``level`` (0: 4 px; levels - 1: the data size), fading it in with weight ``alpha``."""
        if not 0 <= level < self.levels or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"level must be in [0, {self.levels - 1}] and alpha in [0, 1], got {level}, {alpha}")
        self.level = level
        self._alpha.fill_(1.0 if level == 0 else float(alpha))

    def on_progress(self, step: int, total: int) -> None:
        """Follow training progress: the trainer calls this before each step (see `growth_schedule`)."""
        self.set_growth(*growth_schedule(step, total, self.levels, self.growth))

    def _weight(self, level: int, like: Tensor) -> Tensor | float:
        # how much of `level`'s own output the blend keeps at that level (1: fully grown; alpha: fading in),
        # in the dtype of the blended tensors (autocast may run them in bf16)
        return self._alpha.to(like.dtype) if level == self.level else 1.0


class ProGANGenerator(_Growing, Generator):
    """ProGAN generator (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality, Stability, and Variation").

    Grows from 4 px to the data size: the latent (normalized to unit mean
    square) becomes a 4x4 map, and each resolution adds nearest-neighbour
    upsampling and two 3x3 convolutions, every one followed by LeakyReLU(0.2)
    and pixel-wise feature normalization; equalized learning rate
    throughout. A new resolution fades in: its ToRGB output is blended with
    the upsampled image of the level below, with weight alpha rising 0 -> 1.
    The trainer drives growth through ``on_progress(step, total)``; until then
    (and at the end of training) it runs at full resolution. Output is always
    data-sized (lower resolutions upsampled), through a final Tanh. Square
    power-of-two images from 8 px. The paper's CelebA-HQ 1024 px model is
    channel_base=16384, channel_max=512, latent_dim=512 (23.1 M parameters);
    the default is small, for 32 px. Train with wgan-gp (with a small drift
    term) and Adam(1e-3, 0, 0.99).

    channel_base: channels at resolution r are min(channel_base / r, channel_max).
    channel_max: the most channels of any layer.
    growth: share of training spent growing (0: train at full resolution throughout); give D the same value.
    """

    def __init__(self, data: DataInfo, latent_dim: int = 512, channel_base: Annotated[int, Range(1, 1048576)] = 4096,
                 channel_max: Annotated[int, Range(1, 4096)] = 128, growth: Annotated[float, Range(0, 1)] = 0.5):
        super().__init__(data, latent_dim)
        side = image_side(data, "progan", RESOLUTIONS)
        self._init_growth(side, growth)
        ch = [_channels(4 * 2 ** j, channel_base, channel_max) for j in range(self.levels)]
        self.norm = PixelNorm()
        # the paper's first layer is a 4x4 "convolution" of the 1x1 latent: a dense layer with gain sqrt(2)/4
        self.dense = EqualizedLinear(latent_dim, ch[0] * 16, gain=SQRT2 / 4, bias=False)
        self.dense_bias = nn.Parameter(torch.zeros(ch[0]))
        self.convs = nn.ModuleList([nn.ModuleList([EqualizedConv2d(ch[0], ch[0], 3)])])
        for j in range(1, self.levels):
            self.convs.append(nn.ModuleList([EqualizedConv2d(ch[j - 1], ch[j], 3), EqualizedConv2d(ch[j], ch[j], 3)]))
        self.torgb = nn.ModuleList(EqualizedConv2d(c, data.shape[0], 1, gain=1.0) for c in ch)

    def _features(self, h: Tensor, level: int) -> Tensor:
        if level > 0:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        convs = self.convs[level]
        assert isinstance(convs, nn.ModuleList)
        for conv in convs:
            h = self.norm(lrelu(conv(h)))
        return h

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.dense(self.norm(z)).view(len(z), -1, 4, 4)
        h = self.norm(lrelu(h + self.dense_bias[None, :, None, None]))
        h = self._features(h, 0)
        img = self.torgb[0](h)
        for level in range(1, self.level + 1):
            h = self._features(h, level)
            img = torch.lerp(F.interpolate(img, scale_factor=2, mode="nearest"), self.torgb[level](h),
                             self._weight(level, h))
        scale = 2 ** (self.levels - 1 - self.level)
        if scale > 1:
            img = F.interpolate(img, scale_factor=scale, mode="nearest")
        return torch.tanh(img)


class ProGANDiscriminator(_Growing, Discriminator):
    """ProGAN discriminator (Karras et al. 2018): mirrors the generator, grown in step with it.

    FromRGB (1x1 conv) at the current resolution, then per resolution two
    3x3 convolutions with LeakyReLU(0.2) and 2x average pooling, a newly
    faded-in resolution blended with the FromRGB of the pooled image; at 4x4
    the minibatch standard deviation adds one channel, then a 3x3
    convolution, a 4x4 fully connected layer and the score. Equalized
    learning rate, no normalization (wgan-gp applies). D is shown every
    image, real or fake, at the current resolution: it average-pools its
    input to that size. The official code also fades the *reals* during a
    fade-in (train.py:56-80), which the `progan` algorithm does
    (`ganzoo_plugins.progan.algorithm`); under another algorithm D blends
    every input with its 2x blurred version itself (``fades_inputs``), an
    approximation that blurs the fakes, already blended by G, once more.
    Returns raw scores (N,).

    channel_base: channels at resolution r are min(channel_base / r, channel_max).
    channel_max: the most channels of any layer.
    growth: share of training spent growing (0: train at full resolution throughout); give G the same value.
    mbstd_group: samples per minibatch-standard-deviation group.
    """

    def __init__(self, data: DataInfo, channel_base: Annotated[int, Range(1, 1048576)] = 4096,
                 channel_max: Annotated[int, Range(1, 4096)] = 128, growth: Annotated[float, Range(0, 1)] = 0.5,
                 mbstd_group: Annotated[int, Range(1, 256)] = 4):
        super().__init__(data)
        side = image_side(data, "progan", RESOLUTIONS)
        self._init_growth(side, growth)
        ch = [_channels(4 * 2 ** j, channel_base, channel_max) for j in range(self.levels)]
        self.fromrgb = nn.ModuleList(EqualizedConv2d(data.shape[0], c, 1) for c in ch)
        self.convs = nn.ModuleList([nn.ModuleList()])
        for j in range(1, self.levels):
            self.convs.append(nn.ModuleList([EqualizedConv2d(ch[j], ch[j], 3), EqualizedConv2d(ch[j], ch[j - 1], 3)]))
        self.mbstd = MinibatchStdDev(mbstd_group, 1)
        self.conv = EqualizedConv2d(ch[0] + 1, ch[0], 3)
        self.fc = EqualizedLinear(ch[0] * 16, ch[0])
        self.out = EqualizedLinear(ch[0], 1, gain=1.0)
        # the progan algorithm fades the reals itself (as the reference does) and turns this off
        self.fades_inputs = True

    def current_view(self, x: Tensor) -> Tensor:
        """``x`` as D sees it at the current level: pooled to that size (and, with ``fades_inputs``, blended
        with its blur while fading in)."""
        scale = 2 ** (self.levels - 1 - self.level)
        if scale > 1:
            x = F.avg_pool2d(x, scale)
        if self.level > 0 and self.fades_inputs:  # no branch on alpha (a tensor): at alpha 1 the blend is x
            blurred = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
            x = torch.lerp(blurred, x, self._alpha.to(x.dtype))
        return x

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """The (N, features) activations of the last hidden layer, which the score is linear in."""
        img = self.current_view(x)
        h = lrelu(self.fromrgb[self.level](img))
        for level in range(self.level, 0, -1):
            convs = self.convs[level]
            assert isinstance(convs, nn.ModuleList)
            for conv in convs:
                h = lrelu(conv(h))
            h = F.avg_pool2d(h, 2)
            img = F.avg_pool2d(img, 2)
            h = torch.lerp(lrelu(self.fromrgb[level - 1](img)), h, self._weight(level, h))
        h = lrelu(self.conv(self.mbstd(h)))
        return lrelu(self.fc(h.flatten(1)))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.out(self.features(x)).view(-1)
