"""One training step, and the losses it leaves on the device.

`GANStep` is the math: ``loss.n_critic`` discriminator updates, each on a
fresh real batch and fresh noise, then one generator update (conditional
models get the last real batch's labels), then the EMA. `LossTracker` keeps
each step's losses as one device tensor and remembers, still on the device,
the first step whose values were not finite; it is read only when asked.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from . import distributed as dist
from . import ema as ema_mod
from .device import autocast
from .errors import ComponentError, TrainingError
from .interfaces import LossInputs, forward
from .losses import CompositeLoss
from .sampling import latent

DStats = tuple[Tensor, dict[str, Tensor], Tensor, Tensor]
GStats = tuple[Tensor, dict[str, Tensor]]


class GANStep:
    """The D and G updates. ``*_train`` callables carry gradients (DDP/compiled); ``*_plain`` do not.

    ``blame`` names each component for errors ("discriminator 'x' from plugin 'p' (dist 1.0)").
    ``standing`` recomputes the EMA model's BatchNorm statistics (`refresh_ema`), never inside a step.
    """

    def __init__(self, *, G: nn.Module, D: nn.Module, loss: CompositeLoss, opt_g: torch.optim.Optimizer,
                 opt_d: torch.optim.Optimizer, g_cond: bool, d_cond: bool, device: torch.device, amp: bool,
                 latent_dim: int, noise: torch.Generator, ema: nn.Module | None = None, ema_decay: float = 0.0,
                 wrap: Callable[[nn.Module], nn.Module] = lambda m: m, compile: bool = False, loss_name: str = "",
                 blame: dict[str, str] | None = None, standing: ema_mod.StandingStats | None = None):
        self.G, self.D, self.loss, self.opt_g, self.opt_d = G, D, loss, opt_g, opt_d
        self.g_cond, self.d_cond, self.device, self.amp = g_cond, d_cond, device, amp
        self.latent_dim, self.noise, self.ema, self.ema_decay = latent_dim, noise, ema, ema_decay
        self.loss_name = loss_name
        self.blame = {"generator": "the generator", "discriminator": "the discriminator", **(blame or {})}
        self.standing = standing
        g_wrapped, d_wrapped = wrap(G), wrap(D)
        self.g_train: Callable[..., Tensor] = g_wrapped
        self.d_train: Callable[..., Tensor] = d_wrapped
        self.g_plain: Callable[..., Tensor] = G
        self.d_plain: Callable[..., Tensor] = D
        # What a loss term differentiates through twice (gradient penalties): never compiled, because
        # aot_autograd has no double backward; DDP-wrapped in the D step so its gradients are reduced too.
        self.d_penalty = d_wrapped
        if compile:
            self.g_train, self.d_train = torch.compile(g_wrapped), torch.compile(d_wrapped)
            self.g_plain, self.d_plain = torch.compile(G), torch.compile(D)
        self.d_params = [p for p in D.parameters() if p.requires_grad]

    def __call__(self, next_batch: Callable[[], tuple[Tensor, Tensor | None]], step: int) -> tuple[DStats, GStats]:
        for _ in range(max(1, self.loss.n_critic)):
            real, y = next_batch()
            d = self.d_step(real, y, step)
        return d, self.g_step(real, y, step)

    def _z(self, n: int) -> Tensor:
        return latent(self.G, n, self.latent_dim, self.noise, self.device)

    def _gen(self, model: Callable[..., Tensor], z: Tensor, y: Tensor | None) -> Tensor:
        return forward(model, z, y if self.g_cond else None)

    def _disc(self, model: Callable[..., Tensor], x: Tensor, y: Tensor | None) -> Tensor:
        return forward(model, x, y if self.d_cond else None).reshape(-1)

    def _update(self, opt: torch.optim.Optimizer, total: Tensor, side: str, inputs: LossInputs) -> None:
        if not total.requires_grad:
            raise self._nothing_to_learn(side, inputs)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    def _nothing_to_learn(self, side: str, inputs: LossInputs) -> ComponentError:
        """Blame the component that cut the graph: G's output, D's scores, or the loss (error path only)."""
        scores = [s for s in (inputs.d_fake, inputs.d_real if side == "discriminator" else None) if s is not None]
        if side == "generator" and not inputs.fake.requires_grad:
            return ComponentError(f"{self.blame['generator']} gives the generator nothing to learn from: its "
                                  f"output does not depend on its parameters",
                                  "does its forward detach, or run under torch.no_grad?")
        if side == "generator" and not inputs.d_fake.requires_grad:
            return ComponentError(f"{self.blame['discriminator']} gives the generator nothing to learn from: its "
                                  f"scores do not depend on its input",
                                  "does its forward detach x, or run under torch.no_grad?")
        if side == "discriminator" and not any(s.requires_grad for s in scores):
            return ComponentError(f"{self.blame['discriminator']} cannot learn: its scores do not depend on its "
                                  f"parameters", "does its forward detach, or run under torch.no_grad?")
        return ComponentError(f"loss {self.loss_name!r} gives the {side} nothing to learn from: "
                              f"its {side} loss does not depend on the {side}'s output")

    def d_step(self, real: Tensor, y: Tensor | None, step: int) -> DStats:
        z = self._z(real.shape[0])
        with autocast(self.device, self.amp):
            with torch.no_grad():
                fake = self._gen(self.g_plain, z, y)
            d_real = self._disc(self.d_train, real, y)
            d_fake = self._disc(self.d_train, fake, y)
            inputs = LossInputs(real, fake, d_fake, d_real, y if self.d_cond else None, self.d_penalty, step)
            total, parts = self.loss.d_loss(inputs)
        self._update(self.opt_d, total, "discriminator", inputs)
        return total.detach(), parts, d_real.detach(), d_fake.detach()

    def g_step(self, real: Tensor, y: Tensor | None, step: int) -> GStats:
        z = self._z(real.shape[0])
        for p in self.d_params:  # D's weights get no gradients here (and its DDP reducer expects none)
            p.requires_grad_(False)
        try:
            with autocast(self.device, self.amp):
                fake = self._gen(self.g_train, z, y)
                d_fake = self._disc(self.d_plain, fake, y)
                d_real = None
                if self.loss.needs_real_scores_for_g:
                    with torch.no_grad():
                        d_real = self._disc(self.d_plain, real, y)
                inputs = LossInputs(real, fake, d_fake, d_real, y if self.d_cond else None, self.D, step)
                total, parts = self.loss.g_loss(inputs)
            self._update(self.opt_g, total, "generator", inputs)
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        if self.ema is not None:
            ema_mod.update(self.ema, self.G, self.ema_decay)
        return total.detach(), parts

    def refresh_ema(self, step: int) -> None:
        """Give the EMA model BatchNorm statistics of its own before it is sampled, evaluated or saved."""
        if self.standing is not None:
            self.standing.refresh(step)


class LossTracker:
    """Each step's losses as one device tensor, and the first non-finite step, without host syncs.

    ``probabilities``: D's scores are logits (bce, minimax), so ``d_real_prob``/``d_fake_prob`` (their
    sigmoids) are logged too; for other losses (WGAN critics, LSGAN, hinge) a sigmoid means nothing.
    """

    def __init__(self, device: torch.device, step: int, hint: Callable[[], str] = lambda: "",
                 probabilities: bool = True):
        self.device = device
        self.hint = hint  # what to say about checkpoints when raising
        self.probabilities = probabilities
        self.keys: tuple[str, ...] = ()
        self.step_t = torch.full((), step, dtype=torch.long, device=device)
        self.first_bad = torch.full((), -1, dtype=torch.long, device=device)
        self.bad_vals = torch.zeros(0, device=device)
        self.vals: Tensor | None = None

    def track(self, d: DStats, g: GStats) -> None:
        d_total, d_parts, d_real, d_fake = d
        g_total, g_parts = g
        d_real, d_fake = d_real.float(), d_fake.float()
        values = {"d_loss": d_total, "g_loss": g_total, "d_real": d_real.mean(), "d_fake": d_fake.mean()}
        if self.probabilities:
            values.update(d_real_prob=torch.sigmoid(d_real).mean(), d_fake_prob=torch.sigmoid(d_fake).mean())
        values.update({f"d/{k}": v for k, v in d_parts.items()})
        values.update({f"g/{k}": v for k, v in g_parts.items()})
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
