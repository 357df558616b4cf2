"""StyleGAN2 (Karras et al. 2020): style-based generator and residual discriminator.

Registration only: torch is imported from `models` when one is built.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.generator("stylegan2", "ganzoo_plugins.stylegan2.models:StyleGAN2Generator",
                       sampling=("truncation_psi",))
    register.discriminator("stylegan2", "ganzoo_plugins.stylegan2.models:StyleGAN2Discriminator")
