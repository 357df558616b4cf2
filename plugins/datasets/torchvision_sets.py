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
from .mnist import DATA, DIGITS
from .splits import check_split

ENV_DATA = "GANZOO_DATA"
# torchvision's urlopen calls have no timeout: a half-open network would hang forever.
DOWNLOAD_TIMEOUT_S = 60.0

Found = Any  # whatever a dataset's _find returns for its _read


def data_home() -> Path:
    """Where downloads go: $GANZOO_DATA, else ~/.cache/ganzoo/data."""
    return Path(os.environ.get(ENV_DATA) or "~/.cache/ganzoo/data").expanduser()


class Fetched(InMemory):
    """Base: find the files under ``root``, download them through torchvision if absent, read them.

    Each dataset here has an official test split; it is the held-out part
    (``split="heldout"``), so a GAN trained on the training set is measured
    against images it never saw. ``split="all"`` is both, training set first.
    """

    name: ClassVar[str]
    tv_class: ClassVar[str]  # the torchvision.datasets class that knows the download URLs
    layouts: ClassVar[dict[str, str]]  # part ("train" / "test") -> where its files are expected, for messages
    class_names: ClassVar[tuple[str, ...]]

    def _load(self, root: str | None, image_size: int | None, download: bool, split: str) -> None:
        check_size(image_size, self.name)
        check_split(split, self.name)
        base = Path(root).expanduser() if root else data_home()
        parts = {"train": ("train",), "heldout": ("test",), "all": ("train", "test")}[split]
        xs, ys, names = [], [], self.class_names
        for part in parts:
            found = self._find(base, part)
            if found is None:
                where = f"no {self.name} {part} files under {base} (expected ROOT/{self.layouts[part]})"
                if not download:
                    raise DataError(f"{where} and download is off; use --dataset mnist-10k, "
                                    f"or --data-root DIR with the files")
                self._download(base, part)
                found = self._find(base, part)
                if found is None:
                    raise DataError(f"{where}, even after downloading; delete {base} and try again")
            x, y, names = self._read(found)
            xs.append(x)
            ys.append(y)
        x, y = (xs[0], ys[0]) if len(xs) == 1 else (torch.cat(xs), torch.cat(ys))
        if image_size is not None:
            x = resize_center_crop(x, image_size)
        self._hold(x, y, names, split=split)

    def _download(self, base: Path, part: str) -> None:
        from torchvision import datasets

        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
        try:
            getattr(datasets, self.tv_class)(str(base), train=part == "train", download=True)
        except Exception as exc:  # any failure (URLError, bad checksum, disk full) ends the same way
            raise DataError(f"cannot download {self.name} (offline? {type(exc).__name__}) and no files under "
                            f"{base}; use --dataset mnist-10k, or --data-root DIR with the files "
                            f"(ROOT/{self.layouts[part]})") from exc
        finally:
            socket.setdefaulttimeout(previous)

    def _find(self, base: Path, part: str) -> Found | None:  # pragma: no cover
        raise NotImplementedError

    def _read(self, found: Found) -> tuple[Tensor, Tensor, tuple[str, ...]]:  # pragma: no cover
        raise NotImplementedError


class _IDXSet(Fetched):
    STEMS: ClassVar[dict[str, str]] = {"train": "train", "test": "t10k"}

    def _find(self, base: Path, part: str) -> tuple[Path, Path] | None:
        # torchvision's layout first; the four files loose in ROOT (as published) work too.
        stem = self.STEMS[part]
        for folder in (base / self.tv_class / "raw", base):
            images = find_idx(folder, f"{stem}-images-idx3-ubyte")
            labels = find_idx(folder, f"{stem}-labels-idx1-ubyte")
            if images and labels:
                return images, labels
        return None

    def _read(self, found: tuple[Path, Path]) -> tuple[Tensor, Tensor, tuple[str, ...]]:
        x, y = read_pair(*found)
        return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y), self.class_names


def _idx_layouts(folder: str) -> dict[str, str]:
    return {part: f"{folder}/raw/{stem}-images-idx3-ubyte[.gz] and {stem}-labels-idx1-ubyte[.gz]"
            for part, stem in _IDXSet.STEMS.items()}


class MNIST(_IDXSet):
    """The MNIST training set: 60,000 handwritten digits, 28x28 greyscale, labels 0-9 (downloaded once).

    Files are looked for under ``root`` (--data-root) in torchvision's layout,
    ROOT/MNIST/raw/train-{images-idx3,labels-idx1}-ubyte[.gz], or loose in ROOT.
    Without ``root`` the cache folder is $GANZOO_DATA if set, else
    ~/.cache/ganzoo/data. Missing files are downloaded there when ``download``
    is on; offline, use mnist-10k, which ships with ganzoo. ``image_size``
    resizes (None keeps 28). ``split``: "train" (the default, 60,000),
    "heldout" (MNIST's official 10,000-image test split: t10k-* under ROOT, else
    the copy that ships with ganzoo), or "all".
    """

    name, tv_class, class_names = "mnist", "MNIST", DIGITS
    layouts = _idx_layouts("MNIST")

    def __init__(self, root: str | None = None, image_size: int | None = None, download: bool = True,
                 split: str = "train"):
        self._load(root, image_size, download, split)

    def _find(self, base: Path, part: str) -> tuple[Path, Path] | None:
        # The test split is the very file pair mnist-10k ships (same md5), so it needs no download.
        return super()._find(base, part) or (super()._find(DATA, part) if part == "test" else None)


class FashionMNIST(_IDXSet):
    """Fashion-MNIST training set: 60,000 Zalando clothing images, 28x28 greyscale, 10 classes (downloaded once).

    Files are looked for under ``root`` (--data-root) in torchvision's layout,
    ROOT/FashionMNIST/raw/train-{images-idx3,labels-idx1}-ubyte[.gz], or loose in
    ROOT. Without ``root`` the cache folder is $GANZOO_DATA if set, else
    ~/.cache/ganzoo/data. Missing files are downloaded there when ``download``
    is on. ``image_size`` resizes (None keeps 28). ``split``: "train" (the
    default, 60,000), "heldout" (the official 10,000-image test split, t10k-*), or "all".
    """

    name, tv_class = "fashion-mnist", "FashionMNIST"
    layouts = _idx_layouts("FashionMNIST")
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

    def __init__(self, root: str | None = None, image_size: int | None = None, download: bool = True,
                 split: str = "train"):
        self._load(root, image_size, download, split)
