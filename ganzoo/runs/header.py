"""A checkpoint's header: its format and metadata, read from the file's first bytes without torch.

A checkpoint (`ganzoo.checkpoint`) is a safetensors file: an 8-byte little-endian length, a JSON header
whose ``__metadata__`` is a table of strings, then the tensors. What a run folder (`ganzoo.runs.rundir`),
a resume and `ganzoo eval` need of it (its run config, its meta) is in that header, so it is read here
alone, cheaply and torch-free; `ganzoo.runs.checkpoint` reads the same header before the tensors.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from ..base.errors import CheckpointError

FORMAT = "ganzoo.checkpoint/1"

_MAX_HEADER = 100 * 2**20  # safetensors' own limit: a bigger header is not a checkpoint


def _header_bytes(head: bytes, size: int, path: Path) -> int:
    if len(head) < 8:
        raise CheckpointError(f"checkpoint {path} is truncated ({size} bytes)")
    (n,) = struct.unpack("<Q", head[:8])
    if n > size - 8 or n > _MAX_HEADER:
        raise CheckpointError(f"checkpoint {path} is truncated or not a safetensors file")
    return int(n)


def _metadata(raw: bytes, path: Path) -> dict[str, str]:
    """The header's ``__metadata__``, checked: a JSON object whose metadata is a table of strings."""
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"checkpoint {path} is corrupt: unreadable header") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"checkpoint {path} is corrupt: its header is not a JSON object")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"checkpoint {path} is corrupt: __metadata__ is not a table of strings")
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ganzoo checkpoint (format {metadata.get('format')!r})")
    return metadata


def _read(path: Path, size: int | None = None) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read() if size is None else fh.read(size)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None


def read_metadata(path: str | Path) -> dict[str, str]:
    """A checkpoint's metadata from its header alone (no tensors are read: cheap, and no torch work)."""
    path = Path(path)
    head = _read(path, 8)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    n = _header_bytes(head, size, path)
    return _metadata(_read(path, 8 + n)[8:], path)


def metadata_json(metadata: dict[str, str], key: str, path: Path) -> dict[str, object]:
    """A JSON table of the metadata (``config``, ``meta``, ...); {} when absent; CheckpointError when not a table."""
    raw = metadata.get(key)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise CheckpointError(f"checkpoint {path} has corrupt metadata: {key!r} is not a JSON table")
    return value
