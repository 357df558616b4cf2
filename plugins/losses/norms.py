"""Registers the matching regularizers: l1, l2, feature-matching."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar

_TERMS = "ganzoo_plugins.losses.norm_terms"


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.loss("l1", f"{_TERMS}:L1Loss", role="regularizer")
    register.loss("l2", f"{_TERMS}:L2Loss", role="regularizer")
    register.loss("feature-matching", f"{_TERMS}:FeatureMatching", role="regularizer")
