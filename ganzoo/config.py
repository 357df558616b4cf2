"""The run config: one set of TOML tables, resolved from layers, written back as `config.toml`.

A run is ``[gen]``, ``[disc]``, ``[loss]`` (with per-term sub-tables such as
``[loss.wgan-gp]``), ``[dataset]``, ``[train]``, ``[eval]`` and a top-level
``out``. Layers apply in this order, later ones winning:

1. the recipe (the RECIPE argument, else a ``recipe = "..."`` in the config
   file, else ``registry.default_recipe`` when the other layers do not name a
   generator, loss and dataset themselves),
2. ``--config FILE.toml`` (a full or partial run config; ``[meta]`` is ignored),
3. explicit command-line flags,
4. ``--set KEY=VALUE`` (dotted keys; values are TOML literals, else strings).

Merging rules: a layer that renames ``gen``, ``disc`` or ``dataset`` replaces
that table (the old component's parameters do not carry over); renaming the
generator without naming a discriminator points ``disc`` at the same name;
renaming the loss keeps only the sub-tables of terms still in the spec;
setting ``train.steps`` clears ``train.epochs`` from lower layers and vice versa.
This module is torch-free.
"""

from __future__ import annotations

import copy
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .configlayers import (NAMED, TABLES, TOP_LEVEL, TRAIN_DEFAULTS, check_layer, load_toml, loss_term_names,
                           merge, parse_sets, parse_value)
from .errors import ConfigError
from .tomlwriter import dumps_toml

__all__ = ["RunConfig", "TRAIN_DEFAULTS", "TOP_LEVEL", "TABLES", "NAMED", "resolve", "finalize", "merge",
           "parse_sets", "parse_value", "check_layer", "load_toml", "loss_term_names", "dumps_toml",
           "config_toml", "read_run_config"]


@dataclass
class RunConfig:
    """A resolved run config (every table present, train complete)."""

    gen: dict[str, Any]
    disc: dict[str, Any]
    loss: dict[str, Any]
    dataset: dict[str, Any]
    train: dict[str, Any]
    eval: dict[str, Any] = field(default_factory=dict)
    out: str | None = None
    recipe: str | None = None

    @staticmethod
    def params(table: dict[str, Any]) -> dict[str, Any]:
        """A component table without its name: the factory's keyword parameters."""
        return {k: v for k, v in table.items() if k != "name"}

    @property
    def loss_params(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.loss.items() if k != "name"}

    @property
    def total_steps_hint(self) -> str:
        t = self.train
        return f"{t['steps']} steps" if t.get("steps") else f"{t.get('epochs') or 1} epochs"

    def to_dict(self) -> dict[str, Any]:
        """Tables only (no recipe/meta): what config.toml holds and `--config` reads back."""
        d: dict[str, Any] = {}
        if self.out is not None:
            d["out"] = self.out
        for name in TABLES:
            value = getattr(self, name)
            if value or name != "eval":
                d[name] = copy.deepcopy(value)
        return d

    def to_json(self) -> str:
        return json.dumps({**self.to_dict(), "recipe": self.recipe}, sort_keys=True)

    def replace(self, **changes: Any) -> RunConfig:
        d = {**self.to_dict(), "recipe": self.recipe, **changes}
        return finalize(d)


# -- validation ----------------------------------------------------------------

def _int(train: dict[str, Any], key: str, minimum: int, optional: bool = False) -> None:
    v = train[key]
    if v is None and optional:
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ConfigError(f"train.{key} must be an integer >= {minimum}, not {v!r}")


