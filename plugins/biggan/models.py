"""BigGAN generator and discriminator (Brock, Donahue & Simonyan 2019), for 32, 64 and 128 px.

Built on the SNGAN residual blocks (`ganzoo_plugins.sngan.blocks`) with
BigGAN's additions: conditional BatchNorm driven by a shared class embedding,
a hierarchical latent (one chunk of z per block), self-attention (Zhang et al.
2019), spectral normalization in G as well as D, orthogonal initialisation,
and the orthogonal regularization of G's weights (`orthogonal_regularization`).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import ParamError
from ganzoo.interfaces import DataInfo, Discriminator, Generator
from ganzoo.nn import LabelProjection, require_labels, require_num_classes
from ganzoo.params import Range
from ganzoo_plugins.sngan.blocks import DBlock, GBlock, image_side, sn

__all__ = ["BigGANGenerator", "BigGANDiscriminator", "ConditionalBatchNorm2d", "SelfAttention",
           "orthogonal_regularization", "truncated_normal"]

# rounds of redrawing before the few values still beyond a tiny threshold are drawn by inverting the CDF
_REDRAW_ROUNDS = 64

#: BigGAN-PyTorch's G_arch: channel multipliers of the 4x4 map and of each up-sampling block's output
G_WIDTHS = {32: (4, 4, 4, 4), 64: (16, 16, 8, 4, 2), 128: (16, 16, 8, 4, 2, 1)}
#: BigGAN-PyTorch's D_arch: per block, output multiplier and whether it halves the map
D_BLOCKS = {32: ((4, True), (4, True), (4, False), (4, False)),
            64: ((1, True), (2, True), (4, True), (8, True), (16, False)),
            128: ((1, True), (2, True), (4, True), (8, True), (16, True), (16, False))}


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose per-channel gain and bias are linear functions of a conditioning vector.

    ``y`` is BigGAN's [shared class embedding, latent chunk]; the gain is
    ``1 + gain(y)`` so a zero input leaves plain (affine-free) BatchNorm.
    """

    def __init__(self, channels: int, cond_dim: int, spectral: bool = True):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = sn(nn.Linear(cond_dim, channels, bias=False), spectral)
        self.bias = sn(nn.Linear(cond_dim, channels, bias=False), spectral)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.bn(x) * (1 + self.gain(y))[:, :, None, None] + self.bias(y)[:, :, None, None]


