"""Datasets for image-to-image translation: paired (pix2pix) and unpaired (CycleGAN).

A paired dataset also hands out its aligned pairs through ``pairs()``, an
unpaired one its two domains through ``domains()``. Both remain ordinary
ganzoo datasets: ``tensors()`` returns the target-domain images (with labels
where there are any), so any GAN can train on them as plain images.

Held-out parts use the mechanism of every other dataset (``split`` = "train",
"heldout" or "all", see ganzoo_plugins.datasets.splits): the MNIST-derived sets
hold out exactly the digits mnist-10k holds out; the folders hold out their own
test folders.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import DataError, UsageError
from ganzoo.images import load_image
from ganzoo.plugin.manager import warn

from ..datasets.folder import EXTENSIONS
from ..datasets.imageops import InMemory, check_size, resize_center_crop
from ..datasets.mnist import DIGITS, read_shipped
from ..datasets.mnist import SPLIT as MNIST_SPLIT
from ..datasets.splits import SplitRule, check_split, split_indices, take

DIRECTIONS = ("AtoB", "BtoA")


@dataclass(frozen=True)
class ImagePairs:
    """Aligned images: ``a[i]`` translates to ``b[i]``; uint8 (N, C, H, W) each, labels (N,) or None."""

    a: Tensor
    b: Tensor
    labels: Tensor | None


@dataclass(frozen=True)
class ImageDomains:
    """Two unaligned sets of images, uint8 (N_a, C, H, W) and (N_b, C, H, W), with their labels or None."""

    a: Tensor
    b: Tensor
    labels_a: Tensor | None
    labels_b: Tensor | None


class PairedDataset(InMemory):
    """A dataset of (input, target) pairs for pix2pix: ``pairs()``; ``tensors()`` gives the targets."""

    pairing = "paired"

    def _hold_pairs(self, pairs: ImagePairs, class_names: tuple[str, ...] | None, split: str) -> None:
        self._pairs = pairs
        self._hold(pairs.b, pairs.labels, class_names, split=split)

    def pairs(self) -> ImagePairs:
        return self._pairs


class UnpairedDataset(InMemory):
    """Two unaligned domains for CycleGAN: ``domains()``; ``tensors()`` gives domain B (the target)."""

    pairing = "unpaired"

    def _hold_domains(self, domains: ImageDomains, class_names: tuple[str, ...] | None, split: str) -> None:
        self._domains = domains
        self._hold(domains.b, domains.labels_b, class_names, split=split)

    def domains(self) -> ImageDomains:
        return self._domains


def _check_direction(direction: str, who: str) -> None:
    if direction not in DIRECTIONS:
        raise UsageError(f"{who}: direction must be AtoB or BtoA, not {direction!r}")


# -- morphology on uint8 digits --------------------------------------------------------------------
def _square(x: Tensor, radius: int, combine: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """``combine`` (max or min) over each pixel's (2r+1)-square, outside the image counting as background (0).

    Separable, on shifted views: a fraction of the time F.max_pool2d takes with stride 1 on the CPU.
    """
    h, w = x.shape[-2:]
    p = F.pad(x, (radius,) * 4, value=0)
    rows = p[..., 0:h, :]
    for dy in range(1, 2 * radius + 1):
        rows = combine(rows, p[..., dy:dy + h, :])
    out = rows[..., 0:w]
    for dx in range(1, 2 * radius + 1):
        out = combine(out, rows[..., dx:dx + w])
    return out


def _dilate(x: Tensor, radius: int) -> Tensor:
    """Greyscale dilation with a (2r+1)-square: the brightest pixel of each neighbourhood."""
    return _square(x, radius, torch.maximum)


def _erode(x: Tensor, radius: int) -> Tensor:
    """Greyscale erosion with a (2r+1)-square: the darkest pixel of each neighbourhood."""
    return _square(x, radius, torch.minimum)


def _dilate_cross(mask: Tensor) -> Tensor:
    """Binary dilation by the 4-neighbourhood: grows a shape by one pixel without filling corners."""
    p = F.pad(mask, (1, 1, 1, 1))
    return p[..., 1:-1, 1:-1] | p[..., :-2, 1:-1] | p[..., 2:, 1:-1] | p[..., 1:-1, :-2] | p[..., 1:-1, 2:]


def digit_outline(digits: Tensor, threshold: int = 128) -> Tensor:
    """The 1-pixel outline around each digit's strokes: uint8 0/255, same shape as ``digits`` (N, 1, H, W).

    A pixel is on the outline when it is background (below ``threshold``) and one
    of its four neighbours is ink, so the outline traces both sides of every
    stroke, as an edge detector does, and never covers the ink itself.
    """
    ink = digits >= threshold
    return ((_dilate_cross(ink) & ~ink).to(torch.uint8)) * 255


def _work(digits: Tensor, image_size: int) -> Tensor:
    # Strokes are 2-3 px wide at 28 px: a one-pixel erosion at that size erases them, so the
    # morphology runs at twice the target size and the result is scaled down.
    return resize_center_crop(digits, 2 * image_size)


def thin_strokes(digits: Tensor, image_size: int) -> Tensor:
    """Thinner digits: erosion by one pixel at twice ``image_size``, scaled down, brightest pixel back to 255."""
    thin = resize_center_crop(_erode(_work(digits, image_size), 1), image_size).float()
    # erosion dims the thinnest strokes; rescaling keeps brightness from telling the domains apart
    peak = thin.amax(dim=(1, 2, 3), keepdim=True).clamp_(min=1.0)
    return (thin * (255.0 / peak)).round_().clamp_(0, 255).to(torch.uint8)


def thick_strokes(digits: Tensor, image_size: int) -> Tensor:
    """Thicker digits: dilation by two pixels at twice ``image_size``, scaled down."""
    return resize_center_crop(_dilate(_work(digits, image_size), 2), image_size)


def _mnist_part(split: str) -> tuple[Tensor, Tensor]:
    """The shipped MNIST digits (uint8 (N, 1, 28, 28)) and labels of ``split``, cut as mnist-10k cuts them."""
    x, y = read_shipped()
    idx = take(split, len(x), y, MNIST_SPLIT)
    return (x, y) if idx is None else (x[idx], y[idx])


class MNISTEdges(PairedDataset):
    """Paired: the outline of each MNIST digit -> the digit (a small, offline edges2shoes); shipped, no download.

    Built from the MNIST test split that ships with ganzoo (mnist-10k): each
    digit is resized to ``image_size`` (32 by default, a power of two for the
    U-Net) and its edge map is the 1-pixel outline around the strokes (pixels
    next to ink, 4-neighbourhood), white on black like the digit. ``pairs()``
    gives (outlines, digits, labels); ``tensors()`` the digits. ``direction``
    "BtoA" swaps the roles (digit -> outline). ``split``: "train" (8,000),
    "heldout" (2,000, the very digits mnist-10k holds out, stratified by
    digit, seed 0) or "all" (10,000). Labels are kept, so a classifier can
    tell whether a translation keeps the digit.

    MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges,
    CC BY-SA 3.0 (see ganzoo_plugins/datasets/data/README.md).
    """

    def __init__(self, image_size: int = 32, split: str = "train", direction: str = "AtoB"):
        check_size(image_size, "mnist-edges")
        check_split(split, "mnist-edges")
        _check_direction(direction, "mnist-edges")
        x, y = _mnist_part(split)
        digits = resize_center_crop(x, image_size)
        edges = digit_outline(digits)
        a, b = (edges, digits) if direction == "AtoB" else (digits, edges)
        self._hold_pairs(ImagePairs(a, b, y), DIGITS, split)


# Which images become thin and which thick: a fixed, stratified half of each part.
HALVES = SplitRule(heldout=0.5, seed=1)


class MNISTStrokes(UnpairedDataset):
    """Unpaired: thin-stroke MNIST digits <-> thick-stroke ones, drawn from disjoint images; shipped, no download.

    Built from the MNIST test split that ships with ganzoo (mnist-10k). The
    part chosen by ``split`` ("train" 8,000, "heldout" 2,000 = the digits
    mnist-10k holds out, "all" 10,000) is cut in two halves, stratified by
    digit (seed 1): domain A is the first half eroded (thin strokes), domain B
    the other half dilated (thick strokes). No image is in both domains, so no
    pair exists, as in CycleGAN's setting. Morphology runs at twice
    ``image_size`` (default 32) before scaling down; thin digits are rescaled
    to full brightness so only the stroke width tells the domains apart.
    ``domains()`` gives both with their labels (to measure whether a
    translation keeps the digit); ``tensors()`` gives domain B (A with
    ``direction`` "BtoA").

    MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges,
    CC BY-SA 3.0 (see ganzoo_plugins/datasets/data/README.md).
    """

    def __init__(self, image_size: int = 32, split: str = "train", direction: str = "AtoB"):
        check_size(image_size, "mnist-strokes")
        check_split(split, "mnist-strokes")
        _check_direction(direction, "mnist-strokes")
        x, y = _mnist_part(split)
        first, second = split_indices(len(x), y, HALVES)
        thin = ImageDomains(thin_strokes(x[first], image_size), thick_strokes(x[second], image_size), y[first], y[second])
        domains = thin if direction == "AtoB" else ImageDomains(thin.b, thin.a, thin.labels_b, thin.labels_a)
        self._hold_domains(domains, DIGITS, split)


# -- folders ---------------------------------------------------------------------------------------
@dataclass
class _Skips:
    """Files left out of a folder, counted by reason and reported in one warning."""

    reasons: Counter[str]
    example: dict[str, Path]

    def add(self, reason: str, path: Path) -> None:
        self.reasons[reason] += 1
        self.example.setdefault(reason, path)

    def report(self, who: str, where: Path) -> None:
        if self.reasons:
            parts = ", ".join(f"{n} {reason} (e.g. {self.example[reason].name})" for reason, n in self.reasons.items())
            warn(f"{who}: skipped {sum(self.reasons.values())} files under {where}: {parts}")


def _list_images(folder: Path, skips: _Skips) -> list[Path]:
    """Image files under ``folder``, sorted so every run sees the same order; other files are counted skips."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue  # .DS_Store and friends are litter, not data
            path = Path(dirpath) / name
            if name.lower().endswith(EXTENSIONS):
                found.append(path)
            else:
                skips.add("not images", path)
    return found


