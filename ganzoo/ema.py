"""The EMA generator: a running average of G's weights, with BatchNorm statistics of its own.

`update` is the per-step part: ``ema ← decay·ema + (1 − decay)·G`` for every
floating-point parameter, and G's buffers copied (a spectral norm's power
iteration vectors, say, which are not averaged quantities).

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
from contextlib import ExitStack

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .device import autocast
from .interfaces import forward
from .sampling import latent

#: latents the standing statistics are averaged over (in training-sized batches)
STANDING_SAMPLES = 2048


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
