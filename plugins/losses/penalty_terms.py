"""Penalties: gradient penalties and ProGAN's drift on the discriminator, BigGAN's orthogonal regularization of G."""

from __future__ import annotations

from typing import Annotated

import torch
from torch import Tensor

from ganzoo.errors import UsageError
from ganzoo.interfaces import LossInputs, LossTerm
from ganzoo.nn import orthogonal_regularization, orthogonal_weights
from ganzoo.params import Range

from .gradients import input_gradients


class R1Penalty(LossTerm):
    """R1 gradient penalty on real data (Mescheder et al. 2018); discriminator side only.

    - D: 0.5 · mean_i ||∇ₓ D(x_i)||²  over the real batch.
    - G: nothing.

    The strength γ is the term's weight in the loss spec, so ``hinge+10*r1``
    adds (10/2) · E||∇D(x)||² to D's loss, matching the paper's (γ/2) form;
    γ = 10 is a common choice for images, smaller values for small data.
    In conditional training D is called with the batch's labels. The penalty
    is computed in float32 even under autocast. Like any per-sample penalty it
    assumes D scores each sample on its own: BatchNorm couples the samples of a
    batch and dropout makes the gradient random (a run warns about both).

    every: lazy regularization (StyleGAN2, Karras et al. 2020, section 3.1):
        the penalty is computed only on steps that are a multiple of
        ``every`` and then multiplied by ``every``, so its average strength is
        unchanged while the double backward runs once in ``every`` steps
        (StyleGAN2 uses 16). Other steps give 0. Steps are generator steps
        (``LossInputs.step``): with n_critic > 1 every D update of such a step
        is regularized. StyleGAN2 also rescales Adam's learning rate and betas
        by every/(every + 1), which this term cannot do; 1 (the default)
        regularizes every step.
    """

    penalizes_input_gradients = True

    def __init__(self, every: Annotated[int, Range(1, None)] = 1):
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise UsageError(f"r1: every must be a positive integer, got {every}", "StyleGAN2 uses every=16")
        self.every = int(every)

    def d_loss(self, inputs: LossInputs) -> Tensor:
        if inputs.step % self.every:
            # a zero, not None: the logged parts keep the same keys on every step
            return torch.zeros((), device=inputs.real.device)
        grad = input_gradients(inputs.discriminator, inputs.real, inputs.labels)
        penalty = 0.5 * grad.pow(2).sum(dim=1).mean()
        return penalty * self.every if self.every != 1 else penalty


class DriftPenalty(LossTerm):
    """ProGAN's drift penalty on the critic's real scores (Karras et al. 2018, appendix A.1); D side only.

    - D: mean_i D(x_i)²  over the real batch.
    - G: nothing.

    A Wasserstein critic's scores are free to drift away from zero together,
    which the gradient penalty does not prevent; this keeps them near it. The
    weight is the paper's ε_drift: ``wgan-gp+0.001*drift``.
    """

    def d_loss(self, inputs: LossInputs) -> Tensor:
        if inputs.d_real is None:
            raise ValueError("drift reads D's real scores, and LossInputs.d_real is None")
        return inputs.d_real.float().pow(2).mean()


class OrthogonalRegularization(LossTerm):
    """BigGAN's orthogonal regularization of the generator's weights (Brock et al. 2019, eq. 3); G side only.

    - G: Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F over G's weights, each viewed as a matrix with
      one row per output unit (a convolution's kernel flattened).
    - D: nothing.

    Only the inner products between different filters are penalised, not their
    norms, which the paper found keeps G amenable to the truncation trick.
    β is the term's weight: ``hinge+1e-4*ortho`` is the paper's β = 10⁻⁴.
    BigGAN-PyTorch's ``--G_ortho s`` adds half this gradient, so it matches
    weight s/2 here. The weights are those of BigGAN-PyTorch's ``utils.ortho``:
    every trainable parameter with two or more dimensions (the raw weight of a
    spectrally normalized layer) except embedding tables; biases and
    BatchNorm gains are skipped. Reads the generator from
    ``LossInputs.generator``; computed in float32 even under autocast. Its
    value does not depend on the samples, only on G's weights.
    """

    def g_loss(self, inputs: LossInputs) -> Tensor:
        if inputs.generator is None:
            raise ValueError("ortho reads the generator's weights, and LossInputs.generator is None")
        return orthogonal_regularization(orthogonal_weights(inputs.generator))
