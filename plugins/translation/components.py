"""The translation networks as ganzoo components: sized from the data, their parameters declared once.

`unet` and `resnet-translator` are image-to-image generators (registered ``takes="image"``): the builder
gives them the target's `DataInfo` and the input's (``source``). `patchgan` is a discriminator that
scores patches (``scores="patch"``); pix2pix gives it the (input, output) pair's channels.
"""

from __future__ import annotations

from typing import Annotated, Literal

from ganzoo.errors import UnsupportedDataError
from ganzoo.params import Range
from ganzoo.specs import DataInfo

from .models import Norm, PatchGANDiscriminator, ResnetTranslator, TestMode, UNetGenerator


def _image(data: DataInfo, who: str) -> tuple[int, int]:
    if not data.is_image or data.shape[1] != data.shape[2]:
        raise UnsupportedDataError(f"{who} translates square images, not data of shape {data.shape}")
    return data.shape[0], data.shape[2]


def unet(data: DataInfo, source: DataInfo, ngf: Annotated[int, Range(1, 1024)] = 64, norm: Norm = "batch",
         dropout: Annotated[float, Range(0, 1)] = 0.5, num_downs: int | None = None,
         dropout_levels: int | None = None, test_mode: TestMode = "train") -> UNetGenerator:
    """pix2pix's U-Net generator (Isola et al. 2017): encoder-decoder with skip connections, dropout as noise.

    Down to a 1x1 bottleneck in log2(size) stride-2 steps and back up; each
    decoder level also gets the encoder's feature map of its size, so detail
    such as edge positions goes straight across. The authors' unet_256 at
    256 px (54.4 M parameters, ngf 64); depth follows the image size.

    ngf: channels of the outermost feature map (then 2x, 4x, 8x).
    norm: "batch" (the paper's) or "instance".
    dropout: dropout in the levels after the bottleneck (the generator's only noise); 0 turns it off.
    num_downs: downsamplings (default log2 of the image size).
    dropout_levels: decoder levels with dropout (default max(1, num_downs - 5), as the reference code).
    test_mode: how it translates out of training (`ganzoo sample`, `ganzoo eval`, the grids): "train" (the
        paper's and the reference test.py's default: dropout on, BatchNorm on the statistics of the batch translated)
        or "eval" (no dropout, BatchNorm's running statistics; the reference's --eval).
    """
    c_out, size = _image(data, "unet")
    c_in, _ = _image(source, "unet")
    return UNetGenerator(c_in, c_out, image_size=size, num_downs=num_downs, ngf=ngf, norm=norm, dropout=dropout,
                         dropout_levels=dropout_levels, test_mode=test_mode)


def resnet_translator(data: DataInfo, source: DataInfo, ngf: Annotated[int, Range(1, 1024)] = 64,
                      n_blocks: int | None = None, norm: Norm = "instance",
                      dropout: Annotated[float, Range(0, 1)] = 0.0,
                      padding: Literal["reflect", "replicate", "zero"] = "reflect") -> ResnetTranslator:
    """CycleGAN's ResNet generator (Zhu et al. 2017, after Johnson et al. 2016): 6 or 9 residual blocks.

    A 7x7 convolution, two stride-2 downsamplings, residual blocks at a
    quarter of the resolution, two upsamplings and a 7x7 convolution to the
    output (Tanh); reflection padding and InstanceNorm as in the paper. The
    authors' resnet_9blocks is 11.4 M parameters (ngf 64).

    ngf: channels of the first feature map (then 2x, 4x).
    n_blocks: residual blocks (default: 6 up to 128 px, 9 above, the paper's choice).
    norm: "instance" (the paper's) or "batch".
    dropout: dropout inside each block (off in CycleGAN).
    padding: "reflect" (the paper's), "replicate" or "zero".
    """
    c_out, size = _image(data, "resnet-translator")
    c_in, _ = _image(source, "resnet-translator")
    return ResnetTranslator(c_in, c_out, image_size=size, n_blocks=n_blocks, ngf=ngf, norm=norm, dropout=dropout,
                            padding=padding)


def default_layers(size: int) -> int:
    """The paper's 70x70 PatchGAN (3 layers) at 256 px, scaled down: 34x34 patches (2) at 64 px, 16x16 (1) at 32."""
    return 1 if size <= 32 else 2 if size <= 64 else 3


def patchgan(data: DataInfo, ndf: Annotated[int, Range(1, 1024)] = 64,
             n_layers: Annotated[int, Range(1, 8)] | None = None, norm: Norm = "batch") -> PatchGANDiscriminator:
    """pix2pix's PatchGAN discriminator (Isola et al. 2017): one logit for every overlapping patch.

    Stride-2 4x4 convolutions (ndf, 2ndf, 4ndf, 8ndf), LeakyReLU 0.2, a
    final one-channel convolution: a map of raw logits (N, 1, h, w) that the
    loss averages. pix2pix feeds it the (input, output) pair stacked along
    channels; CycleGAN one image. The paper's 70x70 PatchGAN (3 layers,
    2.77 M parameters) at 256 px; the patch scales with the image size.

    ndf: channels of the first feature map.
    n_layers: stride-2 convolutions (default by size: 1 at 32 px, 2 at 64, 3 from 128; 16, 34, 70 px patches).
    norm: "batch" (pix2pix's) or "instance" (CycleGAN's).
    """
    channels, size = _image(data, "patchgan")
    layers = default_layers(size) if n_layers is None else n_layers
    return PatchGANDiscriminator(channels, ndf=ndf, n_layers=layers, norm=norm, image_size=size)
