"""Matching regularizers for the generator: each sample against a real one (pix2pix's L1 term), and the
batch's mean features in D against the real batch's (feature matching)."""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.errors import UsageError
from ganzoo.interfaces import Discriminator, LossInputs, LossTerm, forward


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


class FeatureMatching(LossTerm):
    """Feature matching (Salimans et al. 2016, "Improved Techniques for Training GANs", section 3.1); G side only.

    - G: ‖mean_i f(x_i) − mean_i f(G(z_i))‖²₂, with f D's intermediate features.
    - D: nothing.

    Instead of maximising D's score, G is asked to produce a batch whose
    average in D's feature space is the real batch's: a moving but
    statistics-level target that does not let G chase the single sample D
    currently likes best. Use it as the paper does, alone on the generator
    with D trained as usual (``bce+feature-matching`` still has bce's G term;
    its weight sets the mix). f is ``Discriminator.features(x, labels)``,
    which the dcgan, vanilla, cgan, cdcgan and resnet discriminators define
    (a discriminator without it is a one-line error naming it). The real
    features are computed without gradients, the fake ones through D into G,
    in float32. This is the paper's squared L2 norm, summed over features. The
    authors' code differs by script (openai/improved-gan): the MNIST one takes
    the mean of the squares, this term divided by the number of features
    (train_mnist_feature_matching.py:76); the CIFAR-10 and SVHN ones the mean
    absolute difference, an L1 form (train_cifar_feature_matching.py:112).
    """

    def g_loss(self, inputs: LossInputs) -> Tensor:
        d = inputs.discriminator
        features = getattr(d, "features", None)
        if not callable(features):  # not a Discriminator subclass: the base class's one-line error
            return Discriminator.features(d, inputs.fake, inputs.labels)  # type: ignore[arg-type]
        with torch.no_grad():
            real = forward(features, inputs.real, inputs.labels).flatten(1).float().mean(0)
        fake = forward(features, inputs.fake, inputs.labels).flatten(1).float().mean(0)
        return (real - fake).pow(2).sum()