def _read(path: Path, channels: int) -> tuple[Tensor, bool] | None:
    """uint8 (C, H, W) and whether the file was colour; None when it cannot be decoded."""
    from PIL import Image

    try:
        with Image.open(path) as img:  # the header alone: whether the file is colour
            colour = img.mode not in ("1", "L", "LA", "I", "I;16", "F")
        # ganzoo's one conversion, as the folder dataset and `sample --input` read: 16-bit scaled, not clipped,
        # and the megapixel bound checked before decoding
        arr = load_image(path, channels)
    except Exception:  # PIL raises many types for broken files; any of them means "skip this file"
        return None
    t = torch.from_numpy(arr.copy())
    return (t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1)), colour


def _read_all(paths: list[Path], channels: int, skips: _Skips) -> tuple[list[Path], list[Tensor], Counter[bool]]:
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        decoded = list(pool.map(lambda p: _read(p, channels), paths))
    kept: list[Path] = []
    images: list[Tensor] = []
    modes: Counter[bool] = Counter()
    for path, item in zip(paths, decoded):
        if item is None:
            skips.add("unreadable", path)
            continue
        kept.append(path)
        images.append(item[0])
        modes[item[1]] += 1
    return kept, images, modes


def _report_modes(modes: Counter[bool], channels: int, who: str, where: Path) -> None:
    """Greyscale and colour files mixed in one folder are converted, and said so once."""
    if modes[True] and modes[False]:
        converted = modes[True] if channels == 1 else modes[False]
        what = "colour images to greyscale (channels=1)" if channels == 1 else "greyscale images to RGB (channels=3)"
        warn(f"{who}: {where} mixes greyscale and colour files; converted {converted} {what}")


