"""ProGAN (Karras et al. 2018): progressive growing of the generator and discriminator, and the `progan`
training algorithm (the gan step with the reals faded and Adam reset as the networks grow).

Registration only: torch is imported from `models` when one is built.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.generator("progan", "ganzoo_plugins.progan.models:ProGANGenerator")
    register.discriminator("progan", "ganzoo_plugins.progan.models:ProGANDiscriminator")
    # The progan algorithm follows the growth of the progan models, so it names them (checked before torch).
    # The models only prefer it: under gan they train too (D then fades its own inputs), so they name none.
    register.algorithm("progan", "ganzoo_plugins.progan.algorithm:ProGAN", takes="noise", pairing=None,
                       scores=("sample",), supports=("ema", "amp", "compile", "ddp"), generators=("progan",),
                       discriminators=("progan",))
