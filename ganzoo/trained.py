"""A trained run read back by its algorithm: the `Trained` reader a plugin subclasses, and `load`.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.runs.trained`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .runs.trained import (Controls, Drawing, NoiseGenerator, Option, Scoring, Stored, Trained, accept, flag_of, load,
                           load_generator, locate, read)

__all__ = ["Option", "Stored", "Drawing", "Scoring", "Controls", "Trained", "NoiseGenerator", "load", "load_generator",
           "read", "locate", "flag_of", "accept"]
