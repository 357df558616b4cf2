"""BigGAN (Brock et al. 2019), scaled down: class-conditional generator and projection discriminator.

Registration only: torch is imported from `models` when one is built.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    # --truncation is BigGAN's truncation trick: z from a normal truncated at the threshold (section 3.1)
    register.generator("biggan", "ganzoo_plugins.biggan.models:BigGANGenerator", conditional=True,
                       sampling=("truncation_threshold",))
    register.discriminator("biggan", "ganzoo_plugins.biggan.models:BigGANDiscriminator", conditional=True)
