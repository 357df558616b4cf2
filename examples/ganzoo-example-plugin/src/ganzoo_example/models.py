"""The resnet-mlp generator and discriminator: MLPs built from residual blocks.

Both act on flattened samples, so one pair works on 2-D points and on small
images alike (28 px greyscale, 32 px RGB, ...). Importing this module imports
torch; the registration module (`ganzoo_example`) only names these classes.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.interfaces import DataInfo, Discriminator, Generator


class ResidualBlock(nn.Module):
    """x + Linear(act(Linear(act(norm(x))))): a pre-activation residual block of constant width.

    The second Linear starts small (weights scaled by 0.1) so that a deep stack
    starts close to the identity and trains as easily as a shallow one.
    """

    def __init__(self, width: int, negative_slope: float = 0.2, layernorm: bool = False):
        super().__init__()
        self.branch = nn.Sequential(
            nn.LayerNorm(width) if layernorm else nn.Identity(),
            nn.LeakyReLU(negative_slope),
            nn.Linear(width, width),
            nn.LeakyReLU(negative_slope),
            nn.Linear(width, width),
        )
        self.branch[-1].weight.data.mul_(0.1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.branch(x)


def _check(width: int, blocks: int, who: str) -> None:
    if int(width) != width or width < 1:
        raise ValueError(f"{who}: width must be a positive integer, got {width!r}")
    if int(blocks) != blocks or blocks < 0:
        raise ValueError(f"{who}: blocks must be a non-negative integer, got {blocks!r}")


class ResNetMLPGenerator(Generator):
    """Residual-MLP generator: latent -> width -> residual blocks -> sample.

    A linear layer lifts z to ``width`` features, ``blocks`` pre-activation
    residual blocks (LeakyReLU, LayerNorm) refine them, and a linear layer
    maps them to one sample: Tanh on the output for images (pixels in
    [-1, 1]), linear for points. Works on 2-D points and on any image shape
    (it sees flattened samples); best on points and small images such as
    28 px MNIST.

    width: features of every hidden layer.
    blocks: number of residual blocks (two Linear layers each).
    layernorm: LayerNorm at the start of each block (per sample, so it does
        not couple the samples of a batch as BatchNorm would).
    """

    def __init__(self, data: DataInfo, latent_dim: int = 100, width: int = 256, blocks: int = 3,
                 layernorm: bool = True):
        super().__init__(data, latent_dim)
        _check(width, blocks, "resnet-mlp")
        self.net = nn.Sequential(
            nn.Linear(latent_dim, width),
            *[ResidualBlock(width, layernorm=layernorm) for _ in range(blocks)],
            nn.LeakyReLU(0.2),
            nn.Linear(width, data.numel),
            nn.Tanh() if data.is_image else nn.Identity(),
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z).view(-1, *self.data.shape)


class ResNetMLPDiscriminator(Discriminator):
    """Residual-MLP discriminator: sample -> width -> residual blocks -> one score.

    The mirror of the resnet-mlp generator, with no normalisation by default
    so it can be used with gradient penalties (wgan-gp, r1). Returns raw
    logits of shape (N,): there is no final Sigmoid, the loss applies its own
    link function.

    width: features of every hidden layer.
    blocks: number of residual blocks (two Linear layers each).
    layernorm: LayerNorm at the start of each block.
    """

    def __init__(self, data: DataInfo, width: int = 256, blocks: int = 3, layernorm: bool = False):
        super().__init__(data)
        _check(width, blocks, "resnet-mlp")
        self.net = nn.Sequential(
            nn.Linear(data.numel, width),
            *[ResidualBlock(width, layernorm=layernorm) for _ in range(blocks)],
            nn.LeakyReLU(0.2),
            nn.Linear(width, 1),
        )

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x.flatten(1)).view(-1)
