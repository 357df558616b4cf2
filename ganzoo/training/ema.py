"""The EMA generator: a running average of G's weights, with BatchNorm statistics of its own.

`update` is the per-step part: ``ema ← decay·ema + (1 − decay)·G`` for every
floating-point parameter, and G's buffers copied (a spectral norm's power
iteration vectors, say, which are not averaged quantities).

`beta` is the decay of one step, as StyleGAN2-ADA defines it
(NVlabs/stylegan2-ada-pytorch, training/training_loop.py:298-301): a
half-life of ``ema_kimg`` thousand images, at most ``ema_rampup`` times the
images seen so far. The ramp-up is what makes the average forget the random
initialisation in a short run: at step 1 nothing has been seen, the half-life
is 0 and the EMA starts as a copy of the trained G. `step_beta` reads the
settings from a run's `TrainSettings` (``ema_kimg``/``ema_rampup``, or the
fixed decay ``ema``). Both depend on the step number alone, which a
checkpoint holds, so a resumed run averages exactly as an unbroken one.

Copying G's BatchNorm running statistics is not enough, though: they describe
G's activations along its own trajectory, not the averaged model's, which
then normalises with statistics that are not its own. `StandingStats`
recomputes them from the EMA model itself (BigGAN's "standing statistics",
Brock et al. 2019): the EMA's BatchNorm layers run in training mode with a
cumulative average (``momentum=None``) over a few thousand fresh latents,
without gradients. The trainer calls it before the EMA model is sampled for a
grid, evaluated or checkpointed, so training steps pay nothing for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import ExitStack

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..components.device import autocast
from ..components.interfaces import forward
from ..config.settings import TrainSettings
from ..runs.sampling import latent

#: latents the standing statistics are averaged over (in training-sized batches)
STANDING_SAMPLES = 2048


def beta(cur_nimg: float, batch_images: int, ema_kimg: float, ema_rampup: float | None) -> float:
    """The EMA decay of one step that trains on ``batch_images`` images (all processes), ``cur_nimg`` seen before.

    ``0.5 ** (batch_images / ema_nimg)``, so that after ``ema_nimg`` images at a constant half-life the
    weights of the start keep half their weight; ``ema_nimg = ema_kimg * 1000``, capped at
    ``cur_nimg * ema_rampup`` when ramp-up is on (training/training_loop.py:298-301 of
    NVlabs/stylegan2-ada-pytorch, the same 1e-8 floor: a zero half-life gives 0, a copy of G).
    """
    ema_nimg = ema_kimg * 1000
    if ema_rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * ema_rampup)
    return float(0.5 ** (batch_images / max(ema_nimg, 1e-8)))


def step_beta(train: TrainSettings, step: int, batch_images: int) -> float:
    """The EMA decay of training step ``step`` (1-based) of a run with these settings.

    ``batch_images``: the images one step trains G on, over all processes (batch_size × world size).
    The images seen before step ``step`` are ``(step − 1) × batch_images`` (StyleGAN2-ADA counts
    ``cur_nimg`` after the update, training_loop.py:308); no ramp-up for a run started from trained weights
    (``init``, as train.py:313-315 for a resumed snapshot). ``ema_kimg`` > 0 gives the half-life form;
    otherwise ``ema`` is a fixed decay from step 1 (the form of ganzoo 0.1 and of ProGAN's
    ``G_smoothing``), kept so that users' configs and old runs resume as they trained.
    """
    if train.ema_kimg > 0:
        rampup = train.ema_rampup or None  # 0 (the "off" spellings) is no ramp-up, not a zero half-life
        if train.init:
            # G and its EMA start from trained weights: a ramp-up would replace that EMA with G at step 1, so
            # the reference turns it off when it starts from a snapshot (train.py:313-315)
            rampup = None
        return beta((step - 1) * batch_images, batch_images, train.ema_kimg, rampup)
    return train.ema


def enabled(train: TrainSettings) -> bool:
    """Whether a run with these settings keeps an EMA generator."""
    return train.ema_kimg > 0 or train.ema > 0


@torch.no_grad()
def update(ema: nn.Module, G: nn.Module, decay: float) -> None:
    """One EMA step of the weights; G's buffers are copied (the BatchNorm ones are recomputed before use)."""
    ema_p: list[torch.Tensor] = [p for p in ema.parameters() if p.dtype.is_floating_point]
    g_p = [p.detach() for p in G.parameters() if p.dtype.is_floating_point]
    torch._foreach_lerp_(ema_p, g_p, 1.0 - decay)
    for e, b in zip(ema.buffers(), G.buffers()):
        e.copy_(b)


