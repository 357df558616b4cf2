"""The loss-spec grammar: ``bce``, ``bce+l1``, ``bce + 0.5*l1 + 0.1*l2``, ``hinge+10*r1``.

    spec   := term ("+" term)*
    term   := [weight "*"] name
    weight := a positive decimal number (``0.5``, ``10``, ``1e-3``)

Exactly one term must be adversarial (the role a plugin gives it when it
registers the loss); the others are regularizers. Parsing only reads the
registry's metadata, so it never imports torch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import UsageError
from .registry import Registry
from .specs import ComponentSpec

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Term:
    weight: float
    spec: ComponentSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def __str__(self) -> str:
        return self.name if self.weight == 1.0 else f"{self.weight:g}*{self.name}"


def parse_loss_spec(text: str, registry: Registry) -> list[Term]:
    if not isinstance(text, str) or not text.strip():
        raise UsageError("empty loss spec", "try --loss bce, or bce+l1")
    terms: list[Term] = []
    for raw in text.split("+"):
        part = raw.strip()
        if not part:
            raise UsageError(f"malformed loss spec {text!r}: empty term", "terms are joined by single '+'")
        weight = 1.0
        if "*" in part:
            w, _, name = part.partition("*")
            w, name = w.strip(), name.strip()
            try:
                weight = float(w)
            except ValueError:
                raise UsageError(f"malformed weight {w!r} in loss spec {text!r}",
                                 "a weight is a number before '*', as in 0.5*l1") from None
            if not math.isfinite(weight) or weight <= 0:
                raise UsageError(f"weight {w!r} in loss spec {text!r} must be a positive number")
        else:
            name = part
        if not _NAME.match(name):
            raise UsageError(f"malformed term {name!r} in loss spec {text!r}", "terms look like bce, l1 or 0.5*l1")
        spec = registry.get("loss", name)
        if any(t.spec.name == spec.name for t in terms):
            raise UsageError(f"loss term {name!r} appears twice in {text!r}", "give it one weight instead")
        terms.append(Term(weight, spec))
    adversarial = [t.name for t in terms if t.spec.role == "adversarial"]
    if not adversarial:
        choices = ", ".join(s.name for s in registry.components("loss") if s.role == "adversarial")
        raise UsageError(f"loss spec {text!r} has no adversarial term", f"add one of: {choices}")
    if len(adversarial) > 1:
        raise UsageError(f"loss spec {text!r} has two adversarial terms ({' and '.join(adversarial)})",
                         "keep one; the others can only be regularizers")
    return terms


def format_terms(terms: list[Term]) -> str:
    return "+".join(str(t) for t in terms)
