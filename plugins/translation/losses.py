"""The loss terms CycleGAN adds by name: cycle consistency and identity (Zhu et al. 2017).

Both compare the named pairs an algorithm puts into `ganzoo.interfaces.LossInputs.pairs`
(CycleGAN's step makes them); with an algorithm that makes none they fail in one line.
"""

from __future__ import annotations

from torch import Tensor

from ganzoo.errors import UsageError
from ganzoo.interfaces import LossInputs, LossTerm


class _PairL1(LossTerm):
    pair = ""

    def g_loss(self, inputs: LossInputs) -> Tensor | None:
        if self.pair not in inputs.pairs:
            raise UsageError(f"loss {self.pair!r} compares the {self.pair} images a translation algorithm makes",
                             "use it with --algo cyclegan")
        out, target = inputs.pairs[self.pair]
        return (out.float() - target.float()).abs().mean()


class Cycle(_PairL1):
    """Cycle consistency (Zhu et al. 2017): L1 between F(G(a)) and a (and G(F(b)) and b), generator side.

    Weighted 10 in the paper (λ) against an adversarial MSE; ganzoo's ``lsgan`` G term is half that MSE, so
    the reference code's weighting is ``lsgan+5*cycle+2.5*identity``.
    """

    pair = "cycle"
    reads_pairs = ("cycle",)


class Identity(_PairL1):
    """Identity loss (Zhu et al. 2017, from Taigman et al. 2017): L1 between G(b) and b, generator side.

    Keeps a translator from changing what is already in its target domain
    (colour, here stroke width); 0.5·λ = 5 in the paper, 2.5 beside ganzoo's
    ``lsgan`` (see `Cycle`). Input and output
    domains must have the same number of channels.
    """

    pair = "identity"
    reads_pairs = ("identity",)
