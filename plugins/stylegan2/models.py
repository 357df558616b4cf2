"""StyleGAN2 generator and discriminator (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

Written from the paper and the layer structure of NVlabs/stylegan2-ada-pytorch
(configs "skip" G, "resnet" or "orig" D), with two simplifications: resampling is
bilinear / average pooling instead of the [1, 3, 3, 1] FIR filter, and the
image passes a final Tanh (ganzoo's images live in [-1, 1]).
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import ParamError
from ganzoo.interfaces import DataInfo, Discriminator, Generator
from ganzoo.params import Range
from ganzoo_plugins.progan.layers import SQRT2, EqualizedConv2d, EqualizedLinear, MinibatchStdDev, lrelu
from ganzoo_plugins.sngan.blocks import image_side

__all__ = ["StyleGAN2Generator", "StyleGAN2Discriminator", "MappingNetwork", "ModulatedConv2d", "modulated_weight"]

RESOLUTIONS = (8, 16, 32, 64, 128, 256, 512, 1024)
NoiseMode = Literal["random", "const", "none"]


def _channels(res: int, channel_base: int, channel_max: int) -> int:
    return max(1, min(channel_base // res, channel_max))


def _up(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def modulated_weight(weight: Tensor, styles: Tensor, demodulate: bool = True) -> Tensor:
    """Per-sample kernels (N, out, in, k, k): ``weight`` scaled by each sample's ``styles`` (N, in) on its inputs.

    Demodulation divides each output feature map's kernel by its L2 norm
    over (in, k, k), so that unit-variance inputs give unit-variance outputs
    whatever the style (the paper's eq. 3): it replaces AdaIN's instance
    normalization, which caused StyleGAN's droplet artifacts.
    """
    w = weight.unsqueeze(0) * styles[:, None, :, None, None]
    if demodulate:
        w = w * torch.rsqrt(w.square().sum((2, 3, 4), keepdim=True) + 1e-8)
    return w


class ModulatedConv2d(nn.Module):
    """A convolution whose kernel each sample's style modulates (and, unless told, demodulates).

    The style is an equalized-LR affine map of w, biased to 1 at start;
    samples are convolved in one grouped convolution.
    """

    def __init__(self, cin: int, cout: int, kernel: int, w_dim: int, *, demodulate: bool = True, up: bool = False):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, cin, gain=1.0, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.weight_gain = 1 / math.sqrt(cin * kernel * kernel)
        self.demodulate, self.up = demodulate, up

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        n, cin, _, _ = x.shape
        styles = self.affine(w) * self.weight_gain
        kernels = modulated_weight(self.weight, styles, self.demodulate)
        if self.up:
            x = _up(x)
        k = kernels.shape[-1]
        out = F.conv2d(x.reshape(1, n * cin, *x.shape[2:]), kernels.reshape(-1, cin, k, k), padding=k // 2, groups=n)
        return out.reshape(n, -1, *out.shape[2:])


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution, per-pixel noise scaled by a learned strength, bias, LeakyReLU * sqrt(2)."""

    noise_const: Tensor

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, *, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: Tensor, w: Tensor, noise_mode: NoiseMode = "random") -> Tensor:
        x = self.conv(x, w)
        if noise_mode == "random":
            x = x + self.noise_strength * torch.randn(len(x), 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        elif noise_mode == "const":
            x = x + self.noise_strength * self.noise_const
        return lrelu(x + self.bias[None, :, None, None]) * SQRT2


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to image channels, without demodulation, plus a bias."""

    def __init__(self, cin: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(cin, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class MappingNetwork(nn.Module):
    """z -> w: normalize z to unit mean square, then ``layers`` equalized-LR FC + LeakyReLU at 1/100 learning rate.

    Tracks the running mean of w (``w_avg``, decay 0.995 per training call)
    for the truncation trick.
    """

    w_avg: Tensor

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_multiplier: float = 0.01, w_avg_beta: float = 0.995):
        super().__init__()
        dims = [z_dim] + [w_dim] * layers
        self.fcs = nn.ModuleList(EqualizedLinear(a, b, gain=1.0, lr_multiplier=lr_multiplier)
                                 for a, b in pairwise(dims))
        self.w_avg_beta = w_avg_beta
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Tensor, update_w_avg: bool = True) -> Tensor:
        x = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)
        for fc in self.fcs:
            x = lrelu(fc(x)) * SQRT2
        if self.training and update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(0).to(self.w_avg.dtype).lerp(self.w_avg, self.w_avg_beta))
        return x


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: [up-conv,] conv, and a ToRGB added to the upsampled image so far."""

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, channels: int):
        super().__init__()
        self.first = resolution == 4
        if self.first:
            self.const = nn.Parameter(torch.randn(cout, 4, 4))
            self.convs = nn.ModuleList([SynthesisLayer(cout, cout, w_dim, 4)])
        else:
            self.convs = nn.ModuleList([SynthesisLayer(cin, cout, w_dim, resolution, up=True),
                                        SynthesisLayer(cout, cout, w_dim, resolution)])
        self.torgb = ToRGB(cout, channels, w_dim)

    @property
    def num_ws(self) -> int:
        """ws this block reads: one per convolution; its ToRGB shares the next block's first w."""
        return len(self.convs)

    def forward(self, x: Tensor | None, img: Tensor | None, ws: Tensor, noise_mode: NoiseMode) -> tuple[Tensor, Tensor]:
        if self.first:
            x = self.const.unsqueeze(0).expand(len(ws), -1, -1, -1)
        assert x is not None
        for i, layer in enumerate(self.convs):
            x = layer(x, ws[:, i], noise_mode)
        rgb = self.torgb(x, ws[:, len(self.convs)])
        return x, rgb if img is None else _up(img) + rgb


