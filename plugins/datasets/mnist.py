"""mnist-10k: the MNIST test split that ships inside ganzoo, so the default run needs no network."""

from __future__ import annotations

from pathlib import Path

import torch

from ganzoo.errors import DataError

from .idx import find_idx, read_pair
from .imageops import InMemory, check_size, resize_center_crop

DATA = Path(__file__).resolve().parent / "data"
DIGITS = tuple(str(d) for d in range(10))


class MNIST10k(InMemory):
    """The real MNIST test split: 10,000 handwritten digits, 28x28 greyscale, labels 0-9; shipped, works offline.

    ganzoo's default dataset. The original IDX files (t10k-images / t10k-labels)
    are part of the package, so nothing is downloaded. ``image_size`` resizes the
    digits (e.g. 32 or 64 for a DCGAN); None keeps 28. ``root`` is accepted for
    uniformity with the other datasets and ignored.

    MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges,
    CC BY-SA 3.0 (see ganzoo_plugins/datasets/data/README.md).
    """

    def __init__(self, root: str | None = None, image_size: int | None = None):
        check_size(image_size, "mnist-10k")
        images = find_idx(DATA, "t10k-images-idx3-ubyte")
        labels = find_idx(DATA, "t10k-labels-idx1-ubyte")
        if images is None or labels is None:
            raise DataError(f"the MNIST files shipped with ganzoo are missing from {DATA}; "
                            f"reinstall ganzoo, or use --dataset mnist with --data-root DIR")
        x, y = read_pair(images, labels)
        x = torch.from_numpy(x).unsqueeze(1)
        if image_size is not None:
            x = resize_center_crop(x, image_size)
        self._hold(x, torch.from_numpy(y), DIGITS)
