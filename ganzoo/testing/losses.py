"""Conformance checks for loss terms."""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from ..base.errors import PLUGIN_FAULTS, GanzooError
from ..base.specs import ComponentSpec, DataInfo
from ..components.interfaces import LossInputs, LossTerm
from ._common import MNIST, NUM_CLASSES, POINTS, Report, error_text, fail, lookup, new_report

if TYPE_CHECKING:  # pragma: no cover
    from ..plugin.registry import Registry

#: the data a loss term is tried on unless told otherwise: points and 28 px images
LOSS_DATA: tuple[DataInfo, ...] = (POINTS, MNIST)


class ToyDiscriminator(nn.Module):
    """A small MLP critic whose labels are optional, as a conditional discriminator's are; with features."""

    def __init__(self, data: DataInfo, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(data.numel, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
        self.embed = nn.Embedding(num_classes, 1)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.body[:-1](x)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        score = self.body(x).view(-1)
        return score if labels is None else score + self.embed(labels).view(-1)


class ToyGenerator(nn.Module):
    """Stands in for LossInputs.generator: weights to read (ortho), and a mapping (z, 4-d) to w (8-d) and a
    synthesis from w, for terms that run G again on ``LossInputs.z`` (``forward_with_w``: pl)."""

    latent_dim = 4

    def __init__(self, data: DataInfo):
        super().__init__()
        self.shape = data.shape
        self.mapping = nn.Sequential(nn.Linear(self.latent_dim, 8), nn.ReLU())
        self.synthesis = nn.Linear(8, data.numel)

    def forward_with_w(self, z: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        w = self.mapping(z)
        return torch.tanh(self.synthesis(w)).view(-1, *self.shape), w

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.forward_with_w(z, labels)[0]


def _toy_generator(data: DataInfo) -> nn.Module:
    return ToyGenerator(data)


def _instantiate(spec: ComponentSpec, params: Mapping[str, object]) -> LossTerm:
    """The term the factory builds, a `LossTerm` whose declared traits hold values a run can use."""
    try:
        factory = spec.load_factory()
    except PLUGIN_FAULTS as exc:
        raise fail(spec, f"cannot import its factory {spec.target}: {error_text(exc)}") from exc
    try:
        term = factory(**params)
    except PLUGIN_FAULTS as exc:
        raise fail(spec, f"its factory raised {error_text(exc)} for parameters {params}") from exc
    if not isinstance(term, LossTerm):  # as ganzoo.components.build refuses it
        raise fail(spec, f"its factory returned {type(term).__name__}, which is not a loss term "
                   f"(subclass ganzoo.interfaces.LossTerm)")
    n_critic = term.n_critic
    if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
        raise fail(spec, f"n_critic must be a positive int, got {n_critic!r}")
    if not isinstance(term.needs_real_scores_for_g, bool):
        raise fail(spec, "needs_real_scores_for_g must be True or False")
    modalities = term.modalities
    if (not isinstance(modalities, tuple) or not modalities
            or any(m not in ("image", "points") for m in modalities)):
        raise fail(spec, f"modalities must be a non-empty tuple of 'image' and 'points', got {modalities!r}")
    flags = {"scores_are_logits": term.scores_are_logits, "pairs_by_index": term.pairs_by_index,
             "penalizes_input_gradients": term.penalizes_input_gradients}
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise fail(spec, f"{flag} must be True or False")
    if spec.role not in ("adversarial", "regularizer"):
        raise fail(spec, f"role must be 'adversarial' or 'regularizer', got {spec.role!r}")
    return term


def _side(spec: ComponentSpec, term: LossTerm, side: str, inputs: LossInputs, data: DataInfo) -> Tensor | None:
    try:
        value = term.d_loss(inputs) if side == "d_loss" else term.g_loss(inputs)
    except GanzooError:
        raise
    except PLUGIN_FAULTS as exc:
        hint = ""
        if side == "g_loss" and inputs.d_real is None and _works_with_real_scores(term, inputs):
            hint = " (it reads d_real: a g_loss that does must set needs_real_scores_for_g = True)"
        raise fail(spec, f"{side} raised {error_text(exc)}{hint}", data) from exc
    if value is None:
        return None
    if not isinstance(value, Tensor) or value.dim() != 0:
        shape = tuple(getattr(value, "shape", ()))
        raise fail(spec, f"{side} must return a scalar tensor or None, got {type(value).__name__}{shape}", data)
    if not torch.isfinite(value):
        raise fail(spec, f"{side} returned {value.item()}", data)
    return value


def _works_with_real_scores(term: LossTerm, inputs: LossInputs) -> bool:
    disc = inputs.discriminator
    try:
        with torch.no_grad():
            term.g_loss(replace(inputs, d_real=disc(inputs.real, inputs.labels)))
    except PLUGIN_FAULTS:
        return False
    return True


def _sample(data: DataInfo, n: int, seed: int, device: str | torch.device) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, *data.shape, generator=g) * 2 - 1 if data.is_image else torch.randn(n, *data.shape, generator=g)
    return x.to(device)


def check_loss(name: str, data_infos: Iterable[DataInfo] = LOSS_DATA, *, params: Mapping[str, object] | None = None,
               batch_size: int = 8, device: str | torch.device = "cpu", seed: int = 0,
               registry: Registry | None = None) -> Report:
    """Check a registered loss term against ganzoo's contract.

    The term is built from the registry with ``params`` and must have
    ``d_loss``/``g_loss``, a positive integer ``n_critic`` and a boolean
    ``needs_real_scores_for_g``. On each data shape (default: points and 28 px
    images) whose modality the term declares in ``modalities`` (the others are
    reported unsupported), with and without class labels, it is given the inputs a trainer
    gives it (a small critic's scores; ``d_real`` in the generator step only
    when it asks for them) and each side must return a finite scalar or None;
    an adversarial term must act on both sides, a regularizer on at least one,
    and a side that returns a value on one modality must not return None on
    another (declare ``modalities`` instead).
    ``d_loss`` must reach the discriminator's parameters and ``g_loss`` the
    fake samples or the generator's weights (``LossInputs.generator``, a
    small MLP here, with ``forward_with_w`` on ``LossInputs.z``), so the generator gets a gradient. Both
    sides are tried at step 0, where a lazy regularizer acts. The critic has
    ``features(x, labels=None)`` (its hidden layer), for terms that read it. Raises ``ConformanceError``.
    """
    spec = lookup("loss", name, registry)
    report = new_report(spec)
    term = _instantiate(spec, dict(params or {}))
    needs_real, modalities = term.needs_real_scores_for_g, term.modalities
    acted = {"d_loss": False, "g_loss": False}
    acted_on: dict[str, list[str]] = {"d_loss": [], "g_loss": []}  # the data each side returned a value on
    tried: list[DataInfo] = []
    for data in data_infos:
        if data.modality not in modalities:
            report.unsupported[data.shape] = f"the term declares modalities {modalities!r}"
            continue
        tried.append(data)
        for labelled in (False, True):
            torch.manual_seed(seed)
            disc = ToyDiscriminator(data).to(device)
            gen = _toy_generator(data).to(device)
            real = _sample(data, batch_size, seed, device)
            fake0 = _sample(data, batch_size, seed + 1, device)
            labels = torch.arange(batch_size, device=real.device) % NUM_CLASSES if labelled else None
            z = torch.randn(batch_size, ToyGenerator.latent_dim, generator=torch.Generator().manual_seed(seed + 2))
            z = z.to(device)

            fake = fake0.detach()
            inputs = LossInputs(real, fake, disc(fake, labels), disc(real, labels), labels, disc, step=0,
                                generator=gen, z=z, g_labels=labels)
            value = _side(spec, term, "d_loss", inputs, data)
            if value is not None:
                acted["d_loss"] = True
                acted_on["d_loss"].append(data.modality)
                if value.requires_grad:
                    value.backward()
                if not any(p.grad is not None and p.grad.abs().sum() > 0 for p in disc.parameters()):
                    raise fail(spec, "d_loss gives the discriminator's parameters no gradient", data)

            disc.zero_grad(set_to_none=True)
            fake = fake0.clone().requires_grad_(True)
            d_real = disc(real, labels) if needs_real else None
            # a term that compares pairs an algorithm makes (cycle, identity) gets (fake, real) under each name
            pairs = {name: (fake, real) for name in term.reads_pairs}
            # step 0: a lazy regularizer (r1, pl: every k steps, from 0) acts on it, so both sides are tried
            inputs = LossInputs(real, fake, disc(fake, labels), d_real, labels, disc, step=0, generator=gen,
                                pairs=pairs, z=z, g_labels=labels)
            value = _side(spec, term, "g_loss", inputs, data)
            if value is not None:
                acted["g_loss"] = True
                acted_on["g_loss"].append(data.modality)
                if value.requires_grad:
                    value.backward()
                reaches_g = any(p.grad is not None and p.grad.abs().sum() > 0 for p in gen.parameters())
                if (fake.grad is None or not fake.grad.abs().sum() > 0) and not reaches_g:
                    raise fail(spec, "g_loss does not depend on the fake samples (nor on the generator's "
                               "weights), so it cannot train a generator", data)
        report.supported.append(data.shape)
    if not tried:
        raise fail(spec, f"declares modalities {modalities!r}, and none of the data it was checked on "
                   f"({', '.join(sorted({d.modality for d in data_infos}))}) is of them")
    for side, where in acted_on.items():
        silent = sorted({d.modality for d in tried} - set(where))
        if where and silent:  # a value on some data, None on others: a term that silently does nothing there
            raise fail(spec, f"{side} returns a value on {where[0]} data but None on {silent[0]} data; "
                       f"declare modalities = {tuple(sorted(set(where)))!r} if it only works on those")
    report.passed("finite scalars or None")
    report.passed("gradients")
    if spec.role == "adversarial" and not all(acted.values()):
        missing = " and ".join(s for s, v in acted.items() if not v)
        raise fail(spec, f"is registered as adversarial but its {missing} returned None: an adversarial term "
                   f"trains both players (register it with role='regularizer' if it is a penalty)")
    if not any(acted.values()):
        raise fail(spec, "returns None on both sides, so it does nothing")
    report.passed(f"acts on {' and '.join(s for s, v in acted.items() if v)}")
    return report
