"""The zoo's catalogue: registers the recipes in ganzoo's own `registry.toml`."""

from __future__ import annotations

from importlib import resources

from ganzoo import hookimpl


@hookimpl
def ganzoo_register_recipes(register):
    register.toml(resources.files(__package__) / "registry.toml")
