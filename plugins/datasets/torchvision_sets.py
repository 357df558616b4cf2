"""Full training sets fetched through torchvision: mnist and fashion-mnist here, cifar10 in cifar.py.

Files already on disk are read by ganzoo's own readers (IDX, and CIFAR's
pickled batches), never through torchvision's classes: those check md5 sums of
the exact original files, which rejects re-packed copies and cannot work
offline. torchvision is used only to download when the files are absent.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from ganzoo.errors import DataError

from .idx import find_idx, read_pair
from .imageops import InMemory, check_size, resize_center_crop
from .mnist import DIGITS

ENV_DATA = "GANZOO_DATA"
# torchvision's urlopen calls have no timeout: a half-open network would hang forever.
DOWNLOAD_TIMEOUT_S = 60.0

Found = Any  # whatever a dataset's _find returns for its _read


def data_home() -> Path:
    """Where downloads go: $GANZOO_DATA, else ~/.cache/ganzoo/data."""
    return Path(os.environ.get(ENV_DATA) or "~/.cache/ganzoo/data").expanduser()


class Fetched(InMemory):
    """Base: find the files under ``root``, download them through torchvision if absent, read them."""

    name: ClassVar[str]
    tv_class: ClassVar[str]  # the torchvision.datasets class that knows the download URLs
    layout: ClassVar[str]  # where the files are expected, relative to ROOT, for messages
    class_names: ClassVar[tuple[str, ...]]

    def _load(self, root: str | None, image_size: int | None, download: bool) -> None:
        check_size(image_size, self.name)
        base = Path(root).expanduser() if root else data_home()
        found = self._find(base)
        if found is None:
            where = f"no {self.name} files under {base} (expected ROOT/{self.layout})"
            if not download:
                raise DataError(f"{where} and download is off; use --dataset mnist-10k, "
                                f"or --data-root DIR with the files")
            self._download(base)
            found = self._find(base)
            if found is None:
                raise DataError(f"{where}, even after downloading; delete {base} and try again")
        x, y, names = self._read(found)
        if image_size is not None:
            x = resize_center_crop(x, image_size)
        self._hold(x, y, names)

    def _download(self, base: Path) -> None:
        from torchvision import datasets

        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
        try:
            getattr(datasets, self.tv_class)(str(base), train=True, download=True)
        except Exception as exc:  # any failure (URLError, bad checksum, disk full) ends the same way
            raise DataError(f"cannot download {self.name} (offline? {type(exc).__name__}) and no files under "
                            f"{base}; use --dataset mnist-10k, or --data-root DIR with the files "
                            f"(ROOT/{self.layout})") from exc
        finally:
            socket.setdefaulttimeout(previous)

    def _find(self, base: Path) -> Found | None:  # pragma: no cover
        raise NotImplementedError

    def _read(self, found: Found) -> tuple[Tensor, Tensor, tuple[str, ...]]:  # pragma: no cover
        raise NotImplementedError


class _IDXSet(Fetched):
    def _find(self, base: Path) -> tuple[Path, Path] | None:
        # torchvision's layout first; the four files loose in ROOT (as published) work too.
        for folder in (base / self.tv_class / "raw", base):
            images = find_idx(folder, "train-images-idx3-ubyte")
            labels = find_idx(folder, "train-labels-idx1-ubyte")
            if images and labels:
                return images, labels
        return None

    def _read(self, found: tuple[Path, Path]) -> tuple[Tensor, Tensor, tuple[str, ...]]:
        x, y = read_pair(*found)
        return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y), self.class_names


class MNIST(_IDXSet):
    """The MNIST training set: 60,000 handwritten digits, 28x28 greyscale, labels 0-9 (downloaded once).

    Files are looked for under ``root`` (--data-root) in torchvision's layout,
    ROOT/MNIST/raw/train-{images-idx3,labels-idx1}-ubyte[.gz], or loose in ROOT.
    Without ``root`` the cache folder is $GANZOO_DATA if set, else
    ~/.cache/ganzoo/data. Missing files are downloaded there when ``download``
    is on; offline, use mnist-10k, which ships with ganzoo. ``image_size``
    resizes (None keeps 28).
    """

    name, tv_class, class_names = "mnist", "MNIST", DIGITS
    layout = "MNIST/raw/train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]"

    def __init__(self, root: str | None = None, image_size: int | None = None, download: bool = True):
        self._load(root, image_size, download)


class FashionMNIST(_IDXSet):
    """Fashion-MNIST training set: 60,000 Zalando clothing images, 28x28 greyscale, 10 classes (downloaded once).

    Files are looked for under ``root`` (--data-root) in torchvision's layout,
    ROOT/FashionMNIST/raw/train-{images-idx3,labels-idx1}-ubyte[.gz], or loose in
    ROOT. Without ``root`` the cache folder is $GANZOO_DATA if set, else
    ~/.cache/ganzoo/data. Missing files are downloaded there when ``download``
    is on. ``image_size`` resizes (None keeps 28).
    """

    name, tv_class = "fashion-mnist", "FashionMNIST"
    layout = "FashionMNIST/raw/train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]"
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

    def __init__(self, root: str | None = None, image_size: int | None = None, download: bool = True):
        self._load(root, image_size, download)
