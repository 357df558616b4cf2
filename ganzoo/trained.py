"""A trained run read back: its generator, rebuilt from a checkpoint, for `ganzoo sample` and `ganzoo eval`.

The checkpoint alone is read (its ``config`` and ``meta`` are the truth of
what produced its weights, see `ganzoo.rundir`), so a lone checkpoint file
samples as well as a run folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TYPE_CHECKING

import torch
from torch import nn

from . import checkpoint as ckpt_mod
from .config import RunConfig, finalize
from .errors import CheckpointError, GanzooError
from .rundir import RunDir
from .specs import DataInfo

if TYPE_CHECKING:  # pragma: no cover
    from .registry import Registry


@dataclass
class LoadedGenerator:
    """A run's generator in eval mode, with what it was trained on and where it came from."""

    model: nn.Module
    data: DataInfo
    config: RunConfig
    meta: dict[str, Any]
    run_dir: Path  # the run folder, or the folder of a lone checkpoint
    checkpoint: Path
    step: int
    ema: bool  # the EMA weights were loaded
    conditional: bool

    @property
    def latent_dim(self) -> int:
        return int(self.config.train["latent_dim"])


def locate(target: str | Path) -> tuple[Path, Path]:
    """(run folder, checkpoint file) for a run folder or a checkpoint path."""
    p = Path(target)
    ckpt = ckpt_mod.find(p)
    if p.is_dir():
        return p, ckpt
    run = p.parent.parent
    if p.parent.name == RunDir(run).checkpoints.name and RunDir(run).is_run():
        return run, ckpt
    return p.parent, ckpt


def load_generator(target: str | Path, use_ema: bool = True, device: str | torch.device = "cpu",
                   registry: Registry | None = None) -> LoadedGenerator:
    """Rebuild a run's generator from its checkpoint (CheckpointError/ComponentError, one line, when it cannot)."""
    from .build import build_generator
    from .plugin_manager import get_registry, unavailable

    run_dir, path = locate(target)
    ck = ckpt_mod.load(path)
    if not ck.config:
        raise CheckpointError(f"checkpoint {path} records no run config", "it was not written by `ganzoo run`")
    try:
        config = finalize({k: v for k, v in ck.config.items() if v is not None})
    except (GanzooError, AttributeError, TypeError, ValueError) as exc:  # the file was edited or crafted
        raise CheckpointError(f"checkpoint {path} has a run config that does not validate: {exc}") from None
    meta = ck.meta
    if not isinstance(meta.get("data"), dict):
        raise CheckpointError(f"checkpoint {path}: the run's data description (meta.data) is missing")
    try:
        data = DataInfo.from_dict(meta["data"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"checkpoint {path}: the run's data description (meta.data) is corrupt") from None
    registry = registry or get_registry()
    name = config.gen["name"]
    if not registry.has("generator", name):
        raise unavailable("generator", name, (meta.get("components") or {}).get("generator"))
    spec = registry.get("generator", name)
    model = build_generator(name, data, config.train["latent_dim"], RunConfig.params(config.gen), registry)
    ema = use_ema and bool(ck.section("ema"))
    ckpt_mod.load_model(ck, "ema" if ema else "generator", model, f"generator {name!r}")
    model.to(device).eval()
    conditional = spec.conditional
    return LoadedGenerator(model=model, data=data, config=config, meta=meta, run_dir=run_dir, checkpoint=path,
                           step=ck.step, ema=ema, conditional=conditional)
