"""Image-to-image networks of pix2pix (Isola et al. 2017) and CycleGAN (Zhu et al. 2017).

The layer layouts follow the authors' reference code (junyanz/pytorch-CycleGAN-and-pix2pix,
models/networks.py): the U-Net and PatchGAN of pix2pix and the ResNet translator of CycleGAN,
so their parameter counts match the reference configurations (tests/test_translation_models.py).

These are not ganzoo generators or discriminators: they map images to images and take no
latent code. The interface is `Translator.forward(x) -> y`, (N, in_channels, H, W) ->
(N, out_channels, H, W) in [-1, 1], and `PatchGANDiscriminator.forward(x) -> logits`,
(N, in_channels, H, W) -> (N, 1, h, w), one raw logit per overlapping patch.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
from torch import Tensor, nn

from ganzoo.errors import UnsupportedDataError
from ganzoo.nn import init_normal_
from ganzoo.params import Range

Norm = Literal["batch", "instance"]
#: how a U-Net runs once training is over (`UNetGenerator.train`): "train" keeps dropout and the test batch's
#: BatchNorm statistics, as the paper and the reference's test.py do; "eval" is PyTorch's eval mode
TestMode = Literal["train", "eval"]


def _norm(kind: str, channels: int, who: str) -> nn.Module:
    # As in the reference code: InstanceNorm without affine parameters or running statistics.
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise UnsupportedDataError(f"{who}: norm must be 'batch' or 'instance', not {kind!r}")


def _check_positive(who: str, **values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise UnsupportedDataError(f"{who}: {name} must be a positive integer, not {value!r}")


class Translator(nn.Module):
    """An image-to-image generator: ``forward(x)`` maps (N, in_channels, H, W) to (N, out_channels, H, W).

    Outputs are in [-1, 1] (Tanh), the model range of ganzoo images. H and W must
    be multiples of ``size_multiple``.
    """

    in_channels: int
    out_channels: int
    size_multiple: int
    who: str

    def check_input(self, x: Tensor) -> None:
        """One clear error for an input the network cannot take, instead of a shape error deep inside."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise UnsupportedDataError(f"{self.who} takes images (N, {self.in_channels}, H, W), "
                                       f"not a tensor of shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise UnsupportedDataError(f"{self.who} needs height and width that are multiples of "
                                       f"{self.size_multiple}, not {h}x{w}",
                                       "resize the images (image_size=...) or change the network's depth")


# -- pix2pix: U-Net generator ----------------------------------------------------------------------
def unet_depth(image_size: int) -> int:
    """Downsamplings that take ``image_size`` to a 1x1 bottleneck: 5 at 32 px, 6 at 64, 8 at 256 (unet_256)."""
    depth = int(math.log2(image_size)) if image_size > 0 else 0
    if 2 ** depth != image_size or depth < 5:
        raise UnsupportedDataError(f"unet: image_size must be a power of two >= 32, not {image_size!r}",
                                   "resize the dataset to 32, 64, 128 or 256 px, or set num_downs")
    return depth


class _UNetLevel(nn.Module):
    """One level of the U-Net: down, the inner levels, up; its input is concatenated to its output.

    The reference code's UnetSkipConnectionBlock. The outermost level has no norm on the way down,
    no skip (it returns the image) and ends in Tanh; the innermost has no norm on the way down, so
    the 1x1 bottleneck is never normalized over a single value.
    """

    def __init__(self, outer: int, inner: int, sub: nn.Module | None, *, norm: str, in_channels: int | None = None,
                 outermost: bool = False, dropout: float = 0.0):
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"  # BatchNorm's shift makes a conv bias redundant; InstanceNorm has none
        down_in = in_channels if in_channels is not None else outer
        # Not in place, unlike the reference code, whose in-place LeakyReLU also rewrites the skipped input.
        down: list[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2)]
        down.append(nn.Conv2d(down_in, inner, 4, 2, 1, bias=bias))
        if sub is not None and not outermost:
            down.append(_norm(norm, inner, "unet"))
        up_in = inner if sub is None else inner * 2  # a skip doubles the channels coming back up
        up: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=bias or outermost)]
        if outermost:
            up.append(nn.Tanh())
        else:
            up.append(_norm(norm, outer, "unet"))
            if dropout > 0:
                up.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*down, *([sub] if sub is not None else []), *up)

    def forward(self, x: Tensor) -> Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)