class SelfAttention(nn.Module):
    """Self-attention over feature-map positions (SAGAN, Zhang et al. 2019), as BigGAN uses it.

    Queries at every position, keys and values max-pooled 2x; the attended
    values are added back scaled by ``gamma``, which starts at 0, so the block
    is the identity until training turns it on.
    """

    def __init__(self, channels: int, spectral: bool = True):
        super().__init__()
        if channels < 8:
            raise ParamError(f"self-attention needs at least 8 channels, got {channels}")
        self.theta = sn(nn.Conv2d(channels, channels // 8, 1, bias=False), spectral)
        self.phi = sn(nn.Conv2d(channels, channels // 8, 1, bias=False), spectral)
        self.g = sn(nn.Conv2d(channels, channels // 2, 1, bias=False), spectral)
        self.o = sn(nn.Conv2d(channels // 2, channels, 1, bias=False), spectral)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        n, c, h, w = x.shape
        theta = self.theta(x).flatten(2)                                   # (N, C/8, HW)
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)                      # (N, C/8, HW/4)
        g = F.max_pool2d(self.g(x), 2).flatten(2)                          # (N, C/2, HW/4)
        beta = torch.softmax(theta.transpose(1, 2) @ phi, -1)              # (N, HW, HW/4)
        o = self.o((g @ beta.transpose(1, 2)).view(n, c // 2, h, w))
        return x + self.gamma * o


def truncated_normal(shape: tuple[int, ...], threshold: float, generator: torch.Generator | None = None,
                     device: torch.device | str | None = None) -> Tensor:
    """Standard normal values with every one beyond ±``threshold`` redrawn: BigGAN's truncation trick.

    Brock et al. 2019, section 3.1: "truncating a z vector by resampling the
    values with magnitude above a chosen threshold". So each value follows the
    standard normal truncated to [-threshold, threshold] (std
    sqrt(1 - 2 t φ(t) / (2 Φ(t) - 1))). The authors' TF-Hub port draws
    ``truncation * truncnorm(-2, 2)`` instead (BigGAN-PyTorch TFHub/biggan_v1.py:16-19,
    ``truncated_z_sample``), a rescaled normal truncated at 2, and BigGAN-PyTorch's
    sample.py scans the variance of an untruncated z (utils.py:391-397 says it
    is "not exactly identical" to a truncated normal); this follows the
    paper's definition. Values still out of range after a few rounds (only
    for thresholds far below 1) are drawn from the same distribution by
    inverting its CDF, so a tiny threshold cannot loop for long.
    """
    if not threshold > 0:
        raise ParamError(f"the truncation threshold must be > 0, got {threshold}")
    z = torch.randn(shape, device=device, generator=generator)
    for _ in range(_REDRAW_ROUNDS):
        out = z.abs() > threshold
        count = int(out.sum())
        if not count:
            return z
        z[out] = torch.randn(count, device=z.device, generator=generator)
    out = z.abs() > threshold
    count = int(out.sum())
    if count:
        edge = torch.special.ndtr(torch.tensor(-float(threshold), dtype=torch.float64))
        u = torch.rand(count, device=z.device, generator=generator, dtype=torch.float64)
        z[out] = torch.special.ndtri(edge + u * (1 - 2 * edge)).clamp(-threshold, threshold).to(z.dtype)
    return z


def _ortho_init(module: nn.Module) -> None:
    # BigGAN's default "ortho" init of every conv, linear and embedding weight; biases stay 0
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            # a spectrally normalized layer keeps its raw weight as parametrizations.weight.original
            for name, weight in m.named_parameters():
                if name in ("weight", "parametrizations.weight.original"):
                    with torch.no_grad():
                        nn.init.orthogonal_(weight)


def _attention_check(attention: int, sides: Iterable[int], who: str) -> None:
    if attention and attention not in tuple(sides):
        raise ParamError(f"{who}: attention={attention} is not the side of any of its feature maps "
                         f"({', '.join(map(str, sides))}); use one of those or 0 for none")


class BigGANGenerator(Generator):
    """BigGAN generator (Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image Synthesis").

    Class-conditional: the label's shared embedding, joined with one chunk of
    the latent per block (the hierarchical latent, "skip-z"), sets the gain and
    bias of every BatchNorm (conditional BatchNorm); the first chunk is
    projected to a 4x4 map. Residual up-sampling blocks as in SNGAN, one
    self-attention block, BN-ReLU-conv3-Tanh out; spectral normalization on
    every layer and orthogonal initialisation. BigGAN's channel plans
    (BigGAN-PyTorch G_arch) for 32, 64 and 128 px, scaled down by default:
    ngf=32 gives three blocks of 128 channels at 32 px (BigGAN-PyTorch's
    CIFAR-10 model has ngf=64; the ImageNet 128 px model ngf=96). Train with the hinge loss, separate G/D
    learning rates and the orthogonal regularization of `orthogonal_weights`.

    The truncation trick (section 3.1): ``ganzoo sample --truncation T`` draws z
    from a normal truncated at ±T (values beyond redrawn; `truncated_normal`):
    lower T, better single samples and less variety; training never truncates.

    ngf: channel multiplier (32 px: 4×ngf per block; 64/128 px: 16×ngf down to 2×ngf / ngf).
    shared_dim: size of the class embedding shared by all conditional BatchNorms.
    attention: side of the feature map that gets the self-attention block (0: none).
    """

    def __init__(self, data: DataInfo, latent_dim: int = 128, ngf: Annotated[int, Range(1, 1024)] = 32,
                 shared_dim: Annotated[int, Range(1, 4096)] = 128,
                 attention: Literal[0, 8, 16, 32, 64, 128] = 16):
        super().__init__(data, latent_dim)
        side = image_side(data, "biggan", G_WIDTHS)
        classes = require_num_classes(data, "biggan")
        widths = [m * ngf for m in G_WIDTHS[side]]
        slots = len(widths)  # one latent chunk for the 4x4 map, one per block
        if latent_dim < slots:
            raise ParamError(f"biggan at {side} px splits the latent into {slots} chunks, so it needs "
                             f"latent_dim >= {slots}, got {latent_dim}")
        sides = [4 * 2 ** (i + 1) for i in range(slots - 1)]
        _attention_check(attention, sides, "biggan")
        self.chunks = [len(c) for c in torch.arange(latent_dim).tensor_split(slots)]
        self.shared = nn.Embedding(classes, shared_dim)
        self.linear = sn(nn.Linear(self.chunks[0], 16 * widths[0]))
        self.blocks = nn.ModuleList()
        for (cin, cout), chunk, s in zip(pairwise(widths), self.chunks[1:], sides):
            norm = (lambda c, d=shared_dim + chunk: ConditionalBatchNorm2d(c, d))
            stage = nn.ModuleList([GBlock(cin, cout, norm=norm, spectral=True)])
            if s == attention:
                stage.append(SelfAttention(cout))
            self.blocks.append(stage)
        self.out_bn = nn.BatchNorm2d(widths[-1])
        self.out_conv = sn(nn.Conv2d(widths[-1], data.shape[0], 3, 1, 1))
        _ortho_init(self)

    def sample_latent(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None,
                      truncation_threshold: float | None = None) -> Tensor:
        """``n`` latent codes: standard normal, or with ``truncation_threshold`` the truncation trick's
        truncated normal (the whole z, every chunk of the hierarchical latent)."""
        if truncation_threshold is None:
            return super().sample_latent(n, device, generator)
        return truncated_normal((n, self.latent_dim), truncation_threshold, generator, device)

    def orthogonal_weights(self) -> list[Tensor]:
        """The weights BigGAN's orthogonal regularization acts on: every matrix or kernel but the class embedding.

        Raw (pre-spectral-normalization) weights, as in BigGAN-PyTorch's
        ``utils.ortho``; pass them to `orthogonal_regularization`.
        """
        return [p for name, p in self.named_parameters() if p.ndim >= 2 and not name.startswith("shared.")]

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        y = self.shared(require_labels(labels, "biggan"))
        zs = z.split(self.chunks, 1)
        h = self.linear(zs[0]).view(len(z), -1, 4, 4)
        for stage, chunk in zip(self.blocks, zs[1:]):
            cond = torch.cat([y, chunk], 1)
            assert isinstance(stage, nn.ModuleList)
            for layer in stage:
                h = layer(h, cond)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))


class BigGANDiscriminator(Discriminator):
    """BigGAN projection discriminator (Brock et al. 2019; projection: Miyato & Koyama 2018).

    Residual down-sampling blocks ("wide": the hidden width is the output
    width), one self-attention block, ReLU, global sum pooling, then a linear
    score plus the projection <embed(y), features>; spectral normalization on
    every layer, embedding included. BigGAN-PyTorch's D_arch for 32, 64 and
    128 px, scaled down by default (32 px: four blocks of 4×ndf = 128
    channels, two of them halving; the paper's ImageNet model has ndf=96).
    Returns raw scores (N,); needs class labels.

    ndf: channel multiplier (32 px: 4×ndf per block; 64/128 px: ndf up to 16×ndf).
    attention: side of the feature map that gets the self-attention block (0: none).
    """

    def __init__(self, data: DataInfo, ndf: Annotated[int, Range(1, 1024)] = 32,
                 attention: Literal[0, 8, 16, 32, 64, 128] = 16):
        super().__init__(data)
        side = image_side(data, "biggan", D_BLOCKS)
        classes = require_num_classes(data, "biggan")
        blocks: list[nn.Module] = []
        cin, s, sides = data.shape[0], side, []
        for i, (mult, down) in enumerate(D_BLOCKS[side]):
            cout = mult * ndf
            blocks.append(DBlock(cin, cout, downsample=down, preactivation=i > 0, hidden=cout))
            s = s // 2 if down else s
            sides.append(s)
            if s == attention and attention not in sides[:-1]:
                blocks.append(SelfAttention(cout))
            cin = cout
        _attention_check(attention, sides, "biggan")
        self.blocks = nn.Sequential(*blocks)
        self.linear = sn(nn.Linear(cin, 1))
        self.projection = LabelProjection(classes, cin)
        sn(self.projection.embed)
        _ortho_init(self)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """The (N, features) vector the score reads: ReLU then global sum pooling."""
        return F.relu(self.blocks(x)).sum((2, 3))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.features(x)
        return self.linear(h).view(-1) + self.projection(h, require_labels(labels, "biggan"))


def orthogonal_regularization(weights: Iterable[Tensor]) -> Tensor:
    """BigGAN's orthogonal regularization, R(W) = ||W Wᵀ ⊙ (1 − I)||²_F summed over ``weights``.

    Each weight is viewed as a matrix with one row per output unit (a
    convolution's kernel flattened); only the off-diagonal inner products of
    the rows are penalised, not their norms (Brock et al. 2019, section 3.1,
    with β = 1e-4 applied by the caller). The gradient is
    4 (W Wᵀ ⊙ (1 − I)) W; BigGAN-PyTorch's ``utils.ortho`` adds half of that,
    so its strength s equals β = s / 2 here. Parameters with fewer than two
    dimensions (biases, gains) are skipped.
    """
    total: Tensor | None = None
    for w in weights:
        if w.ndim < 2:
            continue
        m = w.reshape(w.shape[0], -1)
        gram = m @ m.t()
        off = gram - torch.diag_embed(torch.diagonal(gram))
        term = off.square().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_regularization got no weight with two or more dimensions")
    return total
