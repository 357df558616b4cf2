"""The vanilla GAN (Goodfellow et al. 2014): an MLP generator and discriminator.

Registration only: torch is imported from `models` when one is built.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.generator("vanilla", "ganzoo_plugins.vanilla.models:VanillaGenerator")
    register.discriminator("vanilla", "ganzoo_plugins.vanilla.models:VanillaDiscriminator")
