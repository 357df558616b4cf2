"""The run config: one set of TOML tables, resolved from layers, written back as `config.toml`.

A run is ``[algo]`` (the training algorithm; absent: the registry's default,
filled in when the names are looked up), ``[gen]``, ``[disc]``, ``[loss]`` (with per-term sub-tables such as
``[loss.wgan-gp]``), ``[dataset]``, ``[train]`` (every key declared once in
`ganzoo.config.settings`) and a top-level ``out``. Layers apply in this order, later
ones winning:

1. the recipe (the RECIPE argument, else a ``recipe = "..."`` in the config
   file, else the default recipe when the other layers do not name a
   generator, loss and dataset themselves),
2. ``--config FILE.toml`` (a full or partial run config; ``[meta]`` is ignored),
3. explicit command-line flags,
4. ``--set KEY=VALUE`` (dotted keys; values are TOML literals, else strings).

Merging rules: a layer that renames ``algo``, ``gen``, ``disc`` or ``dataset`` replaces
that table (the old component's parameters do not carry over); renaming the
generator without naming a discriminator points ``disc`` at the same name;
renaming the loss keeps only the sub-tables of terms still in the spec;
setting ``train.steps`` clears ``train.epochs`` from lower layers and vice versa,
and ``train.ema`` (a fixed decay) clears ``train.ema_kimg`` (a half-life) and back.

There is no ``[eval]`` table: nothing in a run would read it (evaluation during
training is ``train.eval_every``/``train.eval_num``; ``ganzoo eval`` takes flags),
so it is refused with that hint rather than accepted and ignored.

This module is torch-free and does not load plugins: whoever calls `resolve`
passes the recipes in (a `RecipeSource` such as the registry).
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from ..base.errors import ConfigError
from ..base.specs import RecipeSpec
from .layers import check_layer, load_toml, merge, parse_sets, subtable
from .lossspec import LossSpec
from .settings import TrainSettings
from .tomlwriter import dumps_toml

__all__ = ["RunConfig", "RecipeSource", "resolve", "finalize", "config_toml", "read_run_config"]


@dataclass
class RunConfig:
    """A resolved run config: every table present, ``settings`` complete, the loss spec parsed."""

    # Untyped values: each reader takes table["name"] as the str finalize checked, and the rest as the parameters
    # its component declares (checked when the names are looked up).
    gen: dict[str, Any]
    disc: dict[str, Any]
    loss: dict[str, Any]  # "name" (the spec as written) and one table of parameters per term
    dataset: dict[str, Any]
    settings: TrainSettings
    loss_spec: LossSpec
    out: str | None = None
    recipe: str | None = None
    #: the training algorithm's table; without a "name", the registry's default algorithm
    algo: dict[str, Any] = field(default_factory=dict)
    _train: MappingProxyType[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._train = MappingProxyType(self.settings.to_table())

    @property
    def train(self) -> MappingProxyType[str, Any]:
        """``settings`` as the read-only ``[train]`` table (``config.train["lr"]``)."""
        return self._train

    @staticmethod
    def params(table: Mapping[str, object]) -> dict[str, object]:
        """A component table without its name: the factory's keyword parameters."""
        return {k: v for k, v in table.items() if k != "name"}

    @property
    def loss_params(self) -> dict[str, dict[str, object]]:
        return {k: v for k, v in self.loss.items() if k != "name"}

    @property
    def total_steps_hint(self) -> str:
        t = self.settings
        return f"{t.steps} steps" if t.steps else f"{t.epochs or 1} epochs"

    def to_dict(self) -> dict[str, object]:
        """Tables only (no recipe/meta): what config.toml holds and `--config` reads back."""
        d: dict[str, object] = {}
        if self.out is not None:
            d["out"] = self.out
        if self.algo:
            d["algo"] = copy.deepcopy(self.algo)
        for name in ("gen", "disc", "loss", "dataset"):
            d[name] = copy.deepcopy(getattr(self, name))
        d["train"] = self.settings.to_table()
        return d

    def to_json(self) -> str:
        return json.dumps({**self.to_dict(), "recipe": self.recipe}, sort_keys=True)

    def replace(self, **changes: object) -> RunConfig:
        d = {**self.to_dict(), "recipe": self.recipe, **changes}
        return finalize(d)


