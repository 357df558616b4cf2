"""mnist-10k: the MNIST test split that ships inside ganzoo, so the default run needs no network."""

from __future__ import annotations

from pathlib import Path

import torch

from ganzoo.errors import DataError

from .idx import find_idx, read_pair
from .imageops import InMemory, check_size, resize_center_crop
from .splits import SplitRule, check_split

DATA = Path(__file__).resolve().parent / "data"
DIGITS = tuple(str(d) for d in range(10))
# 2,000 of the 10,000 held out: enough for FD/KID/precision-recall at 2,000 samples, 8,000 left to train on.
# Changing this rule invalidates the shipped classifier (tests/test_splits.py checks its recorded digest).
SPLIT = SplitRule(heldout=2000, seed=0)


class MNIST10k(InMemory):
    """The real MNIST test split: 10,000 handwritten digits, 28x28 greyscale, labels 0-9; shipped, works offline.

    ganzoo's default dataset. The original IDX files (t10k-images / t10k-labels)
    are part of the package, so nothing is downloaded. ``image_size`` resizes the
    digits (e.g. 32 or 64 for a DCGAN); None keeps 28. ``split``: "train" (the
    default) is 8,000 images; "heldout" is the other 2,000, stratified by digit
    (seed 0, the same for every run), which a GAN never trains on and `ganzoo
    eval` measures against; "all" is the 10,000. The files are read from the
    package, never from --data-root.

    MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges,
    CC BY-SA 3.0 (see ganzoo_plugins/datasets/data/README.md).
    """

    def __init__(self, image_size: int | None = None, split: str = "train"):
        check_size(image_size, "mnist-10k")
        check_split(split, "mnist-10k")
        x, y = read_shipped()
        if image_size is not None:
            x = resize_center_crop(x, image_size)
        self._hold_part(x, y, DIGITS, split, SPLIT)


def read_shipped() -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped MNIST test split: uint8 images (10000, 1, 28, 28) and labels (10000,)."""
    images = find_idx(DATA, "t10k-images-idx3-ubyte")
    labels = find_idx(DATA, "t10k-labels-idx1-ubyte")
    if images is None or labels is None:
        raise DataError(f"the MNIST files shipped with ganzoo are missing from {DATA}; "
                        f"reinstall ganzoo, or use --dataset mnist with --data-root DIR")
    x, y = read_pair(images, labels)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y).long()
