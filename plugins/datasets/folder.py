"""folder: any folder of images (anime faces, CelebA, an ImageFolder tree), in memory or streamed."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.errors import DataError, UsageError
from ganzoo.images import MAX_PIXELS, TOO_LARGE, load_image
from ganzoo.interfaces import to_model_range
from ganzoo.plugin.manager import warn
from ganzoo.specs import DataInfo

from .imageops import InMemory, check_size, resize_center_crop
from .splits import SplitRule, check_split, take

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
SPLIT = SplitRule(heldout=0.1, seed=0)


def _scan(root: Path) -> tuple[list[Path], int]:
    """Image files under ``root`` (sorted, so runs are reproducible) and how many other files were seen."""
    images, others, seen = [], 0, set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop would otherwise walk forever
            dirnames[:] = []
            continue
        seen.add(real)
        # Hidden entries (.DS_Store, .ipynb_checkpoints) are system litter, not data worth a warning.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if name.lower().endswith(EXTENSIONS):
                images.append(Path(dirpath) / name)
            else:
                others += 1
    return images, others


def _decode(path: Path, size: int, channels: int) -> Tensor | None:
    """uint8 (C, size, size), or None when the file is not a readable image (or is too large: `_too_large`)."""
    try:  # ganzoo's one conversion (16-bit scaled to 8, the megapixel bound), as `ganzoo sample --input` reads
        arr = load_image(path, channels, draft=size)  # draft: a JPEG is decoded at a reduced scale still >= size
    except Exception:  # PIL raises many types for broken files; any of them means "skip this file"
        return None
    t = torch.from_numpy(arr.copy())
    t = t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1)
    return resize_center_crop(t, size)


def _header_ok(path: Path) -> bool:
    """A cheap check for the streaming path: PIL reads only the header here."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            width, height = img.size
            return width * height <= MAX_PIXELS
    except Exception:
        return False