def _fit(images: list[Tensor], paths: list[Path], image_size: int | None, who: str, where: Path) -> Tensor:
    """Stack ``images``, resized and centre-cropped to ``image_size``, or at their own size, which must be shared."""
    if image_size is not None:
        return torch.stack([resize_center_crop(t, image_size) for t in images])
    sizes = Counter(tuple(t.shape[-2:]) for t in images)
    if len(sizes) > 1:
        (common, n), (other, _) = sizes.most_common(2)
        odd = next(p for p, t in zip(paths, images) if tuple(t.shape[-2:]) == other)
        raise DataError(f"{who}: images under {where} have different sizes: {n} are {common[0]}x{common[1]}, "
                        f"{odd.name} is {other[0]}x{other[1]}", "pass image_size=N to resize them all")
    return torch.stack(images)


def _check_folder_args(root: str | None, image_size: int | None, channels: int, direction: str, split: str,
                       who: str, layout: str) -> Path:
    if image_size is not None:
        check_size(image_size, who)
    check_split(split, who)
    _check_direction(direction, who)
    if channels not in (1, 3):
        raise UsageError(f"{who}: channels must be 1 (greyscale) or 3 (RGB), not {channels!r}")
    if not root:
        raise DataError(f"{who} needs --data-root DIR, a folder with {layout}")
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DataError(f"{who}: {base} is not a directory; pass --data-root DIR, a folder with {layout}")
    return base


