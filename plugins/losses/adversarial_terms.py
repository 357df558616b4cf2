"""Adversarial loss terms. Discriminators give raw logits; each term applies its own link."""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import UsageError
from ganzoo.interfaces import LossInputs, LossTerm
from ganzoo.params import Range

from .gradients import input_gradients


def _f32(scores: Tensor | None) -> Tensor:
    # scores may be half precision under autocast; the reductions below are not safe there
    if scores is None:
        raise ValueError("this loss needs D's scores on the real batch (inputs.d_real) in the discriminator step")
    return scores.float()


class BCELoss(LossTerm):
    """Non-saturating GAN loss (Goodfellow et al. 2014), the usual default.

    - D: BCE(D(x), s) + BCE(D(G(z)), 0)
      = mean [s·softplus(−D(x)) + (1 − s)·softplus(D(x))] + mean softplus(D(G(z))).
    - G: BCE(D(G(z)), 1) = mean softplus(−D(G(z))).

    D outputs logits; the sigmoid is applied here in its numerically stable
    softplus form. The generator maximises log D(G(z)) instead of minimising
    log(1 − D(G(z))), which keeps its gradient alive while D is winning.

    smooth: the target s for real samples in D's loss. 1 (the default) is
        plain BCE; 0.9 is the one-sided label smoothing of Salimans et al.
        (2016): D stops being rewarded for ever more confident real scores,
        its optimum becomes 0.9·p_data / (p_data + p_model), and the fakes'
        target stays 0 (smoothing it too would keep the fakes where they are).
        The generator's target is untouched.
    """

    scores_are_logits = True
    _name = "bce"  # for messages: minimax shares this constructor

    def __init__(self, smooth: Annotated[float, Range(0, 1)] = 1.0):
        if not 0 < smooth <= 1:
            raise UsageError(f"{self._name}: smooth (the real target of D) must be in (0, 1], got {smooth}",
                             "0.9 is the usual one-sided label smoothing; 1 turns it off")
        self.smooth = float(smooth)

    def d_loss(self, inputs: LossInputs) -> Tensor:
        d_real = _f32(inputs.d_real)
        real = F.softplus(-d_real)
        if self.smooth != 1.0:
            real = self.smooth * real + (1 - self.smooth) * F.softplus(d_real)
        return real.mean() + F.softplus(_f32(inputs.d_fake)).mean()

    def g_loss(self, inputs: LossInputs) -> Tensor:
        return F.softplus(-_f32(inputs.d_fake)).mean()


class MinimaxLoss(BCELoss):
    """The original saturating minimax GAN loss (Goodfellow et al. 2014).

    - D: mean softplus(−D(x)) + mean softplus(D(G(z)))  (the same as bce).
    - G: minimises E[log(1 − σ(D(G(z))))] = −mean softplus(D(G(z))).

    Of historical and teaching interest: once D confidently rejects the
    fakes, G's gradient vanishes (the loss saturates), so training often
    stalls early. Use bce for real work.

    smooth: the target for real samples in D's loss, as for bce (1: off).
    """

    _name = "minimax"

    def g_loss(self, inputs: LossInputs) -> Tensor:
        return -F.softplus(_f32(inputs.d_fake)).mean()


class LSGANLoss(LossTerm):
    """Least-squares GAN loss (Mao et al. 2017) with targets a=0, b=1, c=1.

    - D: 0.5 · mean (D(x) − 1)² + 0.5 · mean D(G(z))².
    - G: 0.5 · mean (D(G(z)) − 1)².

    Acts on D's raw output (no sigmoid): fakes are penalised by their
    distance to the real target, so G keeps a gradient even for samples D
    classifies correctly.
    """

    def d_loss(self, inputs: LossInputs) -> Tensor:
        return 0.5 * (_f32(inputs.d_real) - 1).pow(2).mean() + 0.5 * _f32(inputs.d_fake).pow(2).mean()

    def g_loss(self, inputs: LossInputs) -> Tensor:
        return 0.5 * (_f32(inputs.d_fake) - 1).pow(2).mean()


class HingeLoss(LossTerm):
    """Hinge GAN loss (Lim & Ye 2017; used by SNGAN, SAGAN, BigGAN).

    - D: mean relu(1 − D(x)) + mean relu(1 + D(G(z))).
    - G: −mean D(G(z)).

    D stops pushing on samples already beyond the margin, which pairs well
    with spectral normalisation and an R1 penalty (``hinge+10*r1``).
    """

    def d_loss(self, inputs: LossInputs) -> Tensor:
        return F.relu(1 - _f32(inputs.d_real)).mean() + F.relu(1 + _f32(inputs.d_fake)).mean()

    def g_loss(self, inputs: LossInputs) -> Tensor:
        return -_f32(inputs.d_fake).mean()


class WGANGPLoss(LossTerm):
    """Wasserstein loss with gradient penalty (WGAN-GP, Gulrajani et al. 2017).

    - D (critic): mean D(G(z)) − mean D(x) + gp_weight · mean (||∇D(x̂)||₂ − 1)²,
      with x̂ = ε·x + (1 − ε)·G(z), ε ~ U[0, 1] drawn per sample.
    - G: −mean D(G(z)).

    D's output is an unbounded critic score, not a probability. The critic
    runs ``n_critic`` steps per generator step. The penalty is taken per
    sample, so the critic should not use BatchNorm (it couples the samples of
    a batch); layer norm or no normalisation is standard. The penalty is
    computed in float32 even under autocast; in conditional training the
    critic sees the batch's labels on the interpolates.
    """

    penalizes_input_gradients = True

    def __init__(self, gp_weight: float = 10.0, n_critic: int = 5):
        if not gp_weight >= 0:
            raise UsageError(f"wgan-gp: gp_weight must be >= 0, got {gp_weight}")
        if int(n_critic) != n_critic or n_critic < 1:
            raise UsageError(f"wgan-gp: n_critic must be a positive integer, got {n_critic}")
        self.gp_weight = float(gp_weight)
        self.n_critic = int(n_critic)
        self.penalizes_input_gradients = self.gp_weight > 0

    def gradient_penalty(self, inputs: LossInputs) -> Tensor:
        real, fake = inputs.real.detach().float(), inputs.fake.detach().float()
        eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device)
        interpolates = eps * real + (1 - eps) * fake
        grad = input_gradients(inputs.discriminator, interpolates, inputs.labels)
        return (grad.norm(2, dim=1) - 1).pow(2).mean()

    def d_loss(self, inputs: LossInputs) -> Tensor:
        loss = _f32(inputs.d_fake).mean() - _f32(inputs.d_real).mean()
        if self.gp_weight:
            loss = loss + self.gp_weight * self.gradient_penalty(inputs)
        return loss

    def g_loss(self, inputs: LossInputs) -> Tensor:
        return -_f32(inputs.d_fake).mean()