def finalize(raw: Mapping[str, object]) -> RunConfig:
    """Fill defaults and validate a merged config; ConfigError for anything a run could not use."""
    check_layer(raw, "config")
    for key in ("gen", "loss", "dataset"):
        if not isinstance(subtable(raw, key).get("name"), (str, LossSpec)):
            raise ConfigError(f"the run config names no {key}", f"pass a recipe, --{key} NAME or --set {key}.name=NAME")
    settings = TrainSettings.from_table(subtable(raw, "train"))
    gen, loss = subtable(raw, "gen"), subtable(raw, "loss")
    name = loss["name"]  # a str or a LossSpec, checked above
    spec = name if isinstance(name, LossSpec) else LossSpec.parse(str(name))  # merge parsed a renamed spec already
    disc = dict(subtable(raw, "disc"))
    disc.setdefault("name", gen["name"])
    out, recipe = raw.get("out"), raw.get("recipe")  # each a str or None: check_layer saw to it
    return RunConfig(gen=dict(gen), disc=disc, loss={**loss, "name": spec.text},
                     dataset=dict(subtable(raw, "dataset")), settings=settings, loss_spec=spec,
                     out=out if isinstance(out, str) else None, recipe=recipe if isinstance(recipe, str) else None,
                     algo=dict(subtable(raw, "algo")))


# -- resolution ------------------------------------------------------------------

class RecipeSource(Protocol):
    """Where `resolve` finds recipes (the registry is one); passed in, so config never loads plugins."""

    @property
    def default_recipe(self) -> str | None: ...

    def recipe(self, name: str) -> RecipeSpec: ...


def resolve(recipe: str | None = None, config_file: str | Path | None = None,
            flags: Mapping[str, object] | None = None, sets: list[str] | tuple[str, ...] = (), *,
            recipes: RecipeSource | None = None, base: Mapping[str, object] | None = None) -> RunConfig:
    """Resolve the layers into a RunConfig (see the module docstring).

    ``recipes`` is asked for a recipe only when one is needed; ``base``
    replaces the recipe layer (``--resume`` starts from the run's own config).
    """
    if recipe is not None and not recipe.strip():
        raise ConfigError("the RECIPE argument is empty", "name a recipe that `ganzoo list --kind recipe` shows, or leave it out")
    file_meta: dict[str, object] = {}
    file_layer = load_toml(config_file, file_meta) if config_file else {}
    file_recipe = file_layer.pop("recipe", None)
    flag_layer = dict(flags or {})
    check_layer(flag_layer, "flags")
    upper = merge(merge(file_layer, flag_layer), parse_sets(sets))
    if base is None:
        name = recipe if recipe is not None else file_recipe if isinstance(file_recipe, str) else None
        complete = all(isinstance(subtable(upper, k).get("name"), (str, LossSpec)) for k in ("gen", "loss", "dataset"))
        if name is None and not complete:
            name = recipes.default_recipe if recipes is not None else None
            if name is None:
                raise ConfigError("no recipe given and no default recipe is registered",
                                  "name one (see `ganzoo list --kind recipe`) or pass --gen, --loss and --dataset")
        base = {}
        if name is not None:
            if recipes is None:
                raise TypeError(f"resolve() needs recipes= to read recipe {name!r}")
            base = {**copy.deepcopy(recipes.recipe(name).config), "recipe": name}
    acc = merge(base, upper)
    if acc.get("recipe") is None and isinstance(file_meta.get("recipe"), str):
        acc["recipe"] = file_meta["recipe"]  # a repeated run keeps its recipe's name (for naming only)
    return finalize(acc)


def config_toml(config: RunConfig, meta: Mapping[str, object] | None = None) -> str:
    d = config.to_dict()
    if meta:
        d["meta"] = meta
    header = ("# ganzoo run config. Repeat this run with: ganzoo run --config <this file>\n"
              "# [meta] records where it came from and is ignored when read back.\n")
    return header + dumps_toml(d)


def read_run_config(path: str | Path) -> tuple[RunConfig, dict[str, object]]:
    """A run's config.toml -> (config, meta)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read run config {path}: {exc}") from None
    meta = data.pop("meta", {}) or {}
    check_layer(data, str(path))
    return finalize(data), meta
