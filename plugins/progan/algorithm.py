"""The `progan` training algorithm: the gan step with ProGAN's two growth-time procedures (Karras et al. 2018).

What it adds to `ganzoo_plugins.gan.algorithm.GAN`, both from the official code
(tkarras/progressive_growing_of_gans at 2504c3f):

- The reals are faded as the fakes are: during a fade-in G's output is
  ``alpha·ToRGB(new) + (1 − alpha)·upsample(ToRGB(old))``, and the real batch is
  the same blend of the real image at the new resolution and its 2x box
  downsample, nearest-upsampled (`process_reals`; train.py:56-80, "FadeLOD"
  and "UpscaleLOD"). Every use of the reals gets them (D's scores, the
  gradient penalty's interpolates, the drift), as in loss.py:51-71 where
  ``reals`` is already processed. D then only pools its input to the current
  resolution (`ProGANDiscriminator.fades_inputs` off), so the fakes are not
  blurred a second time.
- Adam's state (moments and step count, so its bias correction too) is reset
  whenever the level of detail crosses an integer: at the start of each
  fade-in and at its end (train.py:137 ``reset_opt_for_new_lod = True``,
  train.py:221-223, which compares floor and ceil of ``lod``).

Both depend only on (step, total), through `growth_schedule`, so a resumed run
does exactly what an unbroken one does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.algorithm import NextBatch, Setup
from ganzoo.errors import UsageError
from ganzoo_plugins.gan.algorithm import GAN

from .models import ProGANDiscriminator, ProGANGenerator, growth_schedule

__all__ = ["ProGAN", "process_reals", "lod", "lod_changed"]


def lod(levels: int, level: int, alpha: float) -> float:
    """The official code's level of detail for a growth state: 0 at the data size, +1 per halving, fractional
    during a fade-in (train.py:109-115: lod falls from L to L − 1 while the new layers fade in)."""
    return float(levels - 1 - level) + (1.0 - alpha if level > 0 else 0.0)


def lod_changed(step: int, total: int, levels: int, growth: float) -> bool:
    """Whether step ``step``'s level of detail has another floor or ceiling than step ``step − 1``'s: the
    moments the reference resets its optimizers (train.py:221-223)."""
    before = lod(levels, *growth_schedule(step - 1, total, levels, growth))
    now = lod(levels, *growth_schedule(step, total, levels, growth))
    return (math.floor(before), math.ceil(before)) != (math.floor(now), math.ceil(now))


def process_reals(x: Tensor, levels: int, level: int, alpha: float) -> Tensor:
    """Real images (N, C, S, S) as the reference shows them to D at growth state (``level``, ``alpha``).

    train.py:56-80: the real at the current (new) resolution (the dataset's own box-downsampled copy; here
    ``avg_pool`` of the full image, the same thing), lerped toward its 2x box downsample, nearest-upsampled,
    by ``lod − floor(lod) = 1 − alpha``; then nearest-upsampled to the data size. Identity once fully grown.
    """
    scale = 2 ** (levels - 1 - level)
    if scale > 1:
        x = F.avg_pool2d(x, scale)
    if level > 0 and alpha < 1.0:
        low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
        x = torch.lerp(x, low, 1.0 - alpha)
    if scale > 1:
        x = F.interpolate(x, scale_factor=scale, mode="nearest")
    return x


class ProGAN(GAN):
    """ProGAN's training step (Karras et al. 2018): the gan step, with the reals faded in step with the
    growth and Adam's state reset at each change of resolution, as the official code trains.

    Needs the progan generator and discriminator (they grow; this follows them). Everything else is the gan
    algorithm's: ``loss.n_critic`` D updates then one G update, the EMA, grids and scores.

    augment: DiffAugment policies, as for the gan algorithm ("" applies none; ProGAN used none).
    """

    def __init__(self, setup: Setup, augment: str = ""):
        super().__init__(setup, augment)
        if not isinstance(self.G, ProGANGenerator) or not isinstance(self.D, ProGANDiscriminator):
            raise UsageError("algo progan trains the progan generator and discriminator, which grow",
                             "set gen.name and disc.name to progan, or train with algo gan")
        if (self.G.levels, self.G.growth) != (self.D.levels, self.D.growth):
            raise UsageError("algo progan: gen.growth and disc.growth differ", "give both the same value")
        self.D.fades_inputs = False  # the reals are faded here, the fakes by G: D only pools to its resolution

    def step(self, next_batch: NextBatch, step: int, total: int) -> dict[str, Tensor]:
        if lod_changed(step, total, self.D.levels, self.D.growth):
            for opt in self.optimizers.values():
                opt.state.clear()
        levels, level, alpha = self.D.levels, self.D.level, self.D.alpha

        def faded() -> tuple[Tensor, Tensor | None]:
            real, y = next_batch()
            return process_reals(real, levels, level, alpha), y

        return super().step(faded, step, total)
