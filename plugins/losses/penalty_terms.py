"""Gradient penalties on the discriminator."""

from __future__ import annotations

from torch import Tensor

from ganzoo.interfaces import LossInputs, LossTerm

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
    """

    penalizes_input_gradients = True

    def d_loss(self, inputs: LossInputs) -> Tensor:
        grad = input_gradients(inputs.discriminator, inputs.real, inputs.labels)
        return 0.5 * grad.pow(2).sum(dim=1).mean()
