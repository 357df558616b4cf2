"""InfoGAN's training step: the gan algorithm's, plus the mutual-information term L_I on both sides."""

from __future__ import annotations

from torch import Tensor

from ganzoo.algorithm import Setup
from ganzoo.interfaces import LossInputs, forward_heads
from ganzoo_plugins.gan.algorithm import GAN

from .codes import Codes


class InfoGAN(GAN):
    """InfoGAN (Chen et al. 2016): a GAN whose generator also maximizes the mutual information between its
    latent codes and its samples, estimated by the discriminator's Q head.

    Each step is the gan algorithm's, with λ·L_I added to both losses: D's (Q learns to recover the codes of
    detached fakes) and G's (G learns to make them recoverable, D frozen).

    lambda_cat: weight of L_I's categorical part (the paper's λ = 1 for discrete codes).
    lambda_cont: weight of its continuous part (smaller, as the paper advises, to keep L_I on one scale).
    """

    def __init__(self, setup: Setup, lambda_cat: float = 1.0, lambda_cont: float = 0.1):
        super().__init__(setup)
        codes = self.G.codes
        assert isinstance(codes, Codes)
        self.codes = codes
        self.lambda_cat, self.lambda_cont = lambda_cat, lambda_cont

    def _information(self, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        assert inputs.z is not None
        cat, cont = self.codes.information(forward_heads(self.D, inputs.fake)["q"], inputs.z)
        total = self.lambda_cat * cat + self.lambda_cont * cont
        return total, {"info_cat": cat.detach(), "info_cont": cont.detach()}

    def d_objective(self, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        loss, parts = super().d_objective(inputs)
        info, info_parts = self._information(inputs)
        return loss + info, {**parts, **info_parts}

    def g_objective(self, inputs: LossInputs) -> tuple[Tensor, dict[str, Tensor]]:
        loss, parts = super().g_objective(inputs)
        info, info_parts = self._information(inputs)
        return loss + info, {**parts, **info_parts}
