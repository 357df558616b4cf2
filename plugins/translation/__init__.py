"""Image-to-image translation (pix2pix, Isola et al. 2017; CycleGAN, Zhu et al. 2017): datasets and networks.

Registration only: nothing here imports torch; each factory is a lazy
"module:Class" string. The datasets are ordinary ganzoo datasets (their
``tensors()`` are the target images) that also hand out pairs or domains.

The networks in `models` (the `unet` and `resnet` translators, the `patchgan`
discriminator) map images to images and take no latent code, so they are not
registered as generators or discriminators, which the trainer feeds noise; they
wait for a component kind of their own (see ``NETWORKS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganzoo import hookimpl

if TYPE_CHECKING:
    from ganzoo.registry import ComponentRegistrar

_HERE = __name__

DATASETS = {
    "mnist-edges": "data:MNISTEdges",
    "mnist-strokes": "data:MNISTStrokes",
    "paired-folder": "data:PairedFolder",
    "unpaired-folder": "data:UnpairedFolder",
}

#: The translation networks by the names the issue gives them, for the kind that will register them.
NETWORKS = {
    "unet": f"{_HERE}.models:UNetGenerator",
    "resnet": f"{_HERE}.models:ResnetTranslator",
    "patchgan": f"{_HERE}.models:PatchGANDiscriminator",
}


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    for name, target in DATASETS.items():
        register.dataset(name, f"{_HERE}.{target}")
