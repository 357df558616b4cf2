"""Component parameters as a factory declares them: `Range` for a bounded number, and their checks.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.plugin.params`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .plugin.params import RESERVED, Range, TypeSpec, check_params, parse_annotation, type_label

__all__ = ["Range", "check_params", "parse_annotation", "type_label", "TypeSpec", "RESERVED"]
