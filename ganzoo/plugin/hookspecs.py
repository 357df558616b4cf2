"""The hooks a ganzoo plugin implements.

A plugin is any module (or object) that implements one or more of these hooks
with ``@ganzoo.hookimpl`` and is published under the entry-point group
``ganzoo``. The built-in components are plugins of exactly this kind, declared
in ganzoo's own ``pyproject.toml``.

Shape chosen: each hook receives a typed *register* object (as in tox and
``simonw/llm``) rather than returning specs (as in datasette). The register
object knows which plugin is calling, so every registration is stamped with
its plugin and distribution without the plugin having to say so, and a
broken call is reported against the right plugin. See docs/plugins.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click

    from .registry import ComponentRegistrar, RecipeRegistrar

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")


@hookspec
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    """Register generators, discriminators, loss terms, datasets, training algorithms, loggers and metrics.

    Call ``register.generator(name, factory, ...)``,
    ``register.discriminator(...)``, ``register.loss(..., role=...)``,
    ``register.dataset(...)``, ``register.algorithm(...)``, ``register.logger(...)`` and
    ``register.metric(..., needs=..., keys=...)``. ``factory`` should be a lazy
    ``"package.module:attr"`` string so that listing components does not
    import torch; the factory's docstring becomes the component's help text.
    """


@hookspec
def ganzoo_register_recipes(register: RecipeRegistrar) -> None:
    """Register named recipes: ``register.recipe(name, config, doc=...)`` for
    one composition, or ``register.toml(path)`` for a whole ``registry.toml``
    shipped inside the plugin's package."""


@hookspec
def ganzoo_register_commands(cli: click.Group) -> None:
    """Add click commands to the ``ganzoo`` command line (as ``llm`` does)."""
