"""Drawing samples from a generator: latent codes, seeded noise, fixed grids, pictures.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.runs.sampling`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .runs.sampling import (check_memory, fixed_batch, generate, latent, sampling_options, seeded_noise, split_options,
                            write_picture)

__all__ = ["latent", "sampling_options", "split_options", "fixed_batch", "seeded_noise", "generate", "write_picture",
           "check_memory"]
