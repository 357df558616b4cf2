"""Run-config layers: reading TOML files and --set items, checking keys, and merging layers.

See `ganzoo.config` for the resolution order and the merge rules. Torch-free.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from ..base.errors import ConfigError
from .lossspec import LossSpec
from .settings import BY_NAME as TRAIN_SETTINGS
from .settings import check_table

TOP_LEVEL = ("recipe", "out", "algo", "gen", "disc", "loss", "dataset", "train", "meta")
TABLES = ("algo", "gen", "disc", "loss", "dataset", "train")
NAMED = ("algo", "gen", "disc", "dataset")
# Keys that once meant something, or look as if they should, with where the setting lives instead.
REFUSED = {"eval": "evaluation during a run is train.eval_every and train.eval_num; `ganzoo eval` takes flags"}


# -- reading -----------------------------------------------------------------

def _suggest(key: str, choices: list[str] | tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else None


def read_toml(path: Path, what: str) -> tuple[str, dict[str, object]]:
    """(text, data) of a TOML file; a ConfigError "PATH:LINE: what is wrong" when it is not valid."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path} is not UTF-8 text (byte {exc.start})", "save it as UTF-8") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = match.group(1) if match else "?"
        what_wrong = re.sub(r"\s*\(at line.*\)", "", str(exc))
        raise ConfigError(f"{path}:{line}: {what_wrong}") from None


def load_toml(path: str | Path, meta: dict[str, object] | None = None) -> dict[str, object]:
    """A config file as a layer; its ``[meta]`` (ignored as config) is copied into ``meta`` when given."""
    _, data = read_toml(Path(path), "config file")
    check_layer(data, str(path))
    found = data.pop("meta", None)
    if meta is not None and isinstance(found, dict):
        meta.update(found)
    return data


def subtable(config: Mapping[str, object], key: str) -> Mapping[str, object]:
    """``config[key]``, a table; {} when there is none (`check_layer` refuses one that is not a table)."""
    value = config.get(key, {})
    return value if isinstance(value, Mapping) else {}


def check_layer(layer: Mapping[str, object], where: str) -> None:
    """Unknown top-level keys, non-table tables and bad train keys are ConfigErrors."""
    for key, value in layer.items():
        if key in REFUSED:
            raise ConfigError(f"{where}: {key!r} is not a run config table", REFUSED[key])
        if key not in TOP_LEVEL:
            hint = _suggest(key, TOP_LEVEL)
            if hint is None and key in TRAIN_SETTINGS:
                hint = f"did you mean train.{key}?"
            raise ConfigError(f"{where}: unknown key {key!r}", hint or f"expected {', '.join(TOP_LEVEL)}")
        if key in TABLES or key == "meta":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {key!r} must be a table, like [{key}]")
        elif value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {key!r} must be a string")
    check_table(subtable(layer, "train"), where)
    for key in NAMED:
        name = subtable(layer, key).get("name")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{where}: {key}.name must be a string")
    loss = subtable(layer, "loss")
    if "name" in loss and not isinstance(loss["name"], (str, LossSpec)):
        raise ConfigError(f"{where}: loss.name must be a loss spec string such as \"bce+0.5*l1\"")
    for key, value in loss.items():
        if key != "name" and not isinstance(value, dict):
            raise ConfigError(f"{where}: loss.{key} must be a table of that term's parameters",
                              f"set it as loss.{key}.PARAM=VALUE")


def parse_value(text: str) -> object:
    """A --set value: a TOML literal (1, 2e-4, true, [0.5, 0.9], "x"), else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_sets(items: list[str] | tuple[str, ...]) -> dict[str, object]:
    """``["gen.ngf=32", "loss.wgan-gp.gp_weight=5"]`` -> one nested layer (later items win)."""
    layer: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE", "for example --set train.lr=1e-4")
        parts = key.split(".")
        if any(not p for p in parts):
            raise ConfigError(f"--set {item!r}: malformed key {key!r}")
        head = parts[0]
        if head in REFUSED:
            raise ConfigError(f"--set {item!r}: {head!r} is not a run config table", REFUSED[head])
        if head not in TOP_LEVEL or head == "meta":
            hint = f"did you mean train.{head}?" if head in TRAIN_SETTINGS else _suggest(head, TABLES + ("out",))
            raise ConfigError(f"--set {item!r}: unknown key {head!r}", hint or f"keys start with {', '.join(TABLES)}")
        if head in TABLES and len(parts) == 1:
            raise ConfigError(f"--set {item!r}: {head} is a table", f"set one key, like {head}.name=...")
        node = layer
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item!r}: {p!r} is not a table")
            node = child
        value = parse_value(raw.strip())
        node[parts[-1]] = value if (head in TABLES or isinstance(value, str)) else raw.strip()
    check_layer(layer, "--set")
    return layer


# -- merging -----------------------------------------------------------------

def _loss_text(name: object) -> object:
    return name.text if isinstance(name, LossSpec) else name


def merge(acc: Mapping[str, object], layer: Mapping[str, object]) -> dict[str, object]:
    """Apply one layer on top of ``acc`` (both partial configs) following the module's rules.

    A loss spec that renames the loss is parsed here (its term names decide which
    term tables stay) and kept as its `LossSpec`, which `finalize` takes as is.
    """
    result = copy.deepcopy(dict(acc))
    upper = copy.deepcopy(dict(layer))
    upper.pop("meta", None)
    old_gen = subtable(result, "gen").get("name")
    for key in NAMED:
        if key not in upper:
            continue
        new, cur = subtable(upper, key), subtable(result, key)
        if "name" in new and new["name"] != cur.get("name"):
            result[key] = new
        else:
            result[key] = {**cur, **new}
    new_gen = subtable(result, "gen").get("name")
    if new_gen != old_gen and old_gen is not None and "name" not in subtable(upper, "disc"):
        result["disc"] = {"name": new_gen, **{k: v for k, v in subtable(upper, "disc").items()}}
    if "loss" in upper:
        new_loss, cur = dict(subtable(upper, "loss")), subtable(result, "loss")
        if "name" in new_loss and _loss_text(new_loss["name"]) != _loss_text(cur.get("name")):
            # the layer's spec, parsed here once: finalize takes the LossSpec instead of parsing it again
            name = new_loss["name"]  # a str or a LossSpec: check_layer saw to it
            new_loss["name"] = spec = name if isinstance(name, LossSpec) else LossSpec.parse(str(name))
            cur = {k: v for k, v in cur.items() if k in spec.names}
        merged = dict(cur)
        for k, v in new_loss.items():
            old = merged.get(k)
            merged[k] = {**old, **v} if isinstance(v, dict) and isinstance(old, dict) else v
        result["loss"] = merged
    if "train" in upper:
        new = subtable(upper, "train")  # check_layer saw to it that it does not set both epochs and steps
        train = dict(subtable(result, "train"))
        if new.get("steps") is not None:
            train.pop("epochs", None)
        if new.get("epochs") is not None:
            train.pop("steps", None)
        # the EMA's two forms likewise (check_layer refused both in one layer): a fixed decay given on the
        # command line replaces a recipe's half-life, and back; a full table (config.toml) sets both itself
        for key, other in (("ema", "ema_kimg"), ("ema_kimg", "ema")):
            if key in new and other not in new:
                train.pop(other, None)
        result["train"] = {**train, **new}
    for key in ("out", "recipe"):
        if key in upper:
            result[key] = upper[key]
    return result
