"""The device helpers a plugin's models and algorithms use: `autocast`, `resolve_device`.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.components.device`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .components.device import autocast, resolve_device

__all__ = ["autocast", "resolve_device"]
