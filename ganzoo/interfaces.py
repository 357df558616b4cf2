"""The four interfaces every component implements: Generator, Discriminator, LossTerm, Dataset.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.base.specs`,
`ganzoo.components.interfaces`, `ganzoo.plugin.heads`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .base.specs import DataInfo
from .components.interfaces import (Dataset, Discriminator, Generator, LossInputs, LossTerm, forward, forward_heads,
                                    to_model_range, to_uint8)
from .plugin.heads import MAIN

__all__ = ["DataInfo", "Generator", "Discriminator", "LossTerm", "LossInputs", "Dataset", "forward", "forward_heads",
           "MAIN", "to_model_range", "to_uint8"]