def _too_large(path: Path) -> bool:
    """A skipped file whose header says it is above `ganzoo.images.MAX_PIXELS` (to say so, not "unreadable")."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            width, height = img.size
            return width * height > MAX_PIXELS
    except Image.DecompressionBombError:
        return True
    except Exception:
        return False


def _skip_note(skipped: int, too_large: list[Path]) -> str:
    """What was skipped, in a few words: the files above the megapixel bound named apart from the unreadable ones."""
    parts = [f"{len(too_large)} image{'s' if len(too_large) != 1 else ''} {TOO_LARGE} (e.g. {too_large[0].name})"
             ] if too_large else []
    if skipped - len(too_large):
        parts.append(f"{skipped - len(too_large)} unreadable or non-image files")
    return " and ".join(parts)


class FolderItems(torch.utils.data.Dataset):
    """Decodes one image per item, for a DataLoader with workers (module-level so it pickles)."""

    def __init__(self, paths: list[Path], labels: list[int] | None, size: int, channels: int):
        self.paths, self.labels, self.size, self.channels = paths, labels, size, channels
        self._warned: set[int] = set()  # once per bad file and worker, not once per epoch

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        # A file that passed the header check can still fail to decode; take a neighbour
        # rather than kill a long run over one bad file.
        for step in range(16):
            i = (index + step) % len(self.paths)
            img = _decode(self.paths[i], self.size, self.channels)
            if img is not None:
                if step and index not in self._warned:
                    self._warned.add(index)
                    warn(f"folder: cannot decode {self.paths[index]}; used another image instead")
                return to_model_range(img), self.labels[i] if self.labels is not None else -1
        raise DataError(f"folder: 16 images in a row cannot be decoded, from {self.paths[index]}")


class ImageFolder(InMemory):
    """Any folder of images (jpg, jpeg, png, webp, bmp), resized and centre-cropped; class labels from sub-folders.

    ``root`` (--data-root) is required: the folder is searched recursively, so
    an anime-faces folder, CelebA's img_align_celeba/ or an ImageFolder tree
    (one sub-folder per class) all work. When every image sits in one of two
    or more sub-folders, the sub-folder names are the classes; otherwise the
    images are unlabelled. Each image's shorter side is resized to
    ``image_size`` and the centre square cropped out; ``channels`` 1 converts to
    greyscale, 3 to RGB. Unreadable files are skipped with one warning.
    Folders with at most ``in_memory_max`` images are decoded once into memory;
    larger ones are streamed, decoding per item in DataLoader workers.
    ``split``: "train" (the default) leaves out a held-out 10% (stratified by
    sub-folder when labelled, seed 0, the same for every run) that `ganzoo
    eval` measures against; "heldout" is that 10%; "all" every image.
    """

    def __init__(self, root: str | None = None, image_size: int = 64, channels: int = 3,
                 in_memory_max: int = 20000, split: str = "train"):
        check_size(image_size, "folder")
        check_split(split, "folder")
        if channels not in (1, 3):
            raise UsageError(f"folder: channels must be 1 (greyscale) or 3 (RGB), not {channels!r}")
        if not root:
            raise DataError("folder needs --data-root DIR, a folder of images (jpg, png, webp, bmp)")
        base = Path(root).expanduser()
        if not base.is_dir():
            raise DataError(f"folder: {base} is not a directory; pass --data-root DIR, a folder of images")
        self.root, self.image_size, self.channels = base, image_size, channels
        paths, skipped = _scan(base)
        self.streaming = len(paths) > in_memory_max
        if self.streaming:
            ok = [p for p in paths if _header_ok(p)]
            bad = [p for p in paths if p not in set(ok)]
            skipped, paths = skipped + len(paths) - len(ok), ok
            images = None
        else:
            # PIL and torch release the GIL while decoding and resizing, so threads use every core.
            with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
                decoded = list(pool.map(lambda p: _decode(p, image_size, channels), paths))
            skipped += sum(d is None for d in decoded)
            bad = [p for p, d in zip(paths, decoded) if d is None]
            paths = [p for p, d in zip(paths, decoded) if d is not None]
            images = [d for d in decoded if d is not None]
        too_large = [p for p in bad if _too_large(p)]
        if not paths:  # one line: what was skipped is why there is nothing
            note = f"; skipped {_skip_note(skipped, too_large)}" if skipped else ""
            raise DataError(f"folder: no readable images under {base} "
                            f"(looked for {', '.join(e[1:] for e in EXTENSIONS)}, in sub-folders too){note}",
                            f"scale the pictures down to at most {MAX_PIXELS // 1_000_000} megapixels"
                            if too_large else None)
        if skipped:
            warn(f"folder: skipped {_skip_note(skipped, too_large)} under {base}")
        labels, names = self._class_labels(base, paths)
        # The split is cut from the scanned file list (sorted, so it is the same every run), in memory or streamed.
        found = len(paths)
        idx = take(split, found, torch.tensor(labels) if labels is not None else None, SPLIT)
        if idx is not None:
            keep = idx.tolist()
            paths = [paths[i] for i in keep]
            labels = [labels[i] for i in keep] if labels is not None else None
            images = [images[i] for i in keep] if images is not None else None
        if not paths:
            raise DataError(f"folder: the {split} split of the {found} images under {base} is empty",
                            "use split=all, or add images")
        self.paths, self.labels = paths, labels
        if images is not None:
            self._hold(torch.stack(images), torch.tensor(labels) if labels is not None else None, names, split=split)
        else:
            self.info = DataInfo((channels, image_size, image_size), len(names) if names else None,
                                 len(paths), "image", names, split)

    @staticmethod
    def _class_labels(base: Path, paths: list[Path]) -> tuple[list[int] | None, tuple[str, ...] | None]:
        tops = [p.relative_to(base).parts for p in paths]
        if any(len(parts) < 2 for parts in tops):
            return None, None
        names = tuple(sorted({parts[0] for parts in tops}))
        if len(names) < 2:
            return None, None
        index = {n: i for i, n in enumerate(names)}
        return [index[parts[0]] for parts in tops], names

    def tensors(self) -> tuple[Tensor, Tensor | None]:
        if self.streaming:
            raise DataError(f"folder: {self.info.size} images under {self.root} are streamed, not held in memory; "
                            f"use torch_dataset(), or raise in_memory_max")
        return super().tensors()

    def torch_dataset(self) -> torch.utils.data.Dataset:
        if not self.streaming:
            return super().torch_dataset()
        return FolderItems(self.paths, self.labels, self.image_size, self.channels)
