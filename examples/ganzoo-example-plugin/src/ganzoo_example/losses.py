"""The rel-avg loss term: the relativistic average GAN loss (Jolicoeur-Martineau 2018)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.interfaces import LossInputs, LossTerm


def _scores(inputs: LossInputs) -> tuple[Tensor, Tensor]:
    if inputs.d_real is None:
        raise ValueError("rel-avg needs D's scores on the real batch (inputs.d_real)")
    # float32: scores may be half precision under autocast
    return inputs.d_real.float(), inputs.d_fake.float()


class RelativisticAverageLoss(LossTerm):
    """Relativistic average GAN loss, RaSGAN (Jolicoeur-Martineau 2018).

    D estimates how much more realistic a real sample is than the average
    fake, and the other way round. With C the raw score and softplus the
    stable form of BCE-with-logits:

    - D: mean softplus(−(C(x) − mean C(G(z)))) + mean softplus(C(G(z)) − mean C(x)).
    - G: mean softplus(−(C(G(z)) − mean C(x))) + mean softplus(C(x) − mean C(G(z))).

    The generator's loss reads D's scores on the real batch too, so the term
    sets ``needs_real_scores_for_g``: the trainer then scores the real batch
    in the generator step as well. Symmetric and non-saturating; a drop-in
    replacement for bce.
    """

    needs_real_scores_for_g = True

    def d_loss(self, inputs: LossInputs) -> Tensor:
        real, fake = _scores(inputs)
        return F.softplus(-(real - fake.mean())).mean() + F.softplus(fake - real.mean()).mean()

    def g_loss(self, inputs: LossInputs) -> Tensor:
        real, fake = _scores(inputs)
        return F.softplus(-(fake - real.mean())).mean() + F.softplus(real - fake.mean()).mean()
