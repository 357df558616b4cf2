"""A parsed loss spec turned into one callable object for the trainer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .errors import ComponentError
from .interfaces import LossInputs, LossTerm
from .lossspec import Term


class CompositeLoss:
    """Weighted sum of loss terms, split into the discriminator's and the generator's side."""

    def __init__(self, terms: list[tuple[Term, LossTerm]]):
        self.terms = terms
        self.n_critic = max((int(getattr(t, "n_critic", 1)) for _, t in terms), default=1)
        self.needs_real_scores_for_g = any(getattr(t, "needs_real_scores_for_g", False) for _, t in terms)

    def _side(self, side: str, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        total: Tensor | None = None
        parts: dict[str, Tensor] = {}
        for term, impl in self.terms:
            value = getattr(impl, side)(inputs)
            if value is None:
                continue
            if not isinstance(value, Tensor) or value.dim() != 0:
                raise ComponentError(
                    f"loss {term.name!r} from plugin {term.spec.plugin.name!r}: {side} must return a scalar "
                    f"tensor or None, got {type(value).__name__}{tuple(getattr(value, 'shape', ()))}"
                )
            parts[term.name] = value.detach()
            weighted = value * term.weight if term.weight != 1.0 else value
            total = weighted if total is None else total + weighted
        if total is None:
            total = torch.zeros((), device=inputs.fake.device)
        return total, parts

    def d_loss(self, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        return self._side("d_loss", inputs)

    def g_loss(self, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        return self._side("g_loss", inputs)

    def describe(self) -> list[dict[str, Any]]:
        return [{"name": t.name, "weight": t.weight, "role": t.spec.role} for t, _ in self.terms]
