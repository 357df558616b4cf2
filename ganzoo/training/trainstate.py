"""What a training checkpoint holds beyond the format: assembling it from, and restoring it into, a run.

Models are saved unwrapped (never DDP/compiled wrappers), so a checkpoint
resumes with any number of processes and samples without the trainer.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..base.errors import CheckpointError, WriteError
from ..runs import checkpoint as ck
from ..runs.checkpoint import Checkpoint

if TYPE_CHECKING:  # pragma: no cover
    from ..config.runconfig import RunConfig
    from .batches import Feeder


def save_training(path: Path, *, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
                  feed: Feeder, noise: torch.Generator, step: int, config_json: str, meta: Mapping[str, object],
                  keep: Path | None = None, extra: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``path`` atomically; with ``keep``, also keep this checkpoint under that name (a hard link).

    ``modules`` and ``optimizers`` by checkpoint name (the gan algorithm's: generator, discriminator, ema;
    opt_g, opt_d); ``extra``: the algorithm's own state (``algo.*``) and the other DDP ranks' RNG states.
    """
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        tensors.update(ck.state_tensors(name, module))
    metadata = {"step": str(step), "epoch": str(feed.epoch), "config": config_json, "meta": json.dumps(meta),
                "data": json.dumps(feed.position())}
    for name, opt in optimizers.items():
        flat, info = ck.flatten_optimizer(name, opt)
        tensors.update(flat)
        metadata[name] = info
    tensors.update(rng_tensors(feed.data_state, noise))
    tensors.update(extra or {})
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


def first_nonfinite(modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]) -> str | None:
    """The first weight or optimizer moment (by checkpoint key) that is inf or nan; None when all are finite.

    Checked on the device before every save (one sync): the loss check alone is not enough, since the
    update after a step's (finite) loss can still blow the weights up.
    """
    tensors = {f"{name}.{k}": v for name, module in modules.items() for k, v in module.state_dict().items()}
    for prefix, opt in optimizers.items():
        for i, state in opt.state_dict()["state"].items():  # keyed as `ganzoo.runs.checkpoint.flatten_optimizer` does
            tensors.update({f"{prefix}.{i}.{k}": v for k, v in state.items() if isinstance(v, torch.Tensor)})
    return ck.first_nonfinite(tensors)


#: a module a checkpoint may lack: switched on at resume, it starts from the module named here
STARTS_FROM = {"ema": "generator"}


def restore_training(c: Checkpoint, config: RunConfig, *, modules: dict[str, nn.Module],
                     optimizers: dict[str, torch.optim.Optimizer], feed: Feeder, noise: torch.Generator | None) -> int:
    """Load everything into the run's objects (CheckpointError on any mismatch); returns the step.

    ``optimizers``: as the algorithm built them from the run's config, whose hyper-parameters (each param
    group's lr, betas, momentum... as the algorithm set them) win over the saved ones: the config is what runs
    from here on, and what config.toml records; the saved state (moments, step counts) is restored.
    ``noise`` None: leave the noise generator alone (DDP ranks other than 0 reseed their own).
    """
    ck.check_composition(c, config)
    for name, module in modules.items():
        origin = STARTS_FROM.get(name)
        if origin is not None and not c.section(name) and origin in modules:
            module.load_state_dict(modules[origin].state_dict())  # switched on at resume
            continue
        ck.load_model(c, name, module, _label(name, config))
    for name, opt in optimizers.items():
        fresh = [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]
        ck.unflatten_optimizer(c, name, opt)
        for group, settings in zip(opt.param_groups, fresh):
            group.update(settings)
    restore_rng(c, noise)
    feed.restore(c.json("data"), c.tensors.get("rng.data"))
    return c.step


def init_generator(c: Checkpoint, config: RunConfig, modules: dict[str, nn.Module], what: str) -> dict[str, object]:
    """``train.init``: a fresh run's generator (and its EMA) starts from the generator weights of ``c``, a
    pretrained file or another run's checkpoint (its EMA weights where it kept them); everything else
    (D, optimizers) starts fresh. Returns what the run's meta records. CheckpointError when they do not fit."""
    name = config.gen["name"]
    saved = (c.config.get("gen") or {}).get("name")
    if saved != name:
        raise CheckpointError(f"--init {what}: its generator is {saved!r}, this run builds {name!r}",
                              "start from weights of the same generator (ganzoo list --pretrained)")
    section = "ema" if c.section("ema") else "generator"
    for target in ("generator", *STARTS_FROM):
        if target in modules:
            ck.load_model(c, section, modules[target], f"generator {name!r} (--init {what})")
    return {"from": what, "checkpoint": str(c.path), "step": c.step, "weights": section,
            **({"pretrained": c.json("pretrained")} if "pretrained" in c.metadata else {})}


def _label(section: str, config: RunConfig) -> str:
    if section.startswith("generator"):
        return f"generator {config.gen['name']!r}"
    if section.startswith("discriminator"):
        return f"discriminator {config.disc['name']!r}"
    return "EMA generator" if section == "ema" else section


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
