"""Class-conditional GANs: cGAN (Mirza & Osindero 2014) and a conditional DCGAN.

Registration only: torch is imported from `models` when one is built.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar

_MODELS = "ganzoo_plugins.conditional.models"


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.generator("cgan", f"{_MODELS}:CGANGenerator", conditional=True)
    register.discriminator("cgan", f"{_MODELS}:CGANDiscriminator", conditional=True)
    register.generator("cdcgan", f"{_MODELS}:CDCGANGenerator", conditional=True)
    register.discriminator("cdcgan", f"{_MODELS}:CDCGANDiscriminator", conditional=True)