class UNetGenerator(Translator):
    """pix2pix's U-Net generator (Isola et al. 2017): an encoder-decoder with skip connections, dropout as noise.

    ``num_downs`` stride-2 convolutions (4x4, LeakyReLU 0.2) take the image to a
    1x1 bottleneck and as many transposed convolutions (ReLU) bring it back;
    each decoder level also receives the encoder's feature map of the same size
    (the skips), so low-level detail such as edge positions goes straight
    across. Channels are ngf, 2ngf, 4ngf, then 8ngf for every deeper level; the
    output ends in Tanh. As in the paper, dropout (0.5) is the generator's
    only source of noise: no latent code goes in.

    At test time (``model.eval()``, which `ganzoo sample`, `ganzoo eval` and
    the training grids call) ``test_mode`` decides. "train", the default, runs
    it the way the paper does (Isola et al. 2017, section 3.3: "we apply
    dropout at test time, and we apply batch normalization using the
    statistics of the test batch") and as the reference's test.py does by
    default (``--eval`` is off, options/test_options.py): dropout stays on,
    and BatchNorm normalizes by the statistics of the batch being translated
    (the running statistics are left as training made them). So an output
    depends on the dropout draw and on the other images of its batch (ganzoo
    translates held-out sets 64 at a time, `ganzoo sample` its 16 inputs at
    once); the reference tests one image at a time (test.py: ``opt.batch_size
    = 1``), which suits its batch-1 training, but a U-Net trained on batches
    (the recipes' 32) does worse on one image's statistics. "eval" is
    PyTorch's eval mode (the reference's ``--eval``): no dropout, running
    statistics, the same output for the same input whatever its batch.

    The layout is the authors' unet_256 / unet_128 (54.4 M parameters at
    256 px, ngf 64). ``num_downs`` defaults to log2(image_size): 5 at 32 px, 6
    at 64, 8 at 256. Dropout sits in the decoder levels just after the
    bottleneck: ``dropout_levels`` of them, by default num_downs - 5 like the
    reference code (3 at 256 px), but at least 1 so that small U-Nets keep a
    noise source (the reference code's 32 px U-Net would have none).

    in_channels, out_channels: channels of the input and the output image.
    image_size: side of the (square) training images; sets the default depth.
    num_downs: downsamplings; H and W must be multiples of 2**num_downs.
    ngf: channels of the outermost feature map.
    norm: "batch" (the paper's) or "instance".
    dropout: the dropout probability; 0 turns the noise off.
    dropout_levels: decoder levels after the bottleneck that apply dropout.
    test_mode: "train" (dropout and the test batch's statistics at test time, the paper's) or "eval".
    """

    def __init__(self, in_channels: Annotated[int, Range(1, None)] = 3, out_channels: Annotated[int, Range(1, None)] = 3,
                 image_size: Annotated[int, Range(32, None)] = 256, num_downs: int | None = None,
                 ngf: Annotated[int, Range(1, 1024)] = 64, norm: Norm = "batch", dropout: Annotated[float, Range(0, 1)] = 0.5,
                 dropout_levels: int | None = None, test_mode: TestMode = "train"):
        super().__init__()
        self.who = "unet"
        if test_mode not in ("train", "eval"):
            raise UnsupportedDataError(f"unet: test_mode must be 'train' or 'eval', not {test_mode!r}")
        self.test_mode = test_mode
        _check_positive("unet", in_channels=in_channels, out_channels=out_channels, ngf=ngf)
        depth = unet_depth(image_size) if num_downs is None else num_downs
        if not isinstance(depth, int) or depth < 5:
            raise UnsupportedDataError(f"unet: num_downs must be an integer >= 5, not {depth!r}")
        if not 0 <= dropout < 1:
            raise UnsupportedDataError(f"unet: dropout must be in [0, 1), not {dropout!r}")
        n_drop = max(1, depth - 5) if dropout_levels is None else dropout_levels
        self.in_channels, self.out_channels, self.size_multiple = in_channels, out_channels, 2 ** depth
        self.num_downs, self.dropout_levels = depth, n_drop

        # (outer, inner) channels of each level below the outermost, from the bottleneck outwards.
        levels = [(ngf * 8, ngf * 8)] * (depth - 4) + [(ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)]
        block: nn.Module | None = None
        for i, (outer, inner) in enumerate(levels):
            p = dropout if 1 <= i <= n_drop else 0.0  # i == 0 is the innermost level
            block = _UNetLevel(outer, inner, block, norm=norm, dropout=p)
        self.model = _UNetLevel(out_channels, ngf, block, norm=norm, in_channels=in_channels, outermost=True)
        init_normal_(self)

    @property
    def noisy_at_test(self) -> bool:
        """Out of training, and run as in training: dropout on, BatchNorm on the test batch's statistics."""
        return not self.training and self.test_mode == "train"

    def train(self, mode: bool = True) -> UNetGenerator:
        super().train(mode)
        noisy = self.noisy_at_test
        for m in self.modules():
            if isinstance(m, nn.Dropout):
                m.train(mode or noisy)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                # batch statistics without touching the running ones: PyTorch's BatchNorm in training mode with
                # track_running_stats off normalizes by the batch and updates nothing
                m.train(mode or noisy)
                m.track_running_stats = not noisy
        return self

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.model(x)


