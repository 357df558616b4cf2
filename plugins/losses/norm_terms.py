"""Sample-matching regularizers for the generator (as in pix2pix's L1 term)."""

from __future__ import annotations

from torch import Tensor

from ganzoo.errors import UsageError
from ganzoo.interfaces import LossInputs, LossTerm


def _paired_difference(name: str, inputs: LossInputs) -> Tensor:
    fake, real = inputs.fake, inputs.real
    if fake.shape != real.shape:
        raise UsageError(f"loss {name!r} pairs each fake with the real sample at the same index, but the "
                         f"batches have shapes {tuple(fake.shape)} and {tuple(real.shape)}",
                         "generate as many fakes as there are real samples per batch")
    # float32 so the mean over many small differences is not rounded away under autocast
    return fake.float() - real.detach().float()


class L1Loss(LossTerm):
    """Mean absolute difference between each fake and the real sample at the same batch index; generator side only.

    - G: mean |G(z_i) − x_i|  over every element.
    - D: nothing.

    Fakes are paired with reals by position, so the term pulls samples toward
    the data only as far as that pairing means something: in conditional
    training each fake is generated with the label of the real sample it is
    paired with, so each pair shares its class. Works on image batches
    (N, C, H, W) and point batches (N, D) alike.
    """

    def g_loss(self, inputs: LossInputs) -> Tensor:
        return _paired_difference("l1", inputs).abs().mean()


class L2Loss(LossTerm):
    """Mean squared difference between each fake and the real sample at the same batch index; generator side only.

    - G: mean (G(z_i) − x_i)²  over every element.
    - D: nothing.

    Pairing is by batch position, as for l1 (in conditional training each
    pair shares its class). Squared errors favour blurry averages more than
    l1 does; keep the weight small.
    """

    def g_loss(self, inputs: LossInputs) -> Tensor:
        return _paired_difference("l2", inputs).pow(2).mean()
