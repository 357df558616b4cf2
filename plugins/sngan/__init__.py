"""SNGAN (Miyato et al. 2018): the ResNet generator and spectrally normalized ResNet discriminator.

Registration only: torch is imported from `models` when one is built.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.generator("resnet", "ganzoo_plugins.sngan.models:ResNetGenerator")
    register.discriminator("resnet", "ganzoo_plugins.sngan.models:ResNetDiscriminator")
