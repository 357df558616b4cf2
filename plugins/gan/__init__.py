"""The `gan` training algorithm: noise in, one generator, one discriminator (Goodfellow et al. 2014).

Registration only (torch-free): the step itself is `ganzoo_plugins.gan.algorithm`; its runs are read back
by the core's reader of generators that draw from noise, `ganzoo.trained.NoiseGenerator`. It is the default
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
                       trained="ganzoo.trained:NoiseGenerator")
