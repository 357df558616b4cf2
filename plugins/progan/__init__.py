"""ProGAN (Karras et al. 2018): progressive growing of the generator and discriminator.

Registration only: torch is imported from `models` when one is built.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.generator("progan", "ganzoo_plugins.progan.models:ProGANGenerator")
    register.discriminator("progan", "ganzoo_plugins.progan.models:ProGANDiscriminator")
