"""What a resume tells the user about a config.toml they edited by hand.

A checkpoint's own config is the truth of a run (`ganzoo.runs.rundir`): `--resume` reads it and never
config.toml, which it rewrites at the start. A user who edits config.toml (a model size, the learning
rate) and resumes would otherwise see the edit silently undone, so the one place both ways to resume pass
(`ganzoo.api.train`, which `ganzoo run --resume` calls) prints one line naming the keys that differ and the
values the run goes on with, then resumes. Refusing would strand a run whose config.toml was edited in
passing; the line says how a [train] change is made instead. `edited_config` is torch-free.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path

from ..base.errors import GanzooError
from ..config.layers import TABLES
from ..config.runconfig import RunConfig
from ..runs.rundir import RunDir

#: keys named in full before the rest are counted
SHOWN = 6


def _flat(table: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """``{"gen": {"ngf": 32}}`` -> ``{"gen.ngf": 32}``, the run config's tables only (no out, recipe, meta)."""
    out: dict[str, object] = {}
    for key, value in table.items():
        if not prefix and key not in TABLES:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _same(edited: object, other: object) -> bool:
    """An edited config.toml value against the checkpoint's (or this start's): TOML 1 is 1.0, but true is not
    1, and a name that is not UTF-8 is in config.toml as `ganzoo.base.text.utf8_safe` wrote it."""
    from ..base.text import utf8_safe

    if isinstance(other, str):
        other = utf8_safe(other)
    elif isinstance(other, list):
        other = [utf8_safe(v) if isinstance(v, str) else v for v in other]
    return bool(edited == other) and isinstance(edited, bool) == isinstance(other, bool)


def edited_config(root: Path, config: RunConfig) -> str | None:
    """The line to print when ``root``'s config.toml was edited away from its latest checkpoint's config, in
    keys that ``config`` (what this start trains with) does not take from the edit; None when there are none."""
    run = RunDir(root)
    if not run.has_config() or not run.latest.is_file():
        return None
    try:
        edited = tomllib.loads(run.config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return (f"{run.config} cannot be read ({exc}); resuming with the checkpoint's config, which is written "
                f"back to config.toml")
    from ..runs.header import metadata_json, read_metadata

    try:
        saved = _flat(metadata_json(read_metadata(run.latest), "config", run.latest))
    except GanzooError:
        return None  # the trainer says what is wrong with the checkpoint, in its own line
    now = _flat(config.to_dict())
    # a key this start sets itself (a flag, --set, the config passed to train) is what the user asked for
    keys = sorted(k for k, v in _flat(edited).items()
                  if not _same(v, saved.get(k)) and not _same(v, now.get(k)) and now.get(k) == saved.get(k))
    if not keys:
        return None
    values = ", ".join(f"{k} = {json.dumps(now.get(k))}" for k in keys[:SHOWN])
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return (f"{run.config} differs from the checkpoint in {', '.join(keys[:SHOWN])}{more}; resuming with the "
            f"checkpoint's: {values}{more} (resume does not read config.toml and rewrites it; a [train] setting "
            f"changes with its flag or --set train.KEY=VALUE)")


def note_edited_config(config: RunConfig) -> None:
    """Print `edited_config`'s line on stderr (rank 0 alone under torchrun) when there is one."""
    if config.out is None:
        return
    from . import distributed as dist

    if not dist.from_env().is_main:
        return
    line = edited_config(Path(config.out), config)
    if line is not None:
        from ..base.console import err_console

        err_console.print(line, highlight=False, soft_wrap=True, markup=False)