def batchnorms(model: nn.Module) -> list[_BatchNorm]:
    """The BatchNorm layers that keep running statistics (the ones eval mode normalises with)."""
    return [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


class StandingStats:
    """Recomputes an EMA generator's BatchNorm statistics from its own activations, once per training step.

    Deterministic given (``seed``, step): the latents and labels come from a
    generator of their own, and the global RNG (which a plugin's forward may
    draw from) is forked, so training resumes on the same random streams
    whether or not a refresh happened in between.
    """

    def __init__(self, ema: nn.Module, *, latent_dim: int, batch_size: int, num_classes: int | None,
                 device: torch.device, seed: int, amp: bool = False, samples: int = STANDING_SAMPLES):
        self.ema, self.latent_dim, self.num_classes = ema, latent_dim, num_classes
        self.device, self.seed, self.amp = device, seed, amp
        self.layers = batchnorms(ema)
        self.batch_size = max(2, batch_size)  # BatchNorm in training mode needs more than one sample
        self.batches = max(1, math.ceil(samples / self.batch_size))
        self.done_at: int | None = None

    @property
    def needed(self) -> bool:
        return bool(self.layers)

    def refresh(self, step: int) -> None:
        """Recompute the statistics for the weights at ``step`` (a no-op when already done, or without BatchNorm)."""
        if not self.layers or self.done_at == step:
            return
        self.recompute(step)
        self.done_at = step

    @torch.no_grad()
    def recompute(self, step: int) -> None:
        gen = torch.Generator(device="cpu").manual_seed(self.seed * 1_000_003 + step)
        saved = [(m, m.momentum) for m in self.layers]
        was_training = self.ema.training
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with ExitStack() as stack:
            stack.enter_context(torch.random.fork_rng(devices=cuda))
            torch.manual_seed(self.seed * 1_000_003 + step)
            self.ema.eval()  # dropout and the like as when sampled; only BatchNorm measures
            for m in self.layers:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the batches below
                m.train()
            try:
                for _ in range(self.batches):
                    z = latent(self.ema, self.batch_size, self.latent_dim, gen, self.device)
                    y = (torch.randint(0, self.num_classes, (self.batch_size,), generator=gen).to(self.device)
                         if self.num_classes else None)
                    with autocast(self.device, self.amp):
                        forward(self.ema, z, y)
            finally:
                for m, momentum in saved:
                    m.momentum = momentum
                self.ema.train(was_training)


class KeptEMA:
    """An EMA generator the trainer keeps for an algorithm (`ganzoo.algorithm.Setup.keep_ema`).

    ``module`` is the averaged copy of ``source``; the algorithm keeps it in its ``modules`` (as "ema", what
    `ganzoo sample` prefers) and samples its grids from it. The trainer calls `update` after every training
    step, with that step's decay (``decay(step)``: `Setup.ema_beta`), and `refresh` before the module is
    sampled, evaluated or saved (its own BatchNorm statistics, `StandingStats`), exactly as the built-in
    ``gan`` algorithm's EMA.
    """

    def __init__(self, module: nn.Module, source: nn.Module, decay: Callable[[int], float],
                 standing: StandingStats | None):
        self.module, self.source, self.decay, self.standing = module, source, decay, standing

    def update(self, step: int) -> None:
        """The EMA step at the end of training step ``step`` (1-based)."""
        update(self.module, self.source, self.decay(step))

    def refresh(self, step: int) -> None:
        """Standing BatchNorm statistics for the weights at ``step`` (nothing to do without BatchNorm)."""
        if self.standing is not None:
            self.standing.refresh(step)
