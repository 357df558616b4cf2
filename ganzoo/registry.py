"""What a plugin's hooks are given: `ComponentRegistrar`, `RecipeRegistrar`; and the `Registry` they fill.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.plugin.registry`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .plugin.registry import ComponentRegistrar, RecipeRegistrar, Registry

__all__ = ["Registry", "ComponentRegistrar", "RecipeRegistrar"]
