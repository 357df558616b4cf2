"""Checkpoints: one safetensors file holding models, optimizers, RNG states and the run config.

Tensor keys: ``generator.*``, ``discriminator.*``, ``ema.*`` (state dicts),
``opt_g.<param index>.<state key>`` / ``opt_d.*`` (Adam's state tensors) and
``rng.torch``, ``rng.cuda``, ``rng.data`` (the data order at the start of the
epoch), ``rng.noise``. Metadata (str -> str): ``format``, ``step``, ``epoch``
and JSON strings ``config`` (the resolved run config, so a lone checkpoint
can be sampled), ``meta`` (data info, component plugins and distributions),
``opt_g``/``opt_d`` (param_groups and non-tensor state) and ``data`` (the
position in the epoch). Files are written atomically: a temp file in the
same folder, fsync, ``os.replace`` (see `ganzoo.trainstate` for the contents).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from .errors import CheckpointError

FORMAT = "ganzoo.checkpoint/1"
LATEST = "latest.safetensors"


@dataclass
class Checkpoint:
    path: Path
    tensors: dict[str, torch.Tensor]
    metadata: dict[str, str]
    step: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def section(self, prefix: str) -> dict[str, torch.Tensor]:
        p = prefix + "."
        return {k[len(p):]: v for k, v in self.tensors.items() if k.startswith(p)}

    def json(self, key: str, default: Any = None) -> Any:
        raw = self.metadata.get(key)
        return default if raw is None else json.loads(raw)


# -- writing ---------------------------------------------------------------------

def _cpu(t: torch.Tensor) -> torch.Tensor:
    # a private contiguous copy: safetensors refuses shared storage (tied weights)
    return t.detach().to("cpu", copy=True).contiguous()


def flatten_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], str]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    other: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{idx}.{key}"] = _cpu(value)
            else:
                other.setdefault(str(idx), {})[key] = value
    return tensors, json.dumps({"param_groups": sd["param_groups"], "state": other})


def unflatten_optimizer(ckpt: Checkpoint, prefix: str, opt: torch.optim.Optimizer) -> None:
    info = ckpt.json(prefix)
    if info is None:
        raise CheckpointError(f"checkpoint {ckpt.path} has no {prefix} optimizer state")
    state: dict[int, dict[str, Any]] = {}
    for key, value in ckpt.section(prefix).items():
        idx, _, name = key.partition(".")
        state.setdefault(int(idx), {})[name] = value
    for idx, extra in info.get("state", {}).items():
        state.setdefault(int(idx), {}).update(extra)
    groups = info["param_groups"]
    current = opt.state_dict()["param_groups"]
    if len(groups) != len(current) or any(len(a["params"]) != len(b["params"]) for a, b in zip(groups, current)):
        raise CheckpointError(f"checkpoint {ckpt.path}: the {prefix} optimizer state does not match this run's "
                              f"parameters (a different model composition?)")
    for saved, cur in zip(groups, current):
        for flag in ("fused", "foreach", "capturable", "differentiable"):  # device-specific: keep this run's
            if flag in cur:
                saved[flag] = cur[flag]
    try:
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, RuntimeError, KeyError) as exc:
        raise CheckpointError(f"checkpoint {ckpt.path}: cannot restore the {prefix} optimizer: {exc}") from None


def state_tensors(prefix: str, model: nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": _cpu(v) for k, v in model.state_dict().items()}


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def save(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> Path:
    meta = {"format": FORMAT}
    for k, v in metadata.items():
        meta[k] = v if isinstance(v, str) else json.dumps(v)
    write_atomic(Path(path), st_save(tensors, meta))
    return Path(path)


# -- reading ---------------------------------------------------------------------

def _header(data: bytes, path: Path) -> dict[str, Any]:
    if len(data) < 8:
        raise CheckpointError(f"checkpoint {path} is truncated ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise CheckpointError(f"checkpoint {path} is truncated or not a safetensors file")
    try:
        return json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"checkpoint {path} is corrupt: unreadable header") from None


def load(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint; CheckpointError (one line) for anything wrong with the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    metadata = _header(data, path).get("__metadata__") or {}
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ganzoo checkpoint (format {metadata.get('format')!r})")
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error type for truncated data
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt: {exc}") from None
    try:
        return Checkpoint(path, tensors, metadata, int(metadata.get("step", 0)),
                          json.loads(metadata.get("config", "{}")), json.loads(metadata.get("meta", "{}")))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {path} has corrupt metadata: {exc}") from None


def load_model(ckpt: Checkpoint, prefix: str, model: nn.Module, what: str) -> None:
    """Strictly load one state dict, turning any key/shape mismatch into one CheckpointError line."""
    state = ckpt.section(prefix)
    if not state:
        raise CheckpointError(f"checkpoint {ckpt.path} holds no {what} weights")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    bad = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or bad:
        if bad:
            k = bad[0]
            detail = f"{k} has shape {tuple(state[k].shape)} in the checkpoint, {tuple(own[k].shape)} here"
        elif missing:
            detail = f"{len(missing)} missing key(s), e.g. {missing[0]}"
        else:
            detail = f"{len(unexpected)} unexpected key(s), e.g. {unexpected[0]}"
        raise CheckpointError(f"checkpoint {ckpt.path} does not match this run's {what}: {detail}")
    model.load_state_dict(state, strict=True)


def check_composition(ckpt: Checkpoint, config: Any) -> None:
    """The checkpoint must come from the same generator and discriminator."""
    saved = ckpt.config
    for table, what in (("gen", "generator"), ("disc", "discriminator")):
        old = saved.get(table, {}).get("name")
        new = getattr(config, table)["name"]
        if old is not None and old != new:
            raise CheckpointError(f"checkpoint {ckpt.path} was written by {what} {old!r}, this run builds {new!r}",
                                  "resume with the run's own config")


def find(run_or_checkpoint: str | Path) -> Path:
    """A run folder -> its latest checkpoint; a file -> itself."""
    p = Path(run_or_checkpoint)
    if p.is_dir():
        latest = p / "checkpoints" / LATEST
        if not latest.exists():
            raise CheckpointError(f"{p} holds no checkpoint ({latest} is missing)")
        return latest
    if not p.exists():
        raise CheckpointError(f"{p} does not exist")
    return p
