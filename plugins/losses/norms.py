"""Registers the sample-matching regularizers: l1, l2."""

from __future__ import annotations

from ganzoo import hookimpl

_TERMS = "ganzoo_plugins.losses.norm_terms"


@hookimpl
def ganzoo_register_components(register):
    register.loss("l1", f"{_TERMS}:L1Loss", role="regularizer")
    register.loss("l2", f"{_TERMS}:L2Loss", role="regularizer")
