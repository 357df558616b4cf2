"""The EMA of a generator, for an algorithm that keeps its own (`update`) or is given one (`KeptEMA`).

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.training.ema`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .training.ema import KeptEMA, update

__all__ = ["KeptEMA", "update"]
