"""Registers the adversarial loss terms: bce, minimax, lsgan, hinge, wgan-gp."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar

_TERMS = "ganzoo_plugins.losses.adversarial_terms"


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.loss("bce", f"{_TERMS}:BCELoss", role="adversarial")
    register.loss("minimax", f"{_TERMS}:MinimaxLoss", role="adversarial")
    register.loss("lsgan", f"{_TERMS}:LSGANLoss", role="adversarial")
    register.loss("hinge", f"{_TERMS}:HingeLoss", role="adversarial")
    register.loss("wgan-gp", f"{_TERMS}:WGANGPLoss", role="adversarial")
