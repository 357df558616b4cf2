"""Registers the penalties: r1 and drift on the discriminator, ortho and pl on the generator."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar

_TERMS = "ganzoo_plugins.losses.penalty_terms"


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.loss("r1", f"{_TERMS}:R1Penalty", role="regularizer")
    register.loss("drift", f"{_TERMS}:DriftPenalty", role="regularizer")
    register.loss("ortho", f"{_TERMS}:OrthogonalRegularization", role="regularizer")
    register.loss("pl", f"{_TERMS}:PathLengthPenalty", role="regularizer")
