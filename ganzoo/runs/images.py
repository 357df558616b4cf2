"""Pictures of a run: image grids, scatter plots of 2-D points, and the progress GIF; reading a user's pictures."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from ..base.errors import WriteError
from ..components.interfaces import to_uint8
from .rundir import fsync_folder, make_parent, temp_path

# a qualitative palette (tab10) for classes / modes
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
GREY = (205, 205, 205)


def grid_tensor(images: Tensor, nrow: int, padding: int = 2) -> Tensor:
    """uint8 (N, C, H, W) -> one uint8 (C, H', W') grid, ``nrow`` images per row."""
    from torchvision.utils import make_grid

    if images.dtype != torch.uint8:
        images = to_uint8(images)
    images = images.cpu()
    if images.shape[1] not in (1, 3):
        images = images[:, :3] if images.shape[1] > 3 else images[:, :1]
    grid = make_grid(images, nrow=max(1, nrow), padding=padding, pad_value=0)
    return grid[:1] if images.shape[1] == 1 else grid


def to_pil(image: Tensor) -> Image.Image:
    """uint8 (C, H, W) with C in (1, 3) -> PIL image."""
    array = image.permute(1, 2, 0).contiguous().numpy()
    return Image.fromarray(array[:, :, 0], "L") if array.shape[2] == 1 else Image.fromarray(array, "RGB")


def save_grid(images: Tensor, path: str | Path, nrow: int = 8) -> Path:
    """Model-range or uint8 images (N, C, H, W) -> a PNG grid."""
    path = Path(path)
    _save(path, to_pil(grid_tensor(images, nrow)), "PNG")
    return path


def _save(path: Path, image: Image.Image, fmt: str, **options: object) -> None:
    """Write ``image`` atomically (old file or new, never half of one); WriteError when the disk says no."""
    make_parent(path)
    tmp = temp_path(path)
    try:
        image.save(tmp, format=fmt, **options)
        tmp.replace(path)
    except OSError as exc:
        raise WriteError.from_os(exc, path) from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
    fsync_folder(path.parent)


def bounds(*clouds: Tensor | None, margin: float = 0.15) -> tuple[float, float, float, float]:
    pts = torch.cat([c[:, :2].float().cpu() for c in clouds if c is not None and len(c)])
    pts = pts[torch.isfinite(pts).all(dim=1)]
    if not len(pts):
        return -1.0, 1.0, -1.0, 1.0
    lo, hi = pts.min(dim=0).values, pts.max(dim=0).values
    span = (hi - lo).max().clamp_min(1e-3).item()
    cx, cy = ((lo + hi) / 2).tolist()
    half = span * (0.5 + margin)
    return cx - half, cx + half, cy - half, cy + half


def scatter(samples: Tensor, path: str | Path, real: Tensor | None = None, labels: Tensor | None = None,
            box: tuple[float, float, float, float] | None = None, size: int = 480, title: str = "") -> Path:
    """2-D points as a PNG: ``real`` in light grey, ``samples`` in colour (by label when given).

    Points with more than two dimensions are drawn by their first two.
    """
    path = Path(path)
    samples = samples.detach().float().cpu().reshape(len(samples), -1)
    if samples.shape[1] == 1:
        samples = torch.cat([samples, torch.zeros_like(samples)], dim=1)
    x0, x1, y0, y1 = box or bounds(real, samples)
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    pad = 8

    def px(p: Tensor) -> tuple[Tensor, Tensor]:
        u = (p[:, 0] - x0) / (x1 - x0) * (size - 2 * pad) + pad
        v = (1 - (p[:, 1] - y0) / (y1 - y0)) * (size - 2 * pad) + pad
        return u, v

    def dots(p: Tensor, colours: list[tuple[int, int, int]], r: float) -> None:
        keep = torch.isfinite(p[:, :2]).all(dim=1)
        u, v = px(p[keep, :2])
        idx = torch.nonzero(keep).flatten().tolist()
        for i, a, b in zip(idx, u.tolist(), v.tolist()):
            if -r <= a <= size + r and -r <= b <= size + r:
                draw.ellipse((a - r, b - r, a + r, b + r), fill=colours[i % len(colours)])

    if real is not None and len(real):
        r = real.detach().float().cpu().reshape(len(real), -1)
        if r.shape[1] == 1:
            r = torch.cat([r, torch.zeros_like(r)], dim=1)
        dots(r, [GREY], 1.5)
    if labels is not None:
        colours = [PALETTE[int(k) % len(PALETTE)] for k in labels.tolist()]
    else:
        colours = [PALETTE[0]]
    dots(samples, colours, 1.8)
    draw.rectangle((0, 0, size - 1, size - 1), outline=(160, 160, 160))
    if title:
        draw.text((pad, pad), title, fill=(60, 60, 60))
    _save(path, img, "PNG")
    return path


def write_gif(frames: Sequence[str | Path], path: str | Path, duration: int = 300) -> Path | None:
    """All ``frames`` (PNG files, in order) as one looping GIF; None when there are none."""
    images = []
    for f in frames:
        try:
            with Image.open(f) as im:
                images.append(im.convert("RGB"))
        except OSError:
            continue
    if not images:
        return None
    path = Path(path)
    size = images[0].size
    images = [im if im.size == size else im.resize(size) for im in images]
    _save(path, images[0], "GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)
    return path


def class_rows(num_classes: int, per_row: int = 8, max_classes: int = 20) -> Tensor:
    """Labels for a grid with one row per class: 0,0,..,1,1,.. (capped at ``max_classes`` rows)."""
    return torch.arange(min(num_classes, max_classes)).repeat_interleave(per_row)


# -- reading the user's own pictures (`ganzoo sample --input`, the folder datasets) ----------------------

#: file endings read as images (the ones the folder datasets read)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")

#: The largest picture read, in pixels. Decoded, an RGB picture of 80 megapixels is 240 MB, and a float copy
#: of it (resizing) about 1 GB: larger ones are refused by name rather than slowly exhausting memory, and the
#: bound sits below Pillow's own decompression-bomb bound (89.5 megapixels), so Pillow's two-line warning,
#: silenced below, never concerns a picture that is read.
MAX_PIXELS = 80_000_000
TOO_LARGE = f"above the {MAX_PIXELS // 1_000_000}-megapixel limit"

#: 16-bit greyscale as Pillow opens it ("I": a 16-bit PNG in older Pillow): its values are 0..65535
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")


class ImageTooLarge(ValueError):
    """A picture above `MAX_PIXELS`: refused before it is decoded."""


def load_image(path: str | Path, channels: int, draft: int | None = None) -> np.ndarray:
    """One picture as uint8 (H, W) for ``channels`` 1 or (H, W, 3) for 3: the one conversion every reader uses.

    16-bit greyscale is scaled to 8 bits (65535 -> 255), not clipped (Pillow's ``convert("L")`` clips it,
    turning a grey ramp nearly white). ``draft``: a JPEG may be decoded at a reduced scale still at least
    ``draft`` pixels a side. ImageTooLarge above `MAX_PIXELS`; Pillow's own errors for files it cannot read.
    """
    mode = "L" if channels == 1 else "RGB"
    # ganzoo checks MAX_PIXELS itself, before decoding: Pillow's warning (two lines, with its site-packages path)
    # would only say it again. Set at each call, not once at import, since pytest and Jupyter reset the filters;
    # adding the same filter again replaces it, and unlike catch_warnings it is safe in the folder's threads.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    try:
        img = Image.open(path)
    except Image.DecompressionBombError:  # Pillow's hard bound (twice its warning's), far above ours
        raise ImageTooLarge(f"{path}: {TOO_LARGE}") from None
    with img:
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise ImageTooLarge(f"{path}: {width}x{height} pixels, {TOO_LARGE}")
        if draft is not None:
            img.draft(mode, (draft, draft))
        if img.mode in _SIXTEEN_BIT:
            wide = np.asarray(img, dtype=np.float32)
            grey = Image.fromarray(np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8), "L")
            return np.asarray(grey if mode == "L" else grey.convert(mode))
        return np.asarray(img.convert(mode))


@dataclass
class ReadImages:
    """Pictures read for a model: uint8 (N, C, H, W), the files they came from, and what was skipped."""

    images: Tensor
    paths: list[Path]
    skipped: dict[str, list[Path]]  # reason -> files

    def skip_note(self) -> str | None:
        """One line counting the skipped files by reason, with an example of each; None when none were."""
        if not self.skipped:
            return None
        total = sum(len(v) for v in self.skipped.values())
        parts = ", ".join(f"{len(v)} {reason} (e.g. {v[0].name})" for reason, v in self.skipped.items())
        return f"skipped {total} file{'s' if total != 1 else ''}: {parts}"


def image_files(path: Path) -> tuple[list[Path], list[Path]]:
    """(image files, other files) of a file or of a folder (recursively, sorted, hidden files left out)."""
    if path.is_file():
        return ([path], []) if path.suffix.lower() in IMAGE_SUFFIXES else ([], [path])
    found: list[Path] = []
    others: list[Path] = []
    for p in sorted(path.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(path).parts):
            continue
        (found if p.suffix.lower() in IMAGE_SUFFIXES else others).append(p)
    return found, others


def fit_image(image: Tensor, height: int, width: int) -> Tensor:
    """uint8 (C, H, W) -> uint8 (C, height, width): the central crop of the target's aspect, resized (antialiased)."""
    import torch.nn.functional as F

    h, w = image.shape[-2:]
    if h * width > w * height:  # too tall for the target's aspect
        crop_h, crop_w = max(1, round(w * height / width)), w
    else:
        crop_h, crop_w = h, max(1, round(h * width / height))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    x = image[:, top:top + crop_h, left:left + crop_w]
    if (crop_h, crop_w) == (height, width):
        return x.contiguous()
    out = F.interpolate(x[None].float(), size=(height, width), mode="bilinear", align_corners=False,
                        antialias=crop_h > height or crop_w > width)
    return out[0].round_().clamp_(0, 255).to(torch.uint8)


