"""The SNGAN ResNet generator and discriminator (Miyato et al. 2018) for 32 and 64 px."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.interfaces import DataInfo, Discriminator, Generator
from ganzoo.params import Range

from .blocks import DBlock, GBlock, conv, image_side, linear

#: channel multipliers of the official models (pfnet-research/sngan_projection): the first is the 4x4 map
#: the latent is projected to, then one up-sampling block per doubling
G_WIDTHS = {32: (4, 4, 4, 4), 64: (16, 8, 4, 2, 1)}
#: per block: output width multiplier and whether it halves the map; the first block is the "optimized" one
D_BLOCKS = {32: ((2, True), (2, True), (2, False), (2, False)),
            64: ((1, True), (2, True), (4, True), (8, True), (16, True))}


class ResNetGenerator(Generator):
    """SNGAN ResNet generator (Miyato et al. 2018, "Spectral Normalization for GANs", appendix B.4).

    z -> linear to a 4x4 map -> residual up-sampling blocks (BN-ReLU-upsample-
    conv3-BN-ReLU-conv3, with a 1x1 shortcut) -> BN-ReLU-conv3-Tanh. 32 px is
    the CIFAR-10 model (three blocks of 4×ngf = 256 channels, about 4.3 M
    parameters with a 128-d latent); 64 px is the 64 px model of the official
    code (16×ngf -> 8×ngf -> 4×ngf -> 2×ngf -> ngf). Any number of channels.
    The paper trains it with the hinge loss, Adam(2e-4, 0, 0.9) and five D
    steps per G step.

    ngf: channel multiplier (32 px: 4×ngf in every block; 64 px: 16×ngf down to ngf).
    """

    def __init__(self, data: DataInfo, latent_dim: int = 128, ngf: Annotated[int, Range(1, 1024)] = 64):
        super().__init__(data, latent_dim)
        side = image_side(data, "resnet", G_WIDTHS)
        widths = [m * ngf for m in G_WIDTHS[side]]
        self.linear = linear(latent_dim, 16 * widths[0], spectral=False)
        self.blocks = nn.ModuleList(GBlock(a, b) for a, b in pairwise(widths))
        self.out_bn = nn.BatchNorm2d(widths[-1])
        self.out_conv = conv(widths[-1], data.shape[0], 3, spectral=False, gain=1.0)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.linear(z).view(len(z), -1, 4, 4)
        for block in self.blocks:
            h = block(h)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))


class ResNetDiscriminator(Discriminator):
    """SNGAN ResNet discriminator (Miyato et al. 2018): residual blocks, spectral normalization on every layer.

    An "optimized" first block (conv3-ReLU-conv3-avgpool, pooled 1x1
    shortcut), then pre-activation residual blocks, ReLU, global sum pooling and
    a linear score without bias. 32 px is the CIFAR-10 model (2×ndf = 128
    channels throughout, two blocks halve the map; about 1.05 M parameters);
    64 px doubles the width each block from ndf to 16×ndf. Spectral
    normalization (one power iteration per training forward) keeps each
    layer's largest singular value near 1, so D is about 1-Lipschitz. Returns
    raw scores (N,). No BatchNorm, so gradient penalties (r1, wgan-gp) apply.

    ndf: channel multiplier (32 px: 2×ndf in every block; 64 px: ndf up to 16×ndf).
    spectral: spectral normalization of every weight (turn off only for ablations).
    """

    def __init__(self, data: DataInfo, ndf: Annotated[int, Range(1, 1024)] = 64, spectral: bool = True):
        super().__init__(data)
        side = image_side(data, "resnet", D_BLOCKS)
        blocks: list[nn.Module] = []
        cin = data.shape[0]
        for i, (mult, down) in enumerate(D_BLOCKS[side]):
            blocks.append(DBlock(cin, mult * ndf, downsample=down, preactivation=i > 0, spectral=spectral))
            cin = mult * ndf
        self.blocks = nn.Sequential(*blocks)
        self.linear = linear(cin, 1, spectral=spectral, bias=False)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """The (N, features) vector the score is a linear function of: ReLU then global sum pooling."""
        return F.relu(self.blocks(x)).sum((2, 3))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.linear(self.features(x)).view(-1)
