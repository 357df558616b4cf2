"""cifar10: CIFAR-10's pickled batches, read by ganzoo itself (see torchvision_sets for why)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from ganzoo.errors import DataError

from .torchvision_sets import Fetched


class _ArraysOnly(pickle.Unpickler):
    # A --data-root folder is user input and unpickling runs whatever a pickle names;
    # a CIFAR batch needs nothing beyond numpy's array rebuilders.
    ALLOWED: ClassVar[set[tuple[str, str]]] = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            entry = _ArraysOnly(fh, encoding="latin1").load()
    except Exception as exc:
        raise DataError(f"cannot read CIFAR batch {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(entry, dict):
        raise DataError(f"cannot read CIFAR batch {path}: not a pickled dict")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


class CIFAR10(Fetched):
    """The CIFAR-10 training set: 50,000 colour images, 32x32, 10 classes (downloaded once, ~170 MB).

    Files are looked for under ``root`` (--data-root) in torchvision's layout,
    ROOT/cifar-10-batches-py/data_batch_1..5 (+ batches.meta for the class
    names), or ROOT may be that folder itself. Without ``root`` the cache folder
    is $GANZOO_DATA if set, else ~/.cache/ganzoo/data. Missing files are
    downloaded there when ``download`` is on. ``image_size`` resizes (None
    keeps 32). The batches are read by ganzoo itself, so copies whose
    checksums differ from the originals load too. ``split``: "train" (the
    default, 50,000), "heldout" (the official 10,000-image test_batch), or "all".
    """

    name, tv_class = "cifar10", "CIFAR10"
    layouts: ClassVar[dict[str, str]] = {"train": "cifar-10-batches-py/data_batch_1..5",
                                         "test": "cifar-10-batches-py/test_batch"}
    class_names: ClassVar[tuple[str, ...]] = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    BATCHES: ClassVar[dict[str, tuple[str, ...]]] = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)),
                                                     "test": ("test_batch",)}

    def __init__(self, root: str | None = None, image_size: int | None = None, download: bool = True,
                 split: str = "train"):
        self._load(root, image_size, download, split)

    def _find(self, base: Path, part: str) -> tuple[Path, tuple[str, ...]] | None:
        for folder in (base / "cifar-10-batches-py", base):
            if all((folder / b).is_file() for b in self.BATCHES[part]):
                return folder, self.BATCHES[part]
        return None

    def _read(self, found: tuple[Path, tuple[str, ...]]) -> tuple[Tensor, Tensor, tuple[str, ...]]:
        folder, batches = found
        xs, ys = [], []
        for batch in batches:
            entry = _unpickle(folder / batch)
            data, labels = np.asarray(entry.get("data")), entry.get("labels")
            if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 \
                    or labels is None or len(labels) != len(data):
                raise DataError(f"cannot read CIFAR batch {folder / batch}: expected 'data' uint8 (N, 3072) "
                                f"and N 'labels'")
            xs.append(data.reshape(-1, 3, 32, 32))  # stored channel-first already
            ys.append(np.asarray(labels, dtype=np.int64))
        names = self.class_names
        if (folder / "batches.meta").is_file():
            meta_names = _unpickle(folder / "batches.meta").get("label_names")
            if meta_names and len(meta_names) == len(names):
                names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta_names)
        return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys)), names