def _too_many(n: int, max_images: int, who: str, where: Path) -> None:
    if n > max_images:
        raise DataError(f"{who}: {n} images under {where} is more than max_images={max_images}, "
                        f"and translation datasets are held in memory", "raise max_images, or use a subset")


class PairedFolder(PairedDataset):
    """Paired images in pix2pix's layout: each file is A and B side by side (A|B), in train/, val/ and test/.

    ``root`` (--data-root) holds ``train/`` and, for the held-out part,
    ``test/`` (or ``val/`` when there is no test/, as in edges2shoes). Every
    image is cut down the middle: the left half is A, the right half B;
    ``direction`` "AtoB" translates A into B, "BtoA" the reverse. Each half is
    centre-cropped to a square and resized to ``image_size`` (256, pix2pix's
    size; None keeps the halves' own size, which must then be the same for
    every file). ``channels`` 3 converts to RGB, 1 to greyscale.

    ``split``: "train" is train/, "heldout" test/ (or val/), "all" every one
    of train/, val/, test/ there is. Files that are not images, cannot be
    decoded or have an odd width (no middle to cut) are skipped and counted
    in one warning; a folder left empty is an error. Images are held in
    memory, at most ``max_images`` of them.
    """

    def __init__(self, root: str | None = None, split: str = "train", direction: str = "AtoB",
                 image_size: int | None = 256, channels: int = 3, max_images: int = 20000):
        who, layout = "paired-folder", "train/ (and test/ or val/) of A|B side-by-side images"
        base = _check_folder_args(root, image_size, channels, direction, split, who, layout)
        folders = self._folders(base, split, who, layout)
        skips = _Skips(Counter(), {})
        paths = [p for folder in folders for p in _list_images(folder, skips)]
        _too_many(len(paths), max_images, who, base)
        paths, images, modes = _read_all(paths, channels, skips)
        halves_a, halves_b, kept = [], [], []
        for path, img in zip(paths, images):
            width = img.shape[-1]
            if width % 2:
                skips.add("with an odd width, so no A|B middle", path)
                continue
            halves_a.append(img[..., : width // 2])
            halves_b.append(img[..., width // 2:])
            kept.append(path)
        where = base if len(folders) > 1 else folders[0]
        skips.report(who, where)
        _report_modes(modes, channels, who, where)
        if not kept:
            raise DataError(f"{who}: no usable A|B images under {where} "
                            f"(looked for {', '.join(e[1:] for e in EXTENSIONS)} files of even width)")
        a = _fit(halves_a, kept, image_size, who, where)
        b = _fit(halves_b, kept, image_size, who, where)
        if direction == "BtoA":
            a, b = b, a
        self.root, self.paths = base, kept
        self._hold_pairs(ImagePairs(a, b, None), None, split)

    @staticmethod
    def _folders(base: Path, split: str, who: str, layout: str) -> list[Path]:
        present = [base / name for name in ("train", "val", "test") if (base / name).is_dir()]
        if split == "all":
            chosen = present
        elif split == "train":
            chosen = [base / "train"] if (base / "train").is_dir() else []
        else:
            chosen = ([base / "test"] if (base / "test").is_dir() else
                      [base / "val"] if (base / "val").is_dir() else [])
        if not chosen:
            wanted = {"train": "train/", "heldout": "test/ or val/"}.get(split, "train/, val/ or test/")
            raise DataError(f"{who}: {base} has no {wanted} folder for split={split}; expected {layout}")
        return chosen


class UnpairedFolder(UnpairedDataset):
    """Two unpaired image domains in CycleGAN's layout: trainA/, trainB/ and, held out, testA/, testB/.

    ``root`` (--data-root) holds one folder per domain and part: ``trainA/``
    and ``trainB/`` for "train", ``testA/`` and ``testB/`` for "heldout";
    "all" takes both parts. The two domains need not have the same number of
    images. Every image is centre-cropped to a square and resized to
    ``image_size`` (256, CycleGAN's size; None keeps the files' own size,
    which must then be one size for both domains). ``channels`` 3 converts
    to RGB, 1 to greyscale. ``direction`` "AtoB" makes B the target domain
    (what ``tensors()`` returns), "BtoA" swaps the domains.

    Files that are not images or cannot be decoded are skipped and counted in
    one warning per folder; a domain left empty is an error. Images are held
    in memory, at most ``max_images`` per domain.
    """

    def __init__(self, root: str | None = None, split: str = "train", direction: str = "AtoB",
                 image_size: int | None = 256, channels: int = 3, max_images: int = 20000):
        who, layout = "unpaired-folder", "trainA/ and trainB/ (and testA/, testB/ for the held-out part)"
        base = _check_folder_args(root, image_size, channels, direction, split, who, layout)
        parts = {"train": ["train"], "heldout": ["test"], "all": ["train", "test"]}[split]
        loaded: dict[str, Tensor] = {}
        for domain in ("A", "B"):
            folders = [base / f"{part}{domain}" for part in parts if (base / f"{part}{domain}").is_dir()]
            if not folders:
                names = " or ".join(f"{part}{domain}/" for part in parts)
                raise DataError(f"{who}: {base} has no {names} folder for split={split}; expected {layout}")
            skips = _Skips(Counter(), {})
            paths = [p for folder in folders for p in _list_images(folder, skips)]
            _too_many(len(paths), max_images, who, base)
            paths, images, modes = _read_all(paths, channels, skips)
            where = folders[0] if len(folders) == 1 else base
            skips.report(who, where)
            _report_modes(modes, channels, who, where)
            if not images:
                raise DataError(f"{who}: domain {domain} is empty: no readable images in "
                                f"{', '.join(f.name + '/' for f in folders)} under {base}")
            loaded[domain] = _fit(images, paths, image_size, who, where)
        a, b = loaded["A"], loaded["B"]
        if a.shape[-2:] != b.shape[-2:]:
            raise DataError(f"{who}: domain A's images are {a.shape[-2]}x{a.shape[-1]} and domain B's "
                            f"{b.shape[-2]}x{b.shape[-1]}", "pass image_size=N to resize both")
        if direction == "BtoA":
            a, b = b, a
        self.root = base
        self._hold_domains(ImageDomains(a, b, None, None), None, split)
