"""The zoo's catalogue: registers the recipes in ganzoo's own `registry.toml`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ganzoo import hookimpl
from ganzoo.registry import RecipeRegistrar


@hookimpl
def ganzoo_register_recipes(register: RecipeRegistrar) -> None:
    # a wheel unpacks to real files, so the resource is a filesystem path
    register.toml(Path(str(resources.files(__package__) / "registry.toml")))
