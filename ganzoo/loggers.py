"""The experiment-tracker interface a ``logger`` plugin implements: `Logger`.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.training.loggers`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .training.loggers import Logger, STATUSES

__all__ = ["Logger", "STATUSES"]
