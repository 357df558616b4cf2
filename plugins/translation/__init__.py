"""Image-to-image translation (pix2pix, Isola et al. 2017; CycleGAN, Zhu et al. 2017): datasets and networks.

Registration only: nothing here imports torch; each factory is a lazy
"module:Class" string. The datasets are ordinary ganzoo datasets (their
``tensors()`` are the target images) that also hand out pairs or domains.

The networks in `models` map images to images and take no latent code:
`unet` and `resnet-translator` are registered as image-to-image generators
(``takes="image"``), `patchgan` as a discriminator that scores patches. The
`pix2pix` and `cyclegan` algorithms train them; `cycle` and `identity` are
CycleGAN's loss terms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganzoo import hookimpl

if TYPE_CHECKING:
    from ganzoo.registry import ComponentRegistrar

_HERE = __name__

DATASETS = {
    "mnist-edges": ("data:MNISTEdges", "paired"),
    "mnist-strokes": ("data:MNISTStrokes", "unpaired"),
    "paired-folder": ("data:PairedFolder", "paired"),
    "unpaired-folder": ("data:UnpairedFolder", "unpaired"),
}


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    for name, (target, pairing) in DATASETS.items():
        register.dataset(name, f"{_HERE}.{target}", pairing=pairing)
    register.generator("unet", f"{_HERE}.components:unet", takes="image")
    register.generator("resnet-translator", f"{_HERE}.components:resnet_translator", takes="image")
    register.discriminator("patchgan", f"{_HERE}.components:patchgan", scores="patch")
    register.algorithm("pix2pix", f"{_HERE}.algorithms:Pix2Pix", takes="image", pairing="paired",
                       scores=("sample", "patch"), adversarial_optional=True,
                       supports=("ema", "amp", "compile", "ddp"), trained=f"{_HERE}.trained:Translator")
    register.algorithm("cyclegan", f"{_HERE}.algorithms:CycleGAN", takes="image", pairing="unpaired",
                       scores=("sample", "patch"), supports=("amp", "compile", "ddp"),  # no EMA of its generators
                       trained=f"{_HERE}.trained:Translator")
    register.loss("cycle", f"{_HERE}.losses:Cycle", role="regularizer")
    register.loss("identity", f"{_HERE}.losses:Identity", role="regularizer")
