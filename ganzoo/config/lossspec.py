"""The loss-spec grammar: ``bce``, ``bce+l1``, ``bce + 0.5*l1 + 0.1*l2``, ``hinge+10*r1``.

    spec   := term ("+" term)*
    term   := [weight "*"] name
    weight := a positive ASCII decimal number (``0.5``, ``10``, ``1e-3``)
    name   := lowercase-with-dashes (`ganzoo.specs.NAME_RE`)

`LossSpec.parse` is the one parser: config merging, the run's lookup, the
loss's build and ``ganzoo info`` all read its `LossSpec`, which knows no
registry. `resolve_terms` then finds each name in the registry (once per run,
in `ganzoo.training.composition.lookup`) and `check_roles` holds the rule that exactly
one term is adversarial (the role a plugin gives a loss when it registers
it); the others are regularizers. Torch-free.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..base.errors import UsageError
from ..base.specs import NAME_RE, ComponentSpec

__all__ = ["LossSpec", "LossSpecError", "Term", "resolve_terms", "check_roles", "term_params", "parse_loss_spec",
           "format_terms"]

# Python's float() also takes "1_0", "٠.٥", "inf" and "nan"; a weight is plain ASCII decimal.
_WEIGHT = re.compile(r"([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


class LossSpecError(UsageError):
    """A loss spec that does not parse. ``composed``: the text had a '+' or a weight, so it was
    meant as a spec (``ganzoo info`` reports a plain unknown name otherwise)."""

    def __init__(self, message: str, hint: str | None = None, *, composed: bool = True):
        super().__init__(message, hint)
        self.composed = composed


@dataclass(frozen=True)
class LossSpec:
    """A parsed loss spec: ``(weight, name)`` terms in the order written, and the text as given."""

    text: str
    terms: tuple[tuple[float, str], ...]

    @classmethod
    def parse(cls, text: str) -> LossSpec:
        if not isinstance(text, str) or not text.strip():
            raise LossSpecError("empty loss spec", "try --loss bce, or bce+l1", composed=False)
        parts = text.split("+")
        composed = len(parts) > 1 or "*" in text
        terms: list[tuple[float, str]] = []
        for raw in parts:
            part = raw.strip()
            if not part:
                raise LossSpecError(f"malformed loss spec {text!r}: empty term", "terms are joined by single '+'")
            weight, name = 1.0, part
            if "*" in part:
                w, _, name = (s.strip() for s in part.partition("*"))
                if not _WEIGHT.fullmatch(w):
                    raise LossSpecError(f"malformed weight {w!r} in loss spec {text!r}",
                                        "a weight is a positive decimal number before '*', as in 0.5*l1")
                weight = float(w)
                if not math.isfinite(weight) or weight <= 0:
                    raise LossSpecError(f"weight {w!r} in loss spec {text!r} must be a positive finite number")
            if not NAME_RE.match(name):
                lower = name.lower()
                hint = f"names are lowercase: did you mean {lower}?" if NAME_RE.match(lower) else \
                    "terms look like bce, l1 or 0.5*l1"
                raise LossSpecError(f"malformed term {name!r} in loss spec {text!r}", hint, composed=composed)
            terms.append((weight, name))
        return cls(text, tuple(terms))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.terms)

    @property
    def composed(self) -> bool:
        """More than a bare name (``info`` shows a composed spec, not one component)."""
        return len(self.terms) > 1 or self.terms[0][0] != 1.0

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Term:
    """One term of a spec, resolved: its weight and the registered loss."""

    weight: float
    spec: ComponentSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def __str__(self) -> str:
        return self.name if self.weight == 1.0 else f"{self.weight:g}*{self.name}"


class LossRegistry(Protocol):
    def get(self, kind: str, name: str) -> ComponentSpec: ...
    def components(self, kind: str | None = None) -> list[ComponentSpec]: ...


def resolve_terms(spec: LossSpec, registry: LossRegistry, *, adversarial_optional: bool = False) -> tuple[Term, ...]:
    """Each term's registered loss (an alias resolves to its name), then the role rule.

    ``adversarial_optional``: the algorithm trains without one too (pix2pix's L1-only ablation).
    """
    terms: list[Term] = []
    for weight, name in spec.terms:
        found = registry.get("loss", name)
        if any(t.spec.name == found.name for t in terms):
            raise UsageError(f"loss term {name!r} appears twice in {spec.text!r}", "give it one weight instead")
        terms.append(Term(weight, found))
    check_roles(terms, spec, registry, adversarial_optional=adversarial_optional)
    return tuple(terms)


def check_roles(terms: Sequence[Term], spec: LossSpec, registry: LossRegistry, *,
                adversarial_optional: bool = False) -> None:
    """Exactly one adversarial term (at most one with ``adversarial_optional``); the rest are regularizers."""
    adversarial = [t.name for t in terms if t.spec.role == "adversarial"]
    if not adversarial and not adversarial_optional:
        choices = ", ".join(s.name for s in registry.components("loss") if s.role == "adversarial")
        raise UsageError(f"loss spec {spec.text!r} has no adversarial term", f"add one of: {choices}")
    if len(adversarial) > 1:
        raise UsageError(f"loss spec {spec.text!r} has two adversarial terms ({' and '.join(adversarial)})",
                         "keep one; the others can only be regularizers")


def term_params(terms: Sequence[Term], params: Mapping[str, object], text: str) -> dict[str, dict[str, object]]:
    """``loss.TERM.PARAM`` tables by term; a table that names no term of the spec is a UsageError."""
    names = {t.name for t in terms}
    tables: dict[str, Mapping[str, object]] = {}
    for key, value in params.items():
        if key not in names or not isinstance(value, Mapping):
            raise UsageError(f"loss parameters {key!r} do not match a term of {text!r}",
                             "set a term's parameter as loss.TERM.PARAM=VALUE")
        tables[key] = value
    return {t.name: dict(tables.get(t.name, {})) for t in terms}


def parse_loss_spec(text: str, registry: LossRegistry) -> tuple[Term, ...]:
    """Parse and resolve in one call (the conformance suite's check of a recipe, and scripts)."""
    return resolve_terms(LossSpec.parse(text), registry)


def format_terms(terms: Sequence[Term]) -> str:
    return "+".join(str(t) for t in terms)
