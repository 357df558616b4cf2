"""The gan algorithm's step: ``loss.n_critic`` discriminator updates, then one generator update; the trainer
then updates the EMA (`ganzoo.algorithm.Setup.keep_ema`).

Each D update reads a fresh real batch and fresh noise; the G update uses
the last real batch's labels (conditional models) and its size. This is the
trainer's step of ganzoo 0.1 moved into a plugin, unchanged: every recipe
trains as it did, and resumes bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.algorithm import Algorithm, NextBatch, Setup, update
from ganzoo.config import RunConfig
from ganzoo.device import autocast
from ganzoo.interfaces import LossInputs, forward
from ganzoo.sampling import fixed_batch, generate, latent, write_picture


class GAN(Algorithm):
    """The GAN training step (Goodfellow et al. 2014): noise in, one generator, one discriminator.

    A base for variants: `d_step` and `g_step` are one update each, and a variant that adds a term to
    either loss (an auxiliary head's, a latent code's) overrides `d_objective` / `g_objective` and calls
    ``super()``; ``self.G``, ``self.D``, ``self.ema``, ``self.optimizers`` and ``self.modules`` are what it
    builds on (docs/plugins.md, "A variant of the gan algorithm").

    Each step makes ``n_critic`` discriminator updates (the loss spec's
    adversarial term asks for it: 5 for wgan-gp), each on a fresh real batch
    and fresh latent codes, then one generator update, then the EMA of G's
    weights when ``train.ema_kimg`` (or ``train.ema``) is on (the trainer's, `Setup.keep_ema`). Conditional models get the real batch's
    labels. Grids are drawn from one fixed batch of latent codes (one row per
    class for conditional generators). The default algorithm: a run that
    names none trains with this one.

    augment: DiffAugment policies (Zhao et al. 2020) applied to real and fake images before D, in both
        steps: "color", "translation", "cutout", comma-separated ("color,translation,cutout" is the
        paper's choice for small data); "" (the default) applies none.
    """

    def __init__(self, setup: Setup, augment: str = ""):
        t = setup.config.settings
        self.policy = _check_policy(augment, setup)
        self.setup, self.loss, self.device, self.amp = setup, setup.loss, setup.device, t.amp
        self.latent_dim, self.noise = t.latent_dim, setup.noise
        self.g_cond, self.d_cond = setup.g_cond, setup.d_cond
        G, D = setup.generator(), setup.discriminator()
        self.G, self.D = G, D
        # the trainer's EMA (None when off): updated after each step, standing statistics before each use
        self.kept_ema = setup.keep_ema(G)
        self.ema = self.kept_ema.module if self.kept_ema is not None else None
        self.modules = {"generator": G, "discriminator": D}
        if self.ema is not None:
            self.modules["ema"] = self.ema
        self.optimizers = {"opt_g": setup.optimizer(G.parameters(), "g"),
                           "opt_d": setup.optimizer(D.parameters(), "d")}
        self.batches_per_step = max(1, self.loss.n_critic)
        self.probabilities = self.loss.scores_are_logits
        self.blame = {k: s.who for k, s in setup.composition.specs.items()}
        self.loss_name = setup.config.loss["name"]
        g_wrapped, d_wrapped = setup.wrap(G), setup.wrap(D)
        self.g_train: Callable[..., Tensor] = setup.compiled(g_wrapped)
        self.d_train: Callable[..., Tensor] = setup.compiled(d_wrapped)
        self.g_plain: Callable[..., Tensor] = setup.compiled(G)
        self.d_plain: Callable[..., Tensor] = setup.compiled(D)
        # What a loss term differentiates through twice (gradient penalties): never compiled, because
        # aot_autograd has no double backward; DDP-wrapped in the D step so its gradients are reduced too.
        self.d_penalty = d_wrapped
        self.d_params = [p for p in D.parameters() if p.requires_grad]
        self.z_fixed, self.labels_fixed, self.nrow = fixed_batch(G, setup.info, t.latent_dim, t.seed,
                                                                 self.g_cond)
        self.real_points = None
        if not setup.info.is_image and not getattr(setup.dataset, "streaming", False):
            self.real_points = setup.dataset.tensors()[0][:2000].float().clone()

    # -- training ---------------------------------------------------------------------------------
    def step(self, next_batch: NextBatch, step: int, total: int) -> dict[str, Tensor]:
        for _ in range(self.batches_per_step):
            real, y = next_batch()
            d_total, d_parts, d_real, d_fake = self.d_step(real, y, step, total)
        g_total, g_parts = self.g_step(real, y, step, total)
        d_real, d_fake = d_real.float(), d_fake.float()
        values = {"d_loss": d_total, "g_loss": g_total, "d_real": d_real.mean(), "d_fake": d_fake.mean()}
        if self.probabilities:
            values.update(d_real_prob=torch.sigmoid(d_real).mean(), d_fake_prob=torch.sigmoid(d_fake).mean())
        values.update({f"d/{k}": v for k, v in d_parts.items()})
        values.update({f"g/{k}": v for k, v in g_parts.items()})
        return values

    def _z(self, n: int) -> Tensor:
        return latent(self.G, n, self.latent_dim, self.noise, self.device)

    def _gen(self, model: Callable[..., Tensor], z: Tensor, y: Tensor | None) -> Tensor:
        return forward(model, z, y if self.g_cond else None)

    def _disc(self, model: Callable[..., Tensor], x: Tensor, y: Tensor | None) -> Tensor:
        return forward(model, x, y if self.d_cond else None).reshape(-1)

    def _aug(self, x: Tensor) -> Tensor:
        """What D sees: the DiffAugment policy applied (random numbers from torch's global stream, which
        checkpoints hold)."""
        if not self.policy:
            return x
        from ganzoo_plugins.augment.diffaugment import diff_augment

        return diff_augment(x, self.policy)

    def d_step(self, real: Tensor, y: Tensor | None, step: int,
               total: int = 0) -> tuple[Tensor, dict[str, Tensor], Tensor, Tensor]:
        z = self._z(real.shape[0])
        with autocast(self.device, self.amp):
            with torch.no_grad():
                fake = self._gen(self.g_plain, z, y)
            real, fake = self._aug(real), self._aug(fake)
            d_real = self._disc(self.d_train, real, y)
            d_fake = self._disc(self.d_train, fake, y)
            inputs = LossInputs(real, fake, d_fake, d_real, y if self.d_cond else None, self.d_penalty, step,
                                generator=self.G, total=total, z=z, g_labels=y if self.g_cond else None)
            loss_total, parts = self.d_objective(inputs)
        update(self.optimizers["opt_d"], loss_total, "discriminator", inputs, self.blame, self.loss_name)
        return loss_total.detach(), parts, d_real.detach(), d_fake.detach()

    def g_step(self, real: Tensor, y: Tensor | None, step: int, total: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
        z = self._z(real.shape[0])
        for p in self.d_params:  # D's weights get no gradients here (and its DDP reducer expects none)
            p.requires_grad_(False)
        try:
            with autocast(self.device, self.amp):
                fake = self._gen(self.g_train, z, y)
                d_fake = self._disc(self.d_plain, self._aug(fake), y)
                d_real = None
                if self.loss.needs_real_scores_for_g:
                    with torch.no_grad():
                        d_real = self._disc(self.d_plain, self._aug(real), y)
                # the unwrapped G: a term that runs it again (pl's forward_with_w) differentiates it twice,
                # which a compiled model cannot do
                inputs = LossInputs(real, fake, d_fake, d_real, y if self.d_cond else None, self.D, step,
                                    generator=self.G, total=total, z=z, g_labels=y if self.g_cond else None)
                loss_total, parts = self.g_objective(inputs)
            update(self.optimizers["opt_g"], loss_total, "generator", inputs, self.blame, self.loss_name)
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        return loss_total.detach(), parts

    # -- the hooks a variant overrides --------------------------------------------------------------
    def d_objective(self, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        """D's loss on one batch (its total and each named part, logged as ``d/PART``): the run's loss spec.
        ``inputs.fake`` is detached here: a variant's extra term on it trains D's heads alone."""
        return self.loss.d_loss(inputs)

    def g_objective(self, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        """G's loss on one batch (its total and each named part, logged as ``g/PART``): the run's loss spec.
        D's parameters are frozen here: a variant's extra term trains G alone."""
        return self.loss.g_loss(inputs)

    # -- what the trainer shows and scores ----------------------------------------------------------
    @property
    def sampler(self) -> nn.Module:
        return self.ema if self.ema is not None else self.G

    def grid(self, path: Path, step: int) -> Path:
        with autocast(self.device, self.amp):
            samples = generate(self.sampler, self.z_fixed, self.labels_fixed)
        box = None
        if self.real_points is not None:
            from ganzoo.images import bounds

            box = bounds(self.real_points)
        return write_picture(samples, path, self.setup.info, self.labels_fixed, self.nrow, real=self.real_points,
                             box=box, title=f"step {step}")

    def evaluate(self, num: int, device: torch.device, log: Callable[[str], None] | None) -> dict[str, Any]:
        from ganzoo.evaluation.scoring import evaluate_generator

        cfg, t = self.setup.config, self.setup.config.settings
        return evaluate_generator(self.sampler, self.setup.dataset, self.setup.info, num=num, device=device,
                                  conditional=self.g_cond, seed=t.seed, dataset_name=cfg.dataset["name"],
                                  dataset_params=RunConfig.params(cfg.dataset), latent_dim=t.latent_dim,
                                  inception=False, log=log, metrics=t.metrics)


def _check_policy(policy: str, setup: Setup) -> str:
    from ganzoo.errors import UsageError
    from ganzoo_plugins.augment.diffaugment import POLICIES

    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise UsageError(f"algo.augment: unknown DiffAugment policy {unknown[0]!r}",
                         f"choose from {', '.join(POLICIES)}, comma-separated")
    if names and not setup.info.is_image:
        raise UsageError("algo.augment: DiffAugment transforms images, and this dataset holds points",
                         "leave algo.augment empty")
    return ",".join(names)
