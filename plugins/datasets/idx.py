"""A small reader for the IDX format of MNIST and Fashion-MNIST (plain or gzip'ed).

One reader serves the shipped ``mnist-10k`` files and the torchvision layout
(ROOT/MNIST/raw/...), so files a user already has load without torchvision's
checksum rules, which reject anything but the exact originals.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from ganzoo.errors import DataError

IMAGES = 2051  # uint8, 3 dimensions (N, rows, cols)
LABELS = 2049  # uint8, 1 dimension (N,)

_GZIP_MAGIC = b"\x1f\x8b"


def find_idx(folder: str | Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists (the unpacked one reads faster)."""
    for name in (stem, stem + ".gz"):
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """The uint8 array stored in an IDX file whose magic number must be ``magic``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    what = "images" if magic == IMAGES else "labels"
    if len(raw) < 4:
        raise DataError(f"corrupt IDX file {path}: {len(raw)} bytes, too short for a header")
    (found,) = struct.unpack(">i", raw[:4])
    if found != magic:
        raise DataError(f"corrupt IDX file {path}: magic number {found}, expected {magic} ({what})")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"corrupt IDX file {path}: header cut short")
    dims = struct.unpack(f">{ndim}i", raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataError(f"corrupt IDX file {path}: {len(raw) - header} data bytes for dimensions {dims} "
                        f"({expected} expected); the file may be truncated")
    # frombuffer shares the immutable bytes; copy so torch gets a writable array.
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_pair(images: str | Path, labels: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, rows, cols) and labels (N,), checked to match in length."""
    x, y = read_idx(images, IMAGES), read_idx(labels, LABELS)
    if len(x) != len(y):
        raise DataError(f"IDX files do not match: {len(x)} images in {images} but {len(y)} labels in {labels}")
    return x, y
