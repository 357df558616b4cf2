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

    On unpaired data (every dataset ganzoo ships) x_i is just another random
    sample, unrelated to z_i, so the term is E_z E_x |G(z) − x|, whose
    minimum over G is the per-pixel *median* of the data, the same output
    for every z: it rewards collapse toward one blurry average (on mnist-10k
    the median image scores 0.25, a real digit 0.34 on average). A run that uses it on
    such data warns at the start; keep the weight small, or use it only with
    paired data, where x_i is the target for the input of G(z_i) (pix2pix).
    In conditional training each pair at least shares its class. Works on
    image batches (N, C, H, W) and point batches (N, D) alike.
    """

    pairs_by_index = True

    def g_loss(self, inputs: LossInputs) -> Tensor:
        return _paired_difference("l1", inputs).abs().mean()


class L2Loss(LossTerm):
    """Mean squared difference between each fake and the real sample at the same batch index; generator side only.

    - G: mean (G(z_i) − x_i)²  over every element.
    - D: nothing.

    Pairing is by batch position, as for l1. On unpaired data (every dataset
    ganzoo ships) its minimum over G is the per-pixel *mean* of the data for
    every z, which rewards collapse (on mnist-10k the mean image scores 0.27,
    a real digit 0.54 on average; a run warns at the start); squared
    errors favour blurry averages more than l1 does. Keep the weight small.
    """

    pairs_by_index = True

    def g_loss(self, inputs: LossInputs) -> Tensor:
        return _paired_difference("l2", inputs).pow(2).mean()
