"""The losses a training step leaves on the device.

`LossTracker` keeps each step's values (what `ganzoo.algorithm.Algorithm.step`
returns) as one device tensor and remembers, still on the device, the first
step whose values were not finite; it is read only when asked.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..base.errors import TrainingError
from . import distributed as dist


class LossTracker:
    """Each step's losses as one device tensor, and the first non-finite step, without host syncs."""

    def __init__(self, device: torch.device, step: int, hint: Callable[[], str] = lambda: ""):
        self.device = device
        self.hint = hint  # what to say about checkpoints when raising
        self.keys: tuple[str, ...] = ()
        self.step_t = torch.full((), step, dtype=torch.long, device=device)
        self.first_bad = torch.full((), -1, dtype=torch.long, device=device)
        self.bad_vals = torch.zeros(0, device=device)
        self.vals: Tensor | None = None

    def track(self, values: dict[str, Tensor]) -> None:
        """One step's values: 0-dim device tensors by name (``d/TERM``, ``g/TERM`` for loss terms)."""
        keys = tuple(values)
        if keys != self.keys:  # a term came or went: settle what is tracked so far, then start over
            if self.keys:
                self.check(None)
            self.keys = keys
            self.first_bad = torch.full((), -1, dtype=torch.long, device=self.device)
            self.bad_vals = torch.zeros(len(keys), device=self.device)
        vals = torch.stack([v.detach().float().reshape(()) for v in values.values()])
        self.step_t += 1
        newly = (~torch.isfinite(vals).all()) & (self.first_bad < 0)
        self.first_bad = torch.where(newly, self.step_t, self.first_bad)
        self.bad_vals = torch.where(newly, vals, self.bad_vals)
        self.vals = vals

    def check(self, env: dist.DistEnv | None) -> None:
        """TrainingError naming the first step and term that went non-finite (one sync; collective under DDP)."""
        if not self.keys:
            return
        first = int(self.first_bad.item())
        none = 2**62
        agreed = dist.min_int(first if first >= 0 else none, env) if env is not None else (first if first >= 0 else none)
        if agreed == none:
            return
        bad = [(k, v) for k, v in zip(self.keys, self.bad_vals.tolist()) if not math.isfinite(v)] if first >= 0 else []
        named = [kv for kv in bad if "/" in kv[0]] or bad
        if named:
            key, value = named[0]
            side, _, term = key.partition("/")
            what = (f"loss term {term!r} ({'discriminator' if side == 'd' else 'generator'} side)" if term
                    else {"d_loss": "the discriminator loss", "g_loss": "the generator loss"}.get(key, key))
            msg = f"{what} became {value} at step {first}; training stopped"
        else:
            msg = f"a loss became non-finite at step {agreed} in another process; training stopped"
        raise TrainingError(msg, self.hint() or None)

    def values(self, env: dist.DistEnv) -> dict[str, float]:
        """The last step's values (averaged over processes): one sync."""
        if self.vals is None:
            return {}
        return dict(zip(self.keys, dist.mean(self.vals, env).tolist()))
