"""Recipe files (`registry.toml`): parsing, validation, and where users put their own.

A recipe file looks like::

    default = "dcgan-mnist"          # optional: what a bare `ganzoo run` trains

    [recipes.dcgan-mnist]
    doc = "DCGAN on the bundled MNIST test split."
    gen = { name = "dcgan", ngf = 32 }
    loss = { name = "bce" }
    dataset = { name = "mnist-10k" }
    train = { epochs = 5, batch_size = 64 }

The tables are the same as a run's `config.toml` (gen, disc, loss, dataset,
train), so a recipe is a partial run config, checked like any other layer
(`ganzoo.config.layers.check_layer`).

User recipe files, later ones overriding earlier ones:
1. every path in ``GANZOO_REGISTRY`` (separated by the OS path separator),
2. ``./registry.toml`` in the working directory, when it holds ``[recipes.*]`` tables (parsed, so a header
   spelled ``[ recipes.x ]`` counts; a file that is not valid TOML counts when it mentions recipes, so that
   its error is said),
3. ``--registry PATH`` on the command line.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from ..base.errors import ConfigError
from ..base.specs import NAME_RE, PluginInfo, RecipeSpec
from .layers import REFUSED, TABLES, check_layer, read_toml

REQUIRED = ("gen", "loss", "dataset")
ENV_REGISTRY = "GANZOO_REGISTRY"


def _line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    return 1


#: a recipe's keys that are text for people, not run config tables: its help, and for a recipe that trains on
#: the user's own files, what to download and where to point --data-root (said when --data-root is missing)
PROSE = ("doc", "summary", "data")


def validate_recipe(name: str, config: object, where: str) -> None:
    """Raise ConfigError("<where>: ...") for anything a run could not use."""
    if not NAME_RE.match(name):
        raise ConfigError(f"{where}: recipe name {name!r} is not lowercase-with-dashes")
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: recipe {name!r} must be a table")
    for key, value in config.items():
        if key in PROSE:
            if not isinstance(value, str):
                raise ConfigError(f"{where}: recipe {name!r}: {key!r} must be a string")
            continue
        if key in REFUSED:
            raise ConfigError(f"{where}: recipe {name!r}: {key!r} is not a run config table", REFUSED[key])
        if key not in TABLES:
            raise ConfigError(f"{where}: recipe {name!r} has unknown table {key!r} (expected {', '.join(TABLES)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: recipe {name!r}: {key!r} must be a table like {{ name = \"...\" }}")
    for key in REQUIRED:
        if not isinstance(config.get(key, {}).get("name"), str):
            raise ConfigError(f"{where}: recipe {name!r} needs {key}.name")
    check_layer({k: v for k, v in config.items() if k not in PROSE}, f"{where}: recipe {name!r}")


def load_recipe_file(path: Path, plugin: PluginInfo | None = None) -> tuple[list[RecipeSpec], str | None]:
    text, data = read_toml(path, "recipe file")
    unknown = set(data) - {"default", "recipes"}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"{path}:{_line_of(text, key)}: unknown top-level key {key!r} (expected 'default' and [recipes.NAME] tables)")
    recipes = data.get("recipes", {})
    if not isinstance(recipes, dict):
        raise ConfigError(f"{path}:{_line_of(text, 'recipes')}: 'recipes' must be tables like [recipes.my-recipe]")
    specs = []
    for name, config in recipes.items():
        validate_recipe(name, config, f"{path}:{_line_of(text, name)}")
        config = dict(config)
        doc = str(config.pop("doc", config.pop("summary", "")))
        specs.append(RecipeSpec(name, config, str(path), plugin, doc, data=str(config.pop("data", ""))))
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise ConfigError(f"{path}:{_line_of(text, 'default')}: 'default' must be a recipe name")
    return specs, default


def user_recipe_files(extra: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """The user's own recipe files, in the order they apply (later wins)."""
    paths = [Path(p) for p in os.environ.get(ENV_REGISTRY, "").split(os.pathsep) if p]
    cwd = Path.cwd() / "registry.toml"
    if _holds_recipes(cwd):
        paths.append(cwd)
    paths.extend(Path(p) for p in extra)
    seen, out = set(), []
    for p in paths:
        try:
            key = p.resolve()
        except (RuntimeError, OSError):  # a symbolic-link loop: reading it says so, in one line
            key = p.absolute()
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _holds_recipes(path: Path) -> bool:
    """Whether ``./registry.toml`` is a recipe file (another tool's file of that name is left alone)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "recipes" in text  # a recipe file with a mistake: read, so that its one-line error is said
    return isinstance(data.get("recipes"), dict)
