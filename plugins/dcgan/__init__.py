"""DCGAN (Radford et al. 2016): all-convolutional generator and discriminator.

Registration only: torch is imported from `models` when one is built.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.generator("dcgan", "ganzoo_plugins.dcgan.models:DCGANGenerator")
    register.discriminator("dcgan", "ganzoo_plugins.dcgan.models:DCGANDiscriminator")
