"""MLP generator and discriminator of the original GAN (Goodfellow et al. 2014)."""

from __future__ import annotations

from typing import Annotated

from torch import Tensor

from ganzoo.interfaces import DataInfo, Discriminator, Generator
from ganzoo.nn import mlp, output_activation
from ganzoo.params import Range


class VanillaGenerator(Generator):
    """MLP generator of the original GAN (Goodfellow et al. 2014).

    latent -> 256 -> 512 -> 1024 -> sample, ReLU between layers, Tanh on the
    output for images and a linear output for points. Sized from the number
    of values in one sample, so it works on any image size and on 2-D points.

    hidden: widths of the hidden layers, input to output.
    batchnorm: BatchNorm after each hidden layer (off, as in the paper).
    negative_slope: 0 gives ReLU; 0.2 gives the LeakyReLU of many MNIST MLP GANs.
    """

    def __init__(self, data: DataInfo, latent_dim: int = 100, hidden: tuple[Annotated[int, Range(1, 16384)], ...] = (256, 512, 1024),
                 batchnorm: bool = False, negative_slope: Annotated[float, Range(0, 1)] = 0.0):
        super().__init__(data, latent_dim)
        self.net = mlp(latent_dim, hidden, data.numel, negative_slope=negative_slope, batchnorm=batchnorm)
        self.out = output_activation(data)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.out(self.net(z)).view(-1, *self.data.shape)


class VanillaDiscriminator(Discriminator):
    """MLP discriminator of the original GAN (Goodfellow et al. 2014).

    sample -> 1024 -> 512 -> 256 -> 1 with LeakyReLU(0.2) and Dropout. Returns
    raw logits of shape (N,): the classic final Sigmoid is folded into the loss
    (BCE-with-logits), which is numerically stable where sigmoid-then-log is not.

    hidden: widths of the hidden layers, input to output.
    dropout: dropout after each hidden layer; it slows D down enough for the
        MLP generator to keep up on MNIST (0 disables it).
    """

    def __init__(self, data: DataInfo, hidden: tuple[Annotated[int, Range(1, 16384)], ...] = (1024, 512, 256),
                 dropout: Annotated[float, Range(0, 1)] = 0.3):
        super().__init__(data)
        self.net = mlp(data.numel, hidden, 1, negative_slope=0.2, dropout=dropout)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x.flatten(1)).view(-1)
