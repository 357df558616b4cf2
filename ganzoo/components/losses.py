"""A parsed loss spec turned into one callable object for the trainer."""

from __future__ import annotations

from typing import TypedDict

import torch
from torch import Tensor

from ..base.errors import EXIT_HINT, PLUGIN_FAULTS, ComponentError, GanzooError, UsageError, describe
from ..config.lossspec import Term
from .interfaces import LossInputs, LossTerm, forward


class TermSummary(TypedDict):
    """One term of a `CompositeLoss`, as `CompositeLoss.summary` lists it."""

    name: str
    weight: float
    role: str | None


class CompositeLoss:
    """Weighted sum of loss terms, split into the discriminator's and the generator's side."""

    def __init__(self, terms: list[tuple[Term, LossTerm]]):
        self.terms = terms
        self.n_critic = max((int(t.n_critic) for _, t in terms), default=1)
        self.needs_real_scores_for_g = any(t.needs_real_scores_for_g for _, t in terms)
        adversarial = [t for term, t in terms if term.spec.role == "adversarial"]
        #: D's scores are logits, so sigmoid(score) is D's probability that a sample is real (bce, minimax)
        self.scores_are_logits = bool(adversarial) and all(t.scores_are_logits for t in adversarial)
        #: the lazy-regularization interval of each side that has a lazy term ("g"/"d" -> every)
        self.lazy = _lazy_intervals(terms)

    def _side(self, side: str, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        total: Tensor | None = None
        parts: dict[str, Tensor] = {}
        for term, impl in self.terms:
            try:  # free when nothing is raised: the hot loop pays nothing for one-line errors
                value = impl.d_loss(inputs) if side == "d_loss" else impl.g_loss(inputs)
            except GanzooError:
                raise
            except torch.OutOfMemoryError:
                raise
            except PLUGIN_FAULTS as exc:  # sys.exit() in a term too: its failure, not the process's end
                raise self._failed(term, impl, side, inputs, exc) from exc
            if value is None:
                continue
            if not isinstance(value, Tensor) or value.dim() != 0:
                raise ComponentError(
                    f"{term.spec.who}: {side} must return a scalar tensor or None, "
                    f"got {type(value).__name__}{tuple(getattr(value, 'shape', ()))}"
                )
            parts[term.name] = value.detach()
            weighted = value * term.weight if term.weight != 1.0 else value
            total = weighted if total is None else total + weighted
        if total is None:
            total = torch.zeros((), device=inputs.fake.device)
        return total, parts

    def _failed(self, term: Term, impl: LossTerm, side: str, inputs: LossInputs,
                exc: BaseException) -> ComponentError:
        """The one-line error for a term that raised; says so when the term read d_real without asking for it."""
        hint = EXIT_HINT if isinstance(exc, SystemExit) else None
        if side == "g_loss" and inputs.d_real is None and _works_with_real_scores(impl, inputs):
            hint = "its g_loss reads d_real: set needs_real_scores_for_g = True on the term"
        return ComponentError(f"{term.spec.who} failed in {side}: {describe(exc)}", hint)

    def d_loss(self, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        return self._side("d_loss", inputs)

    def g_loss(self, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        return self._side("g_loss", inputs)

    def summary(self) -> list[TermSummary]:
        return [{"name": t.name, "weight": t.weight, "role": t.spec.role} for t, _ in self.terms]

    def adam_ratio(self, side: str) -> float:
        """c = every / (every + 1) for a side with a lazy term (its Adam runs with lr·c and betas**c, as
        stylegan2-ada-pytorch's training_loop.py:202-205); 1 for a side regularized every step."""
        every = self.lazy.get(side)
        return every / (every + 1) if every else 1.0

    def state(self) -> dict[str, Tensor]:
        """Every term's `LossTerm.state`, keyed ``TERM.KEY`` (a checkpoint's ``loss.*`` section)."""
        out: dict[str, Tensor] = {}
        for term, impl in self.terms:
            for key, value in impl.state().items():
                out[f"{term.name}.{key}"] = value
        return out

    def load_state(self, tensors: dict[str, Tensor]) -> None:
        """Give each term its part of ``tensors`` (`state`'s keys); a term with no part starts fresh (a
        checkpoint written before it kept state), a part for a term not in this spec is ignored."""
        for term, impl in self.terms:
            prefix = term.name + "."
            mine = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            if mine:
                impl.load_state(mine)


def _lazy_intervals(terms: list[tuple[Term, LossTerm]]) -> dict[str, int]:
    """Each side's lazy interval; two lazy terms on one side must agree (the side has one Adam)."""
    found: dict[str, tuple[str, int]] = {}
    for term, impl in terms:
        lazy = impl.lazy
        if lazy is None:
            continue
        side, every = lazy
        if side not in ("g", "d") or isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ComponentError(f"{term.spec.who}: lazy must be ('g' or 'd', a positive int), got {lazy!r}")
        if every == 1:
            continue
        other = found.get(side)
        if other is not None and other[1] != every:
            raise UsageError(f"loss terms {other[0]!r} and {term.name!r} regularize the same side lazily every "
                             f"{other[1]} and every {every} steps",
                             "give them one interval: that side's Adam is corrected for one")
        found[side] = (term.name, every)
    return {side: every for side, (_, every) in found.items()}


def _works_with_real_scores(impl: LossTerm, inputs: LossInputs) -> bool:
    """Whether the generator side succeeds once it is given D's scores on the real batch (error path only)."""
    from dataclasses import replace

    try:
        with torch.no_grad():
            d = inputs.discriminator
            d_real = forward(d, inputs.real, inputs.labels).reshape(-1)
            impl.g_loss(replace(inputs, d_real=d_real))
    except PLUGIN_FAULTS:
        return False
    return True
