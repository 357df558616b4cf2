"""Pretrained generators a plugin ships: `export` a run's generator as one, `portable`, `recorded_metrics`.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.runs.pretrained`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .runs.pretrained import export, portable, recorded_metrics

__all__ = ["export", "portable", "recorded_metrics"]
