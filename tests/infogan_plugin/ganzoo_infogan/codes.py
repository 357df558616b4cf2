"""The named latent codes of InfoGAN and their priors: where each lives in the latent vector."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F


@dataclass(frozen=True)
class Codes:
    """``latent_dim`` = noise + ``categories`` (one-hot "digit") + ``continuous`` ("c1", "c2", ...)."""

    latent_dim: int
    categories: int
    continuous: int

    def __post_init__(self) -> None:
        if self.noise < 1:
            raise ValueError(f"latent_dim {self.latent_dim} leaves no noise beside {self.categories} + "
                             f"{self.continuous} code dimensions")

    @property
    def noise(self) -> int:
        return self.latent_dim - self.categories - self.continuous

    @property
    def names(self) -> tuple[str, ...]:
        return ("digit",) + tuple(f"c{i + 1}" for i in range(self.continuous))

    def draw(self, n: int, *, device: torch.device | None = None, generator: torch.Generator | None = None,
             digit: Tensor | None = None, cont: dict[int, float] | None = None) -> Tensor:
        """``n`` latent vectors from the prior; ``digit`` (n,) and ``cont`` ({index: value}) fix codes."""
        where = generator.device if generator is not None else device
        z = torch.randn(n, self.noise, device=where, generator=generator)
        cat = torch.randint(0, self.categories, (n,), device=where, generator=generator) if digit is None \
            else digit.to(where)
        c = torch.rand(n, self.continuous, device=where, generator=generator) * 2 - 1
        for i, value in (cont or {}).items():
            c[:, i] = value
        out = torch.cat([z, F.one_hot(cat, self.categories).float(), c], dim=1)
        return out.to(device) if device is not None else out

    def split(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """(the category index (N,), the continuous codes (N, continuous)) of latent vectors."""
        cat = z[:, self.noise:self.noise + self.categories].argmax(dim=1)
        return cat, z[:, self.noise + self.categories:]

    def information(self, q: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        """InfoGAN's L_I, as (categorical, continuous): the cross-entropy of Q's logits against the category,
        and the Gaussian negative log-likelihood with unit variance (up to a constant) of the continuous codes,
        0.5·(c - mean)^2 (Chen et al. 2016, section 5)."""
        cat, cont = self.split(z)
        logits, means = q[:, :self.categories], q[:, self.categories:]
        return F.cross_entropy(logits.float(), cat), 0.5 * (cont - means.float()).pow(2).sum(1).mean()