class StyleGAN2Generator(Generator):
    """StyleGAN2 generator (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

    A mapping network turns z into a style vector w; a learned 4x4 constant
    is grown to the image by modulated and demodulated 3x3 convolutions, each
    with its own w, per-pixel noise with a learned strength and LeakyReLU, and
    every resolution adds its ToRGB output to the upsampled image so far (the
    "skip" generator). In training, with probability ``mixing_prob`` a second
    latent takes over from a random layer (style mixing). forward also takes
    ``truncation_psi`` (w = w_avg + psi (w - w_avg); 1: none, 0: every z
    gives the mean-w image; ``ganzoo sample --truncation``), ``noise_mode`` ("random", "const", "none"), and
    ``mix_z`` with ``crossover`` (the first layer index that reads mix_z).
    Square power-of-two images from 8 px; channels per resolution are
    min(channel_base / res, channel_max). The default is small, for 32 px;
    the paper's CIFAR-10 config (stylegan2-ada-pytorch) is channel_base=32768,
    channel_max=512, w_dim=512, mapping_layers=2, latent_dim=512. Train with
    the non-saturating loss, lazy R1 and Adam(betas 0, 0.99).

    w_dim: size of the style vector w.
    mapping_layers: fully connected layers of the mapping network (8 in the paper, 2 for CIFAR-10).
    channel_base: channels at resolution r are min(channel_base / r, channel_max).
    channel_max: the most channels of any layer.
    mixing_prob: probability of style mixing for each training batch.
    """

    def __init__(self, data: DataInfo, latent_dim: int = 512, w_dim: Annotated[int, Range(1, 4096)] = 128,
                 mapping_layers: Annotated[int, Range(1, 16)] = 2,
                 channel_base: Annotated[int, Range(1, 1048576)] = 4096,
                 channel_max: Annotated[int, Range(1, 4096)] = 128,
                 mixing_prob: Annotated[float, Range(0, 1)] = 0.9):
        super().__init__(data, latent_dim)
        side = image_side(data, "stylegan2", RESOLUTIONS)
        self.mapping = MappingNetwork(latent_dim, w_dim, mapping_layers)
        self.mixing_prob = mixing_prob
        blocks: list[SynthesisBlock] = []
        cin, res = 0, 4
        while res <= side:
            cout = _channels(res, channel_base, channel_max)
            blocks.append(SynthesisBlock(cin, cout, w_dim, res, data.shape[0]))
            cin, res = cout, res * 2
        self.blocks = nn.ModuleList(blocks)
        #: ws the synthesis network reads: one per convolution, plus the last ToRGB's
        self.num_ws = sum(b.num_ws for b in blocks) + 1

    def ws(self, z: Tensor, truncation_psi: float = 1.0, mix_z: Tensor | None = None,
           crossover: int | Tensor | None = None) -> Tensor:
        """The per-layer styles (N, num_ws, w_dim): layers before ``crossover`` read ``z``, the rest ``mix_z``."""
        ws = self.mapping(z).unsqueeze(1).repeat(1, self.num_ws, 1)
        if mix_z is not None:
            cut = self.num_ws if crossover is None else crossover
            if isinstance(cut, int) and not 0 <= cut <= self.num_ws:
                raise ParamError(f"stylegan2: crossover must be in [0, {self.num_ws}], got {crossover}")
            # a comparison, not a slice, so that a drawn (tensor) crossover needs no sync with the device
            later = (torch.arange(self.num_ws, device=z.device) >= cut).view(1, -1, 1)
            ws = torch.where(later, self.mapping(mix_z, update_w_avg=False).unsqueeze(1), ws)
        if truncation_psi != 1:
            ws = self.mapping.w_avg.to(ws.dtype).lerp(ws, truncation_psi)
        return ws

    def synthesis(self, ws: Tensor, noise_mode: NoiseMode = "random") -> Tensor:
        """Images in [-1, 1] from per-layer styles (N, num_ws, w_dim)."""
        x = img = None
        i = 0
        for block in self.blocks:
            assert isinstance(block, SynthesisBlock)
            x, img = block(x, img, ws[:, i:i + block.num_ws + 1], noise_mode)
            i += block.num_ws
        assert img is not None
        return torch.tanh(img)

    def _mixing(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Style mixing regularization: a second latent and the crossover layer, drawn on the device (no host
        sync, no graph break under torch.compile); a crossover of num_ws means no mixing this batch."""
        mix_z = torch.randn_like(z)
        drawn = torch.randint(1, self.num_ws, (), device=z.device)
        mixes = torch.rand((), device=z.device) < self.mixing_prob
        return mix_z, torch.where(mixes, drawn, torch.full_like(drawn, self.num_ws))

    def forward(self, z: Tensor, labels: Tensor | None = None, truncation_psi: float = 1.0,
                noise_mode: NoiseMode = "random", mix_z: Tensor | None = None,
                crossover: int | Tensor | None = None) -> Tensor:
        if mix_z is None and self.training and self.mixing_prob > 0:
            mix_z, crossover = self._mixing(z)
        return self.synthesis(self.ws(z, truncation_psi, mix_z, crossover), noise_mode)

    def interpolate(self, z_a: Tensor, z_b: Tensor, t: Tensor, labels: Tensor | None = None,
                    truncation_psi: float = 1.0, noise_mode: NoiseMode = "const") -> Tensor:
        """The images at fractions ``t`` (F,) of a straight line in w from ``z_a``'s w to ``z_b``'s (codes
        (1, latent_dim)): the space the paper interpolates in (perceptual path length, section 3.2) and a
        `ganzoo.walk` uses. The noise is held constant by default, so that frames differ by w alone."""
        ends = self.ws(torch.cat([z_a, z_b]), truncation_psi)  # (2, num_ws, w_dim); truncated at both ends
        ws = torch.lerp(ends[:1], ends[1:], t.to(ends.dtype).view(-1, 1, 1))
        return self.synthesis(ws, noise_mode)

    def forward_with_w(self, z: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The images of a training ``forward`` (style mixing, random noise) and the ws (N, num_ws, w_dim) they
        were synthesized from, for the ``pl`` term (as stylegan2-ada-pytorch's loss.py:38-48 run_G)."""
        mix_z, crossover = self._mixing(z) if self.training and self.mixing_prob > 0 else (None, None)
        ws = self.ws(z, 1.0, mix_z, crossover)
        return self.synthesis(ws), ws


class DiscriminatorBlock(nn.Module):
    """conv3-LReLU, down-conv3-LReLU; "resnet" adds a 1x1 down shortcut and scales the sum by sqrt(1/2),
    "orig" has none (stylegan2-ada-pytorch training/networks.py:552-579)."""

    def __init__(self, cin: int, cout: int, resnet: bool = True):
        super().__init__()
        self.conv0 = EqualizedConv2d(cin, cin, 3)
        self.conv1 = EqualizedConv2d(cin, cout, 3)
        self.skip = EqualizedConv2d(cin, cout, 1, gain=1.0, bias=False) if resnet else None

    def forward(self, x: Tensor) -> Tensor:
        h = lrelu(self.conv0(x)) * SQRT2
        h = lrelu(self.conv1(F.avg_pool2d(h, 2))) * SQRT2
        if self.skip is None:
            return h
        return (self.skip(F.avg_pool2d(x, 2)) + h) * math.sqrt(0.5)


class StyleGAN2Discriminator(Discriminator):
    """StyleGAN2 discriminator (Karras et al. 2020), residual by default.

    FromRGB (1x1 conv) at full resolution, then blocks that halve the map
    (two 3x3 convolutions; "resnet" adds a 1x1 shortcut, summed with weight
    sqrt(1/2)), down to 4x4, where the minibatch standard deviation adds one
    channel, followed by a 3x3 convolution, a fully connected layer and the
    score. Equalized learning rate everywhere, LeakyReLU(0.2), no
    normalization, so R1 applies. Channels per resolution as in the
    generator. Returns raw scores (N,).

    channel_base: channels at resolution r are min(channel_base / r, channel_max).
    channel_max: the most channels of any layer.
    mbstd_group: samples per minibatch-standard-deviation group (4 in the paper; 32 for CIFAR-10).
    architecture: "resnet" (the paper's configs) or "orig" (no shortcuts: StyleGAN2-ADA's CIFAR-10 config).
    """

    def __init__(self, data: DataInfo, channel_base: Annotated[int, Range(1, 1048576)] = 4096,
                 channel_max: Annotated[int, Range(1, 4096)] = 128, mbstd_group: Annotated[int, Range(1, 256)] = 4,
                 architecture: Literal["resnet", "orig"] = "resnet"):
        super().__init__(data)
        if architecture not in ("resnet", "orig"):
            raise ParamError(f"stylegan2: architecture must be 'resnet' or 'orig', got {architecture!r}")
        side = image_side(data, "stylegan2", RESOLUTIONS)
        ch = lambda r: _channels(r, channel_base, channel_max)
        self.fromrgb = EqualizedConv2d(data.shape[0], ch(side), 1)
        blocks, res = [], side
        while res > 4:
            blocks.append(DiscriminatorBlock(ch(res), ch(res // 2), resnet=architecture == "resnet"))
            res //= 2
        self.blocks = nn.Sequential(*blocks)
        c = ch(4)
        self.mbstd = MinibatchStdDev(mbstd_group, 1)
        self.conv = EqualizedConv2d(c + 1, c, 3)
        self.fc = EqualizedLinear(c * 16, c)
        self.out = EqualizedLinear(c, 1, gain=1.0)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """The (N, features) activations of the last hidden layer, which the score is linear in."""
        h = self.blocks(lrelu(self.fromrgb(x)) * SQRT2)
        h = lrelu(self.conv(self.mbstd(h))) * SQRT2
        return lrelu(self.fc(h.flatten(1))) * SQRT2

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.out(self.features(x)).view(-1)
