"""The loss a loss spec builds: `CompositeLoss`, what ``ganzoo.create('loss', ...)`` returns.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.components.losses`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .components.losses import CompositeLoss

__all__ = ["CompositeLoss"]