def read_images(path: str | Path, shape: tuple[int, ...], limit: int | None = None) -> ReadImages:
    """An image file, or every image file in a folder, as uint8 (N, C, H, W) of ``shape`` (C, H, W).

    Colour is converted to ``C`` channels (1: greyscale, 3: RGB); each picture
    is centre-cropped to the aspect of (H, W) and resized. Files that are not
    images, or that cannot be decoded, are skipped and counted (``skipped``),
    never fatal; at most ``limit`` images are read (the first, sorted by path).
    """
    channels, height, width = (int(s) for s in shape)
    if channels not in (1, 3):
        raise ValueError(f"read_images converts to 1 or 3 channels, not {channels}")
    files, others = image_files(Path(path))
    skipped: dict[str, list[Path]] = {"not images": others} if others else {}
    images: list[Tensor] = []
    kept: list[Path] = []
    for p in files:
        if limit is not None and len(kept) >= limit:
            break
        try:
            array = load_image(p, channels)
        except ImageTooLarge:
            skipped.setdefault(TOO_LARGE, []).append(p)
            continue
        except Exception:  # PIL raises many types for broken files; any of them means "skip this file"
            skipped.setdefault("unreadable", []).append(p)
            continue
        t = torch.from_numpy(array.copy())
        t = t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1)
        images.append(fit_image(t, height, width))
        kept.append(p)
    stacked = torch.stack(images) if images else torch.empty((0, channels, height, width), dtype=torch.uint8)
    return ReadImages(stacked, kept, skipped)
