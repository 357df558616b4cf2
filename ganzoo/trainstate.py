"""What a training checkpoint holds beyond the format: assembling it from, and restoring it into, a run.

Models are saved unwrapped (never DDP/compiled wrappers), so a checkpoint
resumes with any number of processes and samples without the trainer.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, TYPE_CHECKING

import torch
from torch import nn

from . import checkpoint as ck
from .checkpoint import Checkpoint
from .errors import CheckpointError, WriteError

if TYPE_CHECKING:  # pragma: no cover
    from .batches import Feeder
    from .config import RunConfig


def save_training(path: Path, *, G: nn.Module, D: nn.Module, ema: nn.Module | None, opt_g: torch.optim.Optimizer,
                  opt_d: torch.optim.Optimizer, feed: Feeder, noise: torch.Generator, step: int, config_json: str,
                  meta: dict[str, Any], keep: Path | None = None,
                  extra: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``path`` atomically; with ``keep``, also keep this checkpoint under that name (a hard link)."""
    tensors = {**ck.state_tensors("generator", G), **ck.state_tensors("discriminator", D)}
    if ema is not None:
        tensors.update(ck.state_tensors("ema", ema))
    tg, mg = ck.flatten_optimizer("opt_g", opt_g)
    td, md = ck.flatten_optimizer("opt_d", opt_d)
    tensors.update(tg)
    tensors.update(td)
    tensors.update(rng_tensors(feed.data_state, noise))
    tensors.update(extra or {})  # the other DDP ranks' RNG states (rng.rank<r>.*), gathered by the caller
    metadata = {"step": str(step), "epoch": str(feed.epoch), "config": config_json, "meta": json.dumps(meta),
                "opt_g": mg, "opt_d": md, "data": json.dumps(feed.position())}
    ck.save(path, tensors, metadata)
    if keep is not None:
        try:
            keep.unlink(missing_ok=True)
            try:
                os.link(path, keep)
            except OSError:
                shutil.copy2(path, keep)
        except OSError as exc:
            raise WriteError.from_os(exc, keep) from None
    return path


def first_nonfinite(G: nn.Module, D: nn.Module, ema: nn.Module | None, opt_g: torch.optim.Optimizer,
                    opt_d: torch.optim.Optimizer) -> str | None:
    """The first weight or optimizer moment (by checkpoint key) that is inf or nan; None when all are finite.

    Checked on the device before every save (one sync): the loss check alone is not enough, since the
    update after a step's (finite) loss can still blow the weights up.
    """
    tensors = {f"generator.{k}": v for k, v in G.state_dict().items()}
    tensors.update({f"discriminator.{k}": v for k, v in D.state_dict().items()})
    if ema is not None:
        tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    for prefix, opt in (("opt_g", opt_g), ("opt_d", opt_d)):
        for i, state in opt.state_dict()["state"].items():  # keyed as `ganzoo.checkpoint.flatten_optimizer` does
            tensors.update({f"{prefix}.{i}.{k}": v for k, v in state.items() if isinstance(v, torch.Tensor)})
    return ck.first_nonfinite(tensors)


def restore_training(c: Checkpoint, config: RunConfig, *, G: nn.Module, D: nn.Module, ema: nn.Module | None,
                     opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, feed: Feeder,
                     noise: torch.Generator | None) -> int:
    """Load everything into the run's objects (CheckpointError on any mismatch); returns the step.

    ``noise`` None: leave the noise generator alone (DDP ranks other than 0 reseed their own).
    """
    ck.check_composition(c, config)
    ck.load_model(c, "generator", G, f"generator {config.gen['name']!r}")
    ck.load_model(c, "discriminator", D, f"discriminator {config.disc['name']!r}")
    if ema is not None:
        if c.section("ema"):
            ck.load_model(c, "ema", ema, "EMA generator")
        else:  # EMA switched on at resume: start it from G
            ema.load_state_dict(G.state_dict())
    ck.unflatten_optimizer(c, "opt_g", opt_g)
    ck.unflatten_optimizer(c, "opt_d", opt_d)
    for opt in (opt_g, opt_d):  # the config is what runs from here on (and what config.toml records)
        for group in opt.param_groups:
            group["lr"], group["betas"] = config.train["lr"], tuple(config.train["betas"])
    restore_rng(c, noise)
    feed.restore(c.json("data"), c.tensors.get("rng.data"))
    return c.step


def rng_tensors(data_state: torch.Tensor | None, noise: torch.Generator) -> dict[str, torch.Tensor]:
    out = {"rng.torch": torch.get_rng_state().clone(), "rng.noise": noise.get_state().clone()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["rng.cuda"] = torch.cuda.get_rng_state().clone()
    if data_state is not None:
        out["rng.data"] = data_state.clone()
    return out


def restore_rng(ckpt: Checkpoint, noise: torch.Generator | None) -> None:
    t = ckpt.tensors
    try:
        if "rng.torch" in t:
            torch.set_rng_state(t["rng.torch"])
        if "rng.cuda" in t and torch.cuda.is_available():
            torch.cuda.set_rng_state(t["rng.cuda"])
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {ckpt.path}: bad RNG state: {exc}") from None
    if noise is not None and "rng.noise" in t:
        try:
            noise.set_state(t["rng.noise"])
        except RuntimeError:  # written on another kind of device: reseed deterministically from the step
            noise.manual_seed(ckpt.step + 7919)
