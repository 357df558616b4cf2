"""Registers the discriminator gradient penalties: r1."""

from __future__ import annotations

from ganzoo import hookimpl

_TERMS = "ganzoo_plugins.losses.penalty_terms"


@hookimpl
def ganzoo_register_components(register):
    register.loss("r1", f"{_TERMS}:R1Penalty", role="regularizer")
