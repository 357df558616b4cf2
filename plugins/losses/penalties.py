"""Registers the discriminator gradient penalties: r1."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar

_TERMS = "ganzoo_plugins.losses.penalty_terms"


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.loss("r1", f"{_TERMS}:R1Penalty", role="regularizer")
