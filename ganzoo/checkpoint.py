"""Checkpoints a plugin reads: `find` a run's latest, `load` one, `load_model` a state dict from it, its header.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.runs.checkpoint`, `ganzoo.runs.header`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .runs.checkpoint import Checkpoint, find, load, load_model
from .runs.header import FORMAT, metadata_json, read_metadata

__all__ = ["FORMAT", "Checkpoint", "find", "load", "load_model", "read_metadata", "metadata_json"]
