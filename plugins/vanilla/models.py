"""MLP generator and discriminator of the original GAN (Goodfellow et al. 2014)."""

from __future__ import annotations

from typing import Annotated, Literal

from torch import Tensor

from ganzoo.interfaces import DataInfo, Discriminator, Generator
from ganzoo.nn import mlp, mlp_hidden, mlp_minibatch_, output_activation, spectral_norm_
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
    ``features`` is the last hidden layer's output (after its dropout).

    hidden: widths of the hidden layers, input to output.
    dropout: dropout after each hidden layer; it slows D down enough for the
        MLP generator to keep up on MNIST (0 disables it).
    norm: "none", or "spectral": spectral normalization (Miyato et al. 2018)
        of every layer's weight, which keeps D about 1-Lipschitz.
    minibatch_features: minibatch discrimination (Salimans et al. 2016): that
        many features comparing each sample with the rest of its batch are
        appended to the last hidden layer (0: off). The score then depends on
        the whole batch.
    minibatch_dim: size of each compared row (the paper's C, 5).
    """

    def __init__(self, data: DataInfo, hidden: tuple[Annotated[int, Range(1, 16384)], ...] = (1024, 512, 256),
                 dropout: Annotated[float, Range(0, 1)] = 0.3, norm: Literal["none", "spectral"] = "none",
                 minibatch_features: Annotated[int, Range(0, 4096)] = 0,
                 minibatch_dim: Annotated[int, Range(1, 1024)] = 5):
        super().__init__(data)
        self.net = mlp(data.numel, hidden, 1, negative_slope=0.2, dropout=dropout)
        self.minibatch = mlp_minibatch_(self.net, minibatch_features, minibatch_dim)
        if norm == "spectral":
            spectral_norm_(self)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return mlp_hidden(self.net, x.flatten(1))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.minibatch is None:
            return self.net(x.flatten(1)).view(-1)
        return self.net[-1](self.minibatch(self.features(x))).view(-1)