def _float(train: dict[str, Any], key: str, lo: float, hi: float, lo_open: bool = True) -> None:
    v = train[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or v < lo or (lo_open and v == lo) or v >= hi:
        raise ConfigError(f"train.{key} must be a number in {'(' if lo_open else '['}{lo:g}, {hi:g}), not {v!r}")
    train[key] = float(v)


def finalize(raw: dict[str, Any]) -> RunConfig:
    """Fill defaults and validate a merged config; ConfigError for anything a run could not use."""
    check_layer(raw, "config")
    for key in ("gen", "loss", "dataset"):
        if not isinstance(raw.get(key, {}).get("name"), str):
            raise ConfigError(f"the run config names no {key}", f"pass a recipe, --{key} NAME or --set {key}.name=NAME")
    train = {**TRAIN_DEFAULTS, **raw.get("train", {})}
    if train["epochs"] is not None and train["steps"] is not None:
        raise ConfigError("set train.epochs or train.steps, not both")
    if train["epochs"] is None and train["steps"] is None:
        train["epochs"] = 1
    _int(train, "epochs", 1, optional=True)
    _int(train, "steps", 1, optional=True)
    for key in ("batch_size", "latent_dim"):
        _int(train, key, 1)
    for key in ("seed", "sample_every", "checkpoint_every", "keep_every", "eval_every"):
        _int(train, key, 0)
    _int(train, "log_every", 1)
    _int(train, "eval_num", 10)  # the metrics compare at least 10 generated samples
    _float(train, "lr", 0.0, math.inf)
    ema = train["ema"]
    if ema is None or ema is False or (isinstance(ema, str) and ema.lower() in ("none", "off", "")):
        train["ema"] = 0.0
    _float(train, "ema", 0.0, 1.0, lo_open=False)
    betas = train["betas"]
    if not (isinstance(betas, (list, tuple)) and len(betas) == 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)):
        raise ConfigError(f"train.betas must be two numbers in [0, 1), not {betas!r}")
    train["betas"] = [float(b) for b in betas]
    for key in ("amp", "compile"):
        if not isinstance(train[key], bool):
            raise ConfigError(f"train.{key} must be true or false, not {train[key]!r}")
    if train["channels_last"] != "auto" and not isinstance(train["channels_last"], bool):
        raise ConfigError(f"train.channels_last must be \"auto\", true or false, not {train['channels_last']!r}")
    device = train["device"]
    if not isinstance(device, str) or not re.match(r"^(auto|cpu|mps|cuda(:\d+)?)$", device):
        raise ConfigError(f"train.device must be auto, cpu, cuda, cuda:N or mps, not {device!r}")
    disc = dict(raw.get("disc", {}))
    disc.setdefault("name", raw["gen"]["name"])
    return RunConfig(gen=dict(raw["gen"]), disc=disc, loss=dict(raw["loss"]), dataset=dict(raw["dataset"]),
                     train=train, eval=dict(raw.get("eval", {})), out=raw.get("out"), recipe=raw.get("recipe"))


# -- resolution ------------------------------------------------------------------

def resolve(recipe: str | None = None, config_file: str | Path | None = None,
            flags: dict[str, Any] | None = None, sets: list[str] | tuple[str, ...] = (),
            registry: Any = None, base: dict[str, Any] | None = None) -> RunConfig:
    """Resolve the layers into a RunConfig (see the module docstring).

    ``base`` replaces the recipe layer (``--resume`` starts from the run's own config).
    """
    file_meta: dict[str, Any] = {}
    file_layer = load_toml(config_file, file_meta) if config_file else {}
    file_recipe = file_layer.pop("recipe", None)
    flag_layer = dict(flags or {})
    check_layer(flag_layer, "flags")
    set_layer = parse_sets(sets)
    if base is None:
        upper = merge(merge(file_layer, flag_layer, "flags"), set_layer, "--set")
        complete = all(isinstance(upper.get(k, {}).get("name"), str) for k in ("gen", "loss", "dataset"))
        name = recipe or file_recipe
        if name is None and not complete:
            registry = registry or _registry()
            name = registry.default_recipe
            if name is None:
                raise ConfigError("no recipe given and no default recipe is registered",
                                  "name one (see `ganzoo list --kind recipe`) or pass --gen, --loss and --dataset")
        base = {}
        if name is not None:
            base = {**copy.deepcopy((registry or _registry()).recipe(name).config), "recipe": name}
    acc = merge(base, file_layer, str(config_file or "config"))
    acc = merge(acc, flag_layer, "flags")
    acc = merge(acc, set_layer, "--set")
    if acc.get("recipe") is None and isinstance(file_meta.get("recipe"), str):
        acc["recipe"] = file_meta["recipe"]  # a repeated run keeps its recipe's name (for naming only)
    return finalize(acc)


def _registry() -> Any:
    from .plugin_manager import get_registry

    return get_registry()


def config_toml(config: RunConfig, meta: dict[str, Any] | None = None) -> str:
    d = config.to_dict()
    if meta:
        d["meta"] = meta
    header = ("# ganzoo run config. Repeat this run with: ganzoo run --config <this file>\n"
              "# [meta] records where it came from and is ignored when read back.\n")
    return header + dumps_toml(d)


def read_run_config(path: str | Path) -> tuple[RunConfig, dict[str, Any]]:
    """A run's config.toml -> (config, meta)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read run config {path}: {exc}") from None
    meta = data.pop("meta", {}) or {}
    check_layer(data, str(path))
    return finalize(data), meta
