"""The training-algorithm interface: what one step does, with which models, and what a sample is.

An algorithm plugin (``register.algorithm(name, "pkg.module:Factory", ...)``)
owns what differs between methods: which models it builds (one G/D pair,
or two as CycleGAN), what a training step does, what the trainer's fixed
grid shows, and how a run is scored during training. The trainer keeps what
is shared: device, AMP, DDP, optimizers, EMA, checkpoints, resume, signals,
the NaN stop, logging, progress, grids and the evaluation cadence.

The factory is called as ``factory(setup, **params)`` with a `Setup`: the
run's settings and data, and the services that build models the way every
algorithm must (checked against their contract, on the device, DDP-wrapped,
compiled when asked). It returns an `Algorithm`. Everything the algorithm
keeps in ``modules`` and ``optimizers`` is saved and restored by the
trainer under those names; other state that a bit-exact resume needs (an
image pool, a second data stream) goes through `Algorithm.state` and
`Algorithm.load_state`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from ..base.errors import ComponentError
from ..base.specs import DataInfo
from ..components.device import adam, use_channels_last
from ..components.interfaces import Dataset, LossInputs
from ..components.losses import CompositeLoss
from ..config.settings import TrainSettings
from . import distributed as dist

if TYPE_CHECKING:  # pragma: no cover
    from ..config.runconfig import RunConfig
    from ..plugin.registry import Registry
    from .composition import Composition
    from .ema import KeptEMA

__all__ = ["Algorithm", "Setup", "Batch", "NextBatch", "Side", "FeedData", "update", "nothing_to_learn",
           "progress_hooks", "hyper"]

Side = Literal["g", "d"]
#: one real batch as the feeder gives it: (data, labels or None)
Batch = tuple[Tensor, "Tensor | None"]
NextBatch = Callable[[], Batch]


@dataclass(frozen=True)
class FeedData:
    """What the trainer's feeder holds and batches: one tensor per sample (uint8 images (N, C, H, W) or
    float points) and labels or None. A paired algorithm stacks input and target along channels."""

    x: Tensor
    labels: Tensor | None
    info: DataInfo


@dataclass
class Setup:
    """What the trainer hands an algorithm's factory (see the module doc)."""

    config: RunConfig
    composition: Composition
    registry: Registry
    dataset: Dataset
    info: DataInfo
    loss: CompositeLoss
    device: torch.device
    env: dist.DistEnv
    #: the noise stream of this rank (latent codes): part of every checkpoint
    noise: torch.Generator
    #: the EMAs made by `keep_ema`, which the trainer updates after every step and refreshes before use
    kept: list[KeptEMA] = field(default_factory=list)

    @property
    def settings(self) -> TrainSettings:
        """The run's typed ``[train]`` settings (``config.settings``)."""
        return self.config.settings

    @property
    def g_cond(self) -> bool:
        return self.composition.generator.conditional

    @property
    def d_cond(self) -> bool:
        return self.composition.discriminator.conditional

    def _place(self, model: nn.Module) -> nn.Module:
        model = model.to(self.device)
        if use_channels_last(self.config.settings.channels_last, self.device, self.info.is_image, model):
            model = model.to(memory_format=torch.channels_last)
        return model

    def generator(self, data: DataInfo | None = None, source: DataInfo | None = None) -> nn.Module:
        """The run's generator (``[gen]``) for ``data`` (default: the dataset's), held to its contract, on the
        device. Image-to-image generators are given the input's ``source`` info."""
        from ..components.build import build_generator

        cfg = self.config
        return self._place(build_generator(cfg.gen["name"], data or self.info, cfg.settings.latent_dim,
                                           cfg.params(cfg.gen), self.registry, source=source))

    def discriminator(self, data: DataInfo | None = None) -> nn.Module:
        """The run's discriminator (``[disc]``) for ``data`` (default: the dataset's), on the device."""
        from ..components.build import build_discriminator

        cfg = self.config
        return self._place(build_discriminator(cfg.disc["name"], data or self.info, cfg.params(cfg.disc),
                                               self.registry))

    def ema(self, G: nn.Module) -> nn.Module | None:
        """An exponential moving average of ``G`` (``train.ema_kimg`` or ``train.ema``), or None when it is off."""
        from .ema import enabled

        return copy.deepcopy(G).eval().requires_grad_(False) if enabled(self.config.settings) else None

    def keep_ema(self, G: nn.Module, conditional: bool | None = None) -> KeptEMA | None:
        """The run's EMA of ``G``, kept by the trainer, or None when the run keeps none (``train.ema_kimg``
        or ``train.ema`` off). For an algorithm registered with ``supports=("ema", ...)``.

        The trainer updates it after every `Algorithm.step` (`ema_beta`) and gives it standing BatchNorm
        statistics of its own before it is sampled, evaluated or saved (`ganzoo.training.ema.StandingStats`, drawn as
        `ganzoo.sampling.latent` draws, with labels when ``conditional``: default, the run's generator's).
        Keep ``.module`` in `Algorithm.modules` as "ema" (checkpoints, resume, `ganzoo sample`) and draw
        grids from it.
        """
        from . import ema as ema_mod

        module = self.ema(G)
        if module is None:
            return None
        t = self.config.settings
        cond = self.g_cond if conditional is None else conditional
        standing = ema_mod.StandingStats(module, latent_dim=t.latent_dim, batch_size=t.batch_size,
                                         num_classes=self.info.num_classes if cond else None, device=self.device,
                                         seed=t.seed, amp=t.amp)
        kept = ema_mod.KeptEMA(module, G, self.ema_beta, standing)
        self.kept.append(kept)
        return kept

    def ema_beta(self, step: int) -> float:
        """The decay of the EMA update at the end of training step ``step`` (1-based): `ganzoo.training.ema.step_beta`
        with this run's settings and its images per step over all processes (batch_size × world size)."""
        from .ema import step_beta

        return step_beta(self.config.settings, step, self.config.settings.batch_size * self.env.world_size)

    def optimizer(self, params: Iterable[nn.Parameter] | Iterable[dict[str, Any]], side: Side,
                  optim: type[torch.optim.Optimizer] | None = None, **options: Any) -> torch.optim.Optimizer:
        """An optimizer with the run's settings for ``side``: G's ``lr``/``betas``, D's ``lr_d``/``betas_d``
        (TTUR), corrected for a loss term that regularizes the side lazily (`hyper`).

        ``optim``: another ``torch.optim`` class than Adam, given ``lr`` and ``options`` (``momentum=0.9``; its
        betas too where it takes them). ``params`` may be torch's param groups, each with its own settings
        (``[{"params": trunk}, {"params": head, "lr": 1e-3}]``). The trainer saves every optimizer in
        `Algorithm.optimizers` and restores its state on resume, with each group's settings as built here
        from the run's config.
        """
        lr, betas = hyper(self.config, side, self.loss)
        if optim is None and not options:
            return adam(params, lr, betas)
        cls: Callable[..., torch.optim.Optimizer] = optim or torch.optim.Adam
        if "betas" in inspect.signature(cls).parameters:
            options.setdefault("betas", betas)
        return cls(params, lr=lr, **options)

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` as a training step calls it: DDP-wrapped under torchrun (gradients all-reduced)."""
        return dist.wrap(model, self.env, self.device)

    def compiled(self, model: Callable[..., Tensor]) -> Callable[..., Tensor]:
        """``model`` through torch.compile when ``train.compile`` is set."""
        return torch.compile(model) if self.config.settings.compile else model


def hyper(config: RunConfig, side: Side, loss: CompositeLoss | None = None) -> tuple[float, tuple[float, float]]:
    """(lr, betas) of one side: D's own when set (TTUR), else G's.

    With ``loss``: a side that one of its terms regularizes lazily every k steps (``r1`` with every=16,
    ``pl``) runs with lr·c and betas**c, c = k / (k + 1), as stylegan2-ada-pytorch's training_loop.py:202-205
    does, so that Adam's step and moment horizons per regularized update stay what the config says.
    """
    t = config.settings
    if side == "d":
        lr, betas = (t.lr_d if t.lr_d is not None else t.lr, t.betas_d if t.betas_d is not None else t.betas)
    else:
        lr, betas = t.lr, t.betas
    c = loss.adam_ratio(side) if loss is not None else 1.0
    if c != 1.0:
        lr, betas = lr * c, (betas[0] ** c, betas[1] ** c)
    return lr, betas


class Algorithm:
    """A training algorithm, built by its plugin's factory from a `Setup`.

    Subclasses fill ``modules`` (checkpoint section -> module: what is trained and kept, EMA included;
    "generator" is what `ganzoo sample` draws from, "ema" preferred when present) and ``optimizers``
    (checkpoint key -> optimizer made by `Setup.optimizer`), and implement `step` and `grid`.
    """

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    #: real batches one `step` reads (D steps per G step for the gan algorithm)
    batches_per_step: int = 1
    #: the scores of the adversarial loss are logits, so their sigmoids are logged as probabilities
    probabilities: bool = False

    def feed(self, dataset: Dataset) -> FeedData | None:
        """What the feeder batches; None: the dataset's own ``tensors()`` (or its stream)."""
        return None

    def step(self, next_batch: NextBatch, step: int, total: int) -> dict[str, Tensor]:  # pragma: no cover
        """One training step: read ``batches_per_step`` batches, update the models, return the scalars to
        log as 0-dim device tensors (``d_loss``, ``g_loss``, and ``d/TERM`` / ``g/TERM`` per loss term)."""
        raise NotImplementedError

    def refresh(self, step: int) -> None:
        """Called before the models are sampled, evaluated or saved (the EMA's standing statistics)."""

    def grid(self, path: Path, step: int) -> Path:  # pragma: no cover
        """Write the trainer's picture of progress (always from the same fixed inputs) to ``path``."""
        raise NotImplementedError

    def evaluate(self, num: int, device: torch.device, log: Callable[[str], None] | None) -> dict[str, Any]:
        """Score the models now (``train.eval_every``): numbers by metric name; {} when there is no score."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What `ganzoo sample` and `ganzoo eval` need to know of the models, recorded in the run's
        ``meta.algorithm`` (image-to-image algorithms: the ``source`` DataInfo their generators take, and
        each generator module's ``direction``)."""
        return {}

    def state(self) -> dict[str, Tensor]:
        """Tensors a bit-exact resume needs beyond modules, optimizers and the core's RNG (saved as ``algo.*``)."""
        return {}

    def load_state(self, tensors: dict[str, Tensor]) -> None:
        """Restore what `state` saved (empty for a checkpoint that has none)."""


def progress_hooks(algorithm: Algorithm, loss: CompositeLoss) -> list[Callable[[int, int], None]]:
    """Every ``on_progress(step, total)`` of the algorithm's modules (at any depth) and of the loss terms.

    Collected once, so a run whose components ask nothing pays nothing per step; the trainer calls each
    before every step (growth schedules such as ProGAN's, lazy regularization).
    """
    hooks: list[Callable[[int, int], None]] = []
    seen: set[int] = set()
    for module in algorithm.modules.values():
        for m in module.modules():
            hook = getattr(m, "on_progress", None)
            if callable(hook) and id(m) not in seen:
                seen.add(id(m))
                hooks.append(hook)
    for _, term in loss.terms:
        hook = getattr(term, "on_progress", None)
        if callable(hook):
            hooks.append(hook)
    return hooks


def update(opt: torch.optim.Optimizer, total: Tensor, side: str, inputs: LossInputs, blame: dict[str, str],
           loss_name: str) -> None:
    """One optimizer step on ``total``; a total that does not depend on the ``side``'s parameters is the
    one-line error of `nothing_to_learn` (every algorithm's updates go through here)."""
    if not total.requires_grad:
        raise nothing_to_learn(side, inputs, blame, loss_name)
    opt.zero_grad(set_to_none=True)
    total.backward()
    opt.step()


def nothing_to_learn(side: str, inputs: LossInputs, blame: dict[str, str], loss_name: str) -> ComponentError:
    """Blame the component that cut the graph: G's output, D's scores, or the loss (error path only).

    ``blame`` names the components as messages do (``Composition.specs``' ``who``).
    """
    g, d = blame.get("generator", "the generator"), blame.get("discriminator", "the discriminator")
    scores = [s for s in (inputs.d_fake, inputs.d_real if side == "discriminator" else None) if s is not None]
    if side == "generator" and not inputs.fake.requires_grad:
        return ComponentError(f"{g} gives the generator nothing to learn from: its output does not depend on its "
                              f"parameters", "does its forward detach, or run under torch.no_grad?")
    if side == "generator" and not inputs.d_fake.requires_grad:
        return ComponentError(f"{d} gives the generator nothing to learn from: its scores do not depend on its "
                              f"input", "does its forward detach x, or run under torch.no_grad?")
    if side == "discriminator" and not any(s.requires_grad for s in scores):
        return ComponentError(f"{d} cannot learn: its scores do not depend on its parameters",
                              "does its forward detach, or run under torch.no_grad?")
    return ComponentError(f"loss {loss_name!r} gives the {side} nothing to learn from: "
                          f"its {side} loss does not depend on the {side}'s output")