# -- PatchGAN discriminator ------------------------------------------------------------------------
def patchgan_layers(n_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of each convolution of an n-layer PatchGAN: n stride-2 convolutions, then two stride-1."""
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def patchgan_receptive_field(n_layers: int) -> int:
    """Side of the input patch each output logit sees: 16, 70, 286 for n_layers 1, 3, 5 (the paper's PatchGANs)."""
    field = 1
    for kernel, stride in reversed(patchgan_layers(n_layers)):
        field = (field - 1) * stride + kernel
    return field


def patchgan_grid(image_size: int, n_layers: int) -> int:
    """Side of the logit map for a square input of ``image_size``: 30 at 256 px with 3 layers."""
    side = image_size
    for kernel, stride in patchgan_layers(n_layers):
        side = (side + 2 - kernel) // stride + 1  # every convolution pads by 1
    return side


class PatchGANDiscriminator(nn.Module):
    """pix2pix's PatchGAN discriminator (Isola et al. 2017): classifies every overlapping patch as real or fake.

    ``n_layers`` stride-2 4x4 convolutions (ndf, 2ndf, 4ndf, then 8ndf), one
    stride-1 convolution and a final one-channel convolution; LeakyReLU(0.2),
    no norm on the first layer. n_layers 3 (the default) is the paper's 70x70
    PatchGAN at 256 px (2.77 M parameters, ndf 64), with a 30x30 map of logits;
    1 gives 16x16 patches and 5 gives 286x286. Returns raw logits of shape
    (N, 1, h, w), no Sigmoid; the loss averages over patches.

    For pix2pix the input is the channel-wise concatenation of (input image,
    real or translated image), so ``in_channels`` is their sum; for CycleGAN it
    is one image. Also used by CycleGAN (with norm "instance").

    in_channels: channels of what the discriminator judges.
    ndf: channels of the first feature map.
    n_layers: stride-2 convolutions; sets the patch size (see patchgan_receptive_field).
    norm: "batch" (pix2pix's) or "instance" (CycleGAN's).
    image_size: if given, checked to leave a logit map of at least 1x1.
    """

    def __init__(self, in_channels: Annotated[int, Range(1, None)] = 6, ndf: Annotated[int, Range(1, 1024)] = 64,
                 n_layers: Annotated[int, Range(1, 8)] = 3, norm: Norm = "batch", image_size: int | None = None):
        super().__init__()
        _check_positive("patchgan", in_channels=in_channels, ndf=ndf, n_layers=n_layers)
        if image_size is not None and patchgan_grid(image_size, n_layers) < 1:
            fits = max((n for n in range(1, 9) if patchgan_grid(image_size, n) >= 1), default=None)
            raise UnsupportedDataError(f"patchgan: {n_layers} layers shrink a {image_size} px image to nothing",
                                       f"use n_layers={fits} or fewer" if fits else "use larger images")
        self.in_channels, self.n_layers = in_channels, n_layers
        self.receptive_field = patchgan_receptive_field(n_layers)
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        channels = ndf
        for i, (kernel, stride) in enumerate(patchgan_layers(n_layers)[1:-1], start=1):
            wider = ndf * min(2 ** i, 8)
            layers += [nn.Conv2d(channels, wider, kernel, stride, 1, bias=bias), _norm(norm, wider, "patchgan"),
                       nn.LeakyReLU(0.2)]
            channels = wider
        layers.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)
        init_normal_(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise UnsupportedDataError(f"patchgan takes images (N, {self.in_channels}, H, W), "
                                       f"not a tensor of shape {tuple(x.shape)}")
        return self.model(x)


# -- CycleGAN: ResNet translator -------------------------------------------------------------------
class _ResidualBlock(nn.Module):
    """Two 3x3 convolutions with the same number of filters, added to the input (Johnson et al. 2016)."""

    def __init__(self, channels: int, norm: str, padding: str, dropout: float):
        super().__init__()
        layers: list[nn.Module] = []
        for second in (False, True):
            pad, conv_pad = _pad(padding, 1)
            layers += [*pad, nn.Conv2d(channels, channels, 3, 1, conv_pad, bias=norm == "instance"),
                       _norm(norm, channels, "resnet")]
            if not second:
                layers.append(nn.ReLU())
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


def _pad(padding: str, width: int) -> tuple[list[nn.Module], int]:
    """A padding layer and the convolution's own padding: reflection avoids the artefacts zeros leave at borders."""
    if padding == "reflect":
        return [nn.ReflectionPad2d(width)], 0
    if padding == "replicate":
        return [nn.ReplicationPad2d(width)], 0
    if padding == "zero":
        return [], width
    raise UnsupportedDataError(f"resnet: padding must be 'reflect', 'replicate' or 'zero', not {padding!r}")


def resnet_blocks(image_size: int) -> int:
    """The paper's choice: 6 residual blocks for 128 px images and smaller, 9 for 256 px and larger."""
    return 6 if image_size <= 128 else 9


class ResnetTranslator(Translator):
    """CycleGAN's ResNet generator (Zhu et al. 2017, after Johnson et al. 2016): c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-3.

    A 7x7 convolution, two stride-2 3x3 convolutions, ``n_blocks`` residual
    blocks at a quarter of the resolution, two stride-2 transposed convolutions
    and a 7x7 convolution to the output, Tanh. Reflection padding and
    InstanceNorm (without affine parameters) as in the paper; ReLU throughout.
    ``n_blocks`` defaults to the paper's choice: 6 up to 128 px, 9 above
    (resnet_9blocks: 11.4 M parameters with ngf 64). H and W must be multiples of 4.

    in_channels, out_channels: channels of the input and the output image.
    image_size: side of the training images; sets the default n_blocks.
    n_blocks: residual blocks.
    ngf: channels of the first feature map (then 2ngf, 4ngf).
    norm: "instance" (the paper's) or "batch".
    dropout: dropout inside each residual block (off in CycleGAN).
    padding: "reflect" (the paper's), "replicate" or "zero".
    """

    def __init__(self, in_channels: Annotated[int, Range(1, None)] = 3, out_channels: Annotated[int, Range(1, None)] = 3,
                 image_size: Annotated[int, Range(4, None)] = 256, n_blocks: int | None = None,
                 ngf: Annotated[int, Range(1, 1024)] = 64, norm: Norm = "instance",
                 dropout: Annotated[float, Range(0, 1)] = 0.0,
                 padding: Literal["reflect", "replicate", "zero"] = "reflect"):
        super().__init__()
        self.who = "resnet"
        _check_positive("resnet", in_channels=in_channels, out_channels=out_channels, ngf=ngf)
        blocks = resnet_blocks(image_size) if n_blocks is None else n_blocks
        if not isinstance(blocks, int) or blocks < 0:
            raise UnsupportedDataError(f"resnet: n_blocks must be a non-negative integer, not {blocks!r}")
        if not 0 <= dropout < 1:
            raise UnsupportedDataError(f"resnet: dropout must be in [0, 1), not {dropout!r}")
        self.in_channels, self.out_channels, self.size_multiple, self.n_blocks = in_channels, out_channels, 4, blocks
        bias = norm == "instance"
        pad7, conv_pad7 = _pad(padding, 3)
        layers: list[nn.Module] = [*pad7, nn.Conv2d(in_channels, ngf, 7, 1, conv_pad7, bias=bias),
                                   _norm(norm, ngf, "resnet"), nn.ReLU()]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=bias), _norm(norm, ngf * mult * 2, "resnet"),
                       nn.ReLU()]
        layers += [_ResidualBlock(ngf * 4, norm, padding, dropout) for _ in range(blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=bias),
                       _norm(norm, ngf * mult // 2, "resnet"), nn.ReLU()]
        layers += [*_pad(padding, 3)[0], nn.Conv2d(ngf, out_channels, 7, 1, conv_pad7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_normal_(self)

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.model(x)
