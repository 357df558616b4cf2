"""The zoo's catalogue: registers the recipes in ganzoo's own `registry.toml`, and the trained generators
shipped for them in ``pretrained/`` (written by benchmarks/zoo.py, listed in ``pretrained/index.json``)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ganzoo import hookimpl
from ganzoo.registry import RecipeRegistrar


@hookimpl
def ganzoo_register_recipes(register: RecipeRegistrar) -> None:
    # a wheel unpacks to real files, so the resources are filesystem paths
    root = Path(str(resources.files(__package__)))
    register.toml(root / "registry.toml")
    weights = root / "pretrained"
    for recipe, entry in json.loads((weights / "index.json").read_text(encoding="utf-8")).items():
        register.pretrained(recipe, weights / entry["file"], sha256=entry["sha256"])
