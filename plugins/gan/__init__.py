"""The `gan` training algorithm: noise in, one generator, one discriminator (Goodfellow et al. 2014).

Registration only (torch-free): the step itself is `ganzoo_plugins.gan.algorithm`, and what sampling,
evaluation and export do with its runs is `ganzoo_plugins.gan.trained`. It is the default
algorithm, the one every run whose config names none trains with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganzoo import hookimpl

if TYPE_CHECKING:
    from ganzoo.registry import ComponentRegistrar


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.algorithm("gan", f"{__name__}.algorithm:GAN", takes="noise", pairing=None, scores=("sample",),
                       default=True, supports=("ema", "amp", "compile", "ddp"),
                       trained=f"{__name__}.trained:NoiseGenerator")
