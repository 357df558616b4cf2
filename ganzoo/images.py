"""Pictures: grids and scatter plots to write, and a user's image files to read (for image datasets).

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.runs.images`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .runs.images import (IMAGE_SUFFIXES, ImageTooLarge, MAX_PIXELS, ReadImages, TOO_LARGE, bounds, fit_image,
                          grid_tensor, image_files, load_image, read_images, save_grid, scatter, to_pil)

__all__ = ["save_grid", "grid_tensor", "to_pil", "scatter", "bounds", "load_image", "read_images", "ReadImages",
           "image_files", "fit_image", "ImageTooLarge", "IMAGE_SUFFIXES", "MAX_PIXELS", "TOO_LARGE"]
