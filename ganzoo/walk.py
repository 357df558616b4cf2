"""Latent walks: the paths between two seeds' codes (`slerp`, `interpolate`) and their frames (`walk`).

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.runs.walk`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .runs.walk import animation, fractions, interpolate, slerp, walk

__all__ = ["slerp", "fractions", "interpolate", "walk", "animation"]
