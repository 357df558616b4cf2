"""The training-algorithm interface a plugin implements: `Algorithm`, the `Setup` it is built with, `update`.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.training.algorithm`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .training.algorithm import (Algorithm, Batch, FeedData, NextBatch, Setup, Side, hyper, nothing_to_learn,
                                 progress_hooks, update)

__all__ = ["Algorithm", "Setup", "Batch", "NextBatch", "Side", "FeedData", "update", "nothing_to_learn",
           "progress_hooks", "hyper"]
