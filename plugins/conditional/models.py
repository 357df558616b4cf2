"""Class-conditional generators and discriminators.

Labels enter by concatenation (an embedding joined to z, or to the flattened
sample) except in the convolutional discriminator, which uses a projection.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from torch import Tensor, nn

from ganzoo.interfaces import DataInfo, Discriminator, Generator
from ganzoo.nn import (LabelProjection, conv_down_stack, conv_resolution, conv_up_stack, minibatch_head,
                       init_normal_, mlp, mlp_hidden, output_activation, require_labels, require_num_classes,
                       spectral_norm_)
from ganzoo.params import Range


class CGANGenerator(Generator):
    """Conditional MLP generator (Mirza & Osindero 2014): z joined with a label embedding.

    [z, embed(y)] -> 256 -> 512 -> 1024 -> sample, ReLU between layers, Tanh for
    images, linear for points. Needs a labelled dataset; forward takes labels (N,).

    hidden: widths of the hidden layers, input to output.
    embed_dim: size of the label embedding (None: the number of classes).
    batchnorm: BatchNorm after each hidden layer.
    """

    def __init__(self, data: DataInfo, latent_dim: int = 100, hidden: tuple[Annotated[int, Range(1, 16384)], ...] = (256, 512, 1024),
                 embed_dim: Annotated[int, Range(1, 4096)] | None = None, batchnorm: bool = False):
        super().__init__(data, latent_dim)
        classes = require_num_classes(data, "cgan")
        self.embed = nn.Embedding(classes, embed_dim or classes)
        self.net = mlp(latent_dim + self.embed.embedding_dim, hidden, data.numel, batchnorm=batchnorm)
        self.out = output_activation(data)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        y = self.embed(require_labels(labels, "cgan"))
        return self.out(self.net(torch.cat([z, y], 1))).view(-1, *self.data.shape)


class CGANDiscriminator(Discriminator):
    """Conditional MLP discriminator (Mirza & Osindero 2014): the sample joined with a label embedding.

    [x, embed(y)] -> 1024 -> 512 -> 256 -> 1 with LeakyReLU(0.2) and Dropout.
    Returns raw logits (N,): the classic Sigmoid is folded into the loss for
    numerical stability. Needs a labelled dataset; forward takes labels (N,).

    ``features`` is the last hidden layer's output for the sample and its label.

    hidden: widths of the hidden layers, input to output.
    embed_dim: size of the label embedding (None: the number of classes).
    dropout: dropout after each hidden layer (0 disables it).
    norm: "none", or "spectral": spectral normalization (Miyato et al. 2018)
        of every weight, the label embedding's included.
    """

    def __init__(self, data: DataInfo, hidden: tuple[Annotated[int, Range(1, 16384)], ...] = (1024, 512, 256),
                 embed_dim: Annotated[int, Range(1, 4096)] | None = None,
                 dropout: Annotated[float, Range(0, 1)] = 0.3, norm: Literal["none", "spectral"] = "none"):
        super().__init__(data)
        classes = require_num_classes(data, "cgan")
        self.embed = nn.Embedding(classes, embed_dim or classes)
        self.net = mlp(data.numel + self.embed.embedding_dim, hidden, 1, negative_slope=0.2, dropout=dropout)
        if norm == "spectral":
            spectral_norm_(self)

    def _input(self, x: Tensor, labels: Tensor | None) -> Tensor:
        return torch.cat([x.flatten(1), self.embed(require_labels(labels, "cgan"))], 1)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return mlp_hidden(self.net, self._input(x, labels))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self._input(x, labels)).view(-1)


class CDCGANGenerator(Generator):
    """Conditional DCGAN generator: z joined with a label embedding, then the DCGAN up-stack.

    Transposed convolutions with BatchNorm and ReLU, Tanh out, for 28, 32 or
    64 px images with any number of channels. Needs a labelled dataset;
    forward takes labels (N,).

    ngf: channels of the last hidden feature map; earlier maps have ngf*2, ngf*4, ...
    embed_dim: size of the label embedding (None: the number of classes).
    """

    def __init__(self, data: DataInfo, latent_dim: int = 100, ngf: Annotated[int, Range(1, 1024)] = 64,
                 embed_dim: Annotated[int, Range(1, 4096)] | None = None):
        super().__init__(data, latent_dim)
        classes = require_num_classes(data, "cdcgan")
        resolution = conv_resolution(data, "cdcgan")
        self.embed = nn.Embedding(classes, embed_dim or classes)
        self.net = init_normal_(conv_up_stack(latent_dim + self.embed.embedding_dim, data.shape[0], resolution, ngf))

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        y = self.embed(require_labels(labels, "cdcgan"))
        return self.net(torch.cat([z, y], 1))


class CDCGANDiscriminator(Discriminator):
    """Conditional DCGAN discriminator with a projection head (Miyato & Koyama 2018).

    The DCGAN down-stack turns the image into features h (its last feature
    map, flattened); the score is linear(h) + <embed(y), h>. Projection rather
    than concatenated label maps: the label acts on what D has learned to see
    instead of on raw pixels, which is what made it stronger in the paper.
    Returns raw logits (N,): the classic Sigmoid is folded into the loss for
    numerical stability. Needs a labelled dataset; forward takes labels (N,).

    ``features`` is h (labels do not enter it).

    ndf: channels of the first feature map; later maps have ndf*2, ndf*4, ...
    norm: "batch", "layer" (GroupNorm(1, C)), "none" or "spectral" (spectral
        normalization of every weight, the projection's embedding included,
        as in Miyato & Koyama's SNGAN projection discriminator); see the dcgan
        discriminator.
    minibatch_features: minibatch discrimination (Salimans et al. 2016) before
        the unconditional part of the score, as in the dcgan discriminator
        (0: off; the paper uses 100). The projection still reads h alone.
    minibatch_dim: size of each compared row (the paper's C, 5).
    """

    def __init__(self, data: DataInfo, ndf: Annotated[int, Range(1, 1024)] = 64,
                 norm: Literal["batch", "layer", "none", "spectral"] = "batch",
                 minibatch_features: Annotated[int, Range(0, 4096)] = 0,
                 minibatch_dim: Annotated[int, Range(1, 1024)] = 5):
        super().__init__(data)
        classes = require_num_classes(data, "cdcgan")
        resolution = conv_resolution(data, "cdcgan")
        self.body, channels, side = conv_down_stack(data.shape[0], resolution, ndf,
                                                    "none" if norm == "spectral" else norm)
        self.minibatch, self.head = minibatch_head(channels, side, minibatch_features, minibatch_dim)
        init_normal_(self)
        self.project = LabelProjection(classes, channels * side * side)
        if norm == "spectral":
            spectral_norm_(self)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.body(x).flatten(1)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.body(x)
        unconditional = self.head(h if self.minibatch is None else self.minibatch(h)).view(-1)
        return unconditional + self.project(h, require_labels(labels, "cdcgan"))
