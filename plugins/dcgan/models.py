"""DCGAN generator and discriminator (Radford, Metz & Chintala 2016)."""

from __future__ import annotations

from typing import Annotated, Literal

from torch import Tensor

from ganzoo.interfaces import DataInfo, Discriminator, Generator
from ganzoo.nn import (conv_down_stack, conv_resolution, conv_up_stack, init_normal_, minibatch_head,
                       spectral_norm_)
from ganzoo.params import Range


class DCGANGenerator(Generator):
    """DCGAN generator (Radford et al. 2016): transposed convolutions, BatchNorm, ReLU, Tanh.

    The latent vector is projected to a small feature map and doubled in size
    by stride-2 transposed convolutions, with no pooling and no fully connected
    hidden layers. 64 px is the classic 4 -> 8 -> 16 -> 32 -> 64 stack (ngf*8
    channels at 4x4); 32 px goes 4 -> 8 -> 16 -> 32 and 28 px goes 7 -> 14 -> 28.
    Any number of channels; images only. Weights start at N(0, 0.02).

    ngf: channels of the last hidden feature map; earlier maps have ngf*2, ngf*4, ...
    """

    def __init__(self, data: DataInfo, latent_dim: int = 100, ngf: Annotated[int, Range(1, 1024)] = 64):
        super().__init__(data, latent_dim)
        resolution = conv_resolution(data, "dcgan")
        self.net = init_normal_(conv_up_stack(latent_dim, data.shape[0], resolution, ngf))

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z)


class DCGANDiscriminator(Discriminator):
    """DCGAN discriminator (Radford et al. 2016): strided convolutions, BatchNorm, LeakyReLU(0.2).

    Mirrors the generator: stride-2 convolutions halve the image down to 4x4
    (7x7 for 28 px), with BatchNorm on every layer but the first and no
    pooling; a final convolution gives one score per image. Returns raw logits
    of shape (N,): the classic final Sigmoid is folded into the loss
    (BCE-with-logits) for numerical stability. Weights start at N(0, 0.02).
    ``features`` is the last feature map, flattened (what the score is a
    linear function of; before any minibatch features).

    ndf: channels of the first feature map; later maps have ndf*2, ndf*4, ...
    norm: "batch" (DCGAN's BatchNorm), "layer" (GroupNorm(1, C)), "none", or
        "spectral": no normalization layers, spectral normalization (Miyato et
        al. 2018) of every weight instead, which keeps each layer about
        1-Lipschitz. Use "layer", "none" or "spectral" with per-sample gradient
        penalties such as wgan-gp and r1.
    minibatch_features: minibatch discrimination (Salimans et al. 2016): that
        many features comparing each image with the rest of its batch are
        appended before the score, so D can see a collapsed batch (0: off;
        the paper uses 100). The score then depends on the whole batch.
    minibatch_dim: size of each compared row (the paper's C, 5).
    """

    def __init__(self, data: DataInfo, ndf: Annotated[int, Range(1, 1024)] = 64,
                 norm: Literal["batch", "layer", "none", "spectral"] = "batch",
                 minibatch_features: Annotated[int, Range(0, 4096)] = 0,
                 minibatch_dim: Annotated[int, Range(1, 1024)] = 5):
        super().__init__(data)
        resolution = conv_resolution(data, "dcgan")
        self.body, channels, side = conv_down_stack(data.shape[0], resolution, ndf,
                                                    "none" if norm == "spectral" else norm)
        self.minibatch, self.head = minibatch_head(channels, side, minibatch_features, minibatch_dim)
        init_normal_(self)
        if norm == "spectral":
            spectral_norm_(self)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.body(x).flatten(1)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.body(x)
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.head(h).view(-1)
