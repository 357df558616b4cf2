"""InfoGAN's networks (Chen et al. 2016), as MLPs small enough for a test: a generator whose latent input is
incompressible noise z plus named codes, and a discriminator whose shared trunk also feeds Q, the head that
recovers the codes from a sample."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganzoo.interfaces import Discriminator, Generator
from ganzoo.specs import DataInfo

from .codes import Codes


class InfoGenerator(Generator):
    """The InfoGAN generator: z (``noise`` dims of N(0, 1)), a one-hot categorical code and continuous codes
    in U(-1, 1), concatenated into one latent vector of ``latent_dim`` = noise + categories + continuous.

    categories: values of the categorical code "digit" (the paper's 10 for MNIST).
    continuous: how many continuous codes "c1", "c2", ... (the paper's 2).
    hidden: width of the hidden layer.
    """

    def __init__(self, data: DataInfo, latent_dim: int = 16, categories: int = 10, continuous: int = 2,
                 hidden: int = 128):
        super().__init__(data, latent_dim)
        self.codes = Codes(latent_dim, categories, continuous)
        self.out_shape = tuple(data.shape)
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                                 nn.Linear(hidden, int(torch.tensor(self.out_shape).prod())), nn.Tanh())

    def sample_latent(self, n: int, device: torch.device | None = None,
                      generator: torch.Generator | None = None) -> Tensor:
        """The paper's prior: noise, a uniform category, uniform continuous codes (what training draws)."""
        return self.codes.draw(n, device=device, generator=generator)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z).view(len(z), *self.out_shape)


class InfoDiscriminator(Discriminator):
    """The InfoGAN discriminator: a shared trunk, the real/fake score, and Q, the head that predicts the
    codes (the category's logits, then the continuous codes' means).

    categories / continuous: as the generator's.
    hidden: width of the trunk.
    """

    def __init__(self, data: DataInfo, categories: int = 10, continuous: int = 2, hidden: int = 128):
        super().__init__(data)
        size = int(torch.tensor(tuple(data.shape)).prod())
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(size, hidden), nn.LeakyReLU(0.2))
        self.score = nn.Linear(hidden, 1)
        self.q = nn.Sequential(nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, categories + continuous))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.score(self.trunk(x)).reshape(-1)

    def forward_heads(self, x: Tensor, labels: Tensor | None = None) -> dict[str, Tensor]:
        h = self.trunk(x)
        return {"main": self.score(h).reshape(-1), "q": self.q(h)}
