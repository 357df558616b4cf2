"""Checkpoints: one safetensors file holding models, optimizers, RNG states and the run config.

Tensor keys: ``generator.*``, ``discriminator.*``, ``ema.*`` (state dicts),
``opt_g.<param index>.<state key>`` / ``opt_d.*`` (Adam's state tensors) and
``rng.torch``, ``rng.cuda``, ``rng.data`` (the data order at the start of the
epoch), ``rng.noise``. Metadata (str -> str): ``format``, ``step``, ``epoch``
and JSON strings ``config`` (the resolved run config: the truth of what
produced these weights, read by `--resume`, `sample` and `eval`; see
`ganzoo.runs.rundir` for config.toml's place), ``meta`` (data info, component plugins and distributions),
``opt_g``/``opt_d`` (param_groups and non-tensor state) and ``data`` (the
position in the epoch). Files are written atomically: a temp file in the
same folder, fsync, ``os.replace`` (`ganzoo.runs.rundir.write_atomic`; see
`ganzoo.training.trainstate` for the contents). A file with a non-finite weight is
never written (the trainer checks first) and never loaded.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TYPE_CHECKING

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from ..base.errors import CheckpointError
from ..base.text import utf8_safe
from .header import FORMAT, _header_bytes, _metadata, _read, metadata_json
from .rundir import RunDir, write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from ..config.runconfig import RunConfig


@dataclass
class Checkpoint:
    path: Path
    tensors: dict[str, torch.Tensor]
    metadata: dict[str, str]
    step: int = 0
    # Any: JSON tables as the file holds them, unchecked; their readers (resume, `ganzoo.runs.trained`) take the
    # tables they need out of them with chained ``.get``s and check what they find
    config: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def section(self, prefix: str) -> dict[str, torch.Tensor]:
        p = prefix + "."
        return {k[len(p):]: v for k, v in self.tensors.items() if k.startswith(p)}

    def json(self, key: str) -> dict[str, Any]:  # Any: as ``config``
        """A JSON table of the metadata; {} when absent (CheckpointError when it is not a table)."""
        return metadata_json(self.metadata, key, self.path)


# -- writing ---------------------------------------------------------------------

def _cpu(t: torch.Tensor) -> torch.Tensor:
    # a private contiguous copy: safetensors refuses shared storage (tied weights)
    return t.detach().to("cpu", copy=True).contiguous()


def flatten_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], str]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    other: dict[str, dict[str, object]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{idx}.{key}"] = _cpu(value)
            else:
                other.setdefault(str(idx), {})[key] = value
    return tensors, json.dumps({"param_groups": sd["param_groups"], "state": other})


def unflatten_optimizer(ckpt: Checkpoint, prefix: str, opt: torch.optim.Optimizer) -> None:
    info = ckpt.json(prefix)
    groups = info.get("param_groups")
    if not isinstance(groups, list) or not all(isinstance(g, dict) and isinstance(g.get("params"), list)
                                               for g in groups):
        raise CheckpointError(f"checkpoint {ckpt.path} has no readable {prefix} optimizer state")
    extras = info.get("state", {})
    if not isinstance(extras, dict):
        raise CheckpointError(f"checkpoint {ckpt.path} has a corrupt {prefix} optimizer state")
    state: dict[int, dict[str, object]] = {}
    try:
        for key, value in ckpt.section(prefix).items():
            idx, _, name = key.partition(".")
            state.setdefault(int(idx), {})[name] = value
        for idx, extra in extras.items():
            state.setdefault(int(idx), {}).update(extra)
    except (ValueError, TypeError):
        raise CheckpointError(f"checkpoint {ckpt.path} has a corrupt {prefix} optimizer state") from None
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


def metadata_strings(metadata: Mapping[str, object]) -> dict[str, str]:
    """safetensors metadata, the one conversion every writer of ganzoo's uses: a string as it is, anything else as
    JSON (ASCII: a name's undecodable byte kept as its escape). A string from a file name that is not UTF-8 has
    each such byte written as ``\\xNN`` (`ganzoo.base.text`): safetensors refuses anything but UTF-8."""
    return {k: utf8_safe(v) if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}


def save(path: Path, tensors: dict[str, torch.Tensor], metadata: Mapping[str, object]) -> Path:
    meta = {"format": FORMAT, **metadata_strings(metadata)}
    write_atomic(Path(path), canonical(st_save(tensors, meta)))  # WriteError (one line) when the disk says no
    return Path(path)


def canonical(data: bytes) -> bytes:
    """A safetensors file with its header in one order: metadata by key, tensors by offset.

    safetensors writes ``__metadata__`` from a hash map, in an order that changes from process to process,
    so the same weights and metadata would give other bytes (and another sha256) on every export. The
    header's JSON keeps its length when reordered, so the data and its offsets stay where they are.
    """
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    ordered: dict[str, object] = {}
    if "__metadata__" in header:
        ordered["__metadata__"] = dict(sorted(header.pop("__metadata__").items()))
    tensors = sorted(header.items(), key=lambda kv: (kv[1]["data_offsets"], kv[0]))
    ordered.update(tensors)
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(text) > n:  # safetensors' own JSON is as compact as this; anything else is not its format
        raise CheckpointError("safetensors wrote a header this version of ganzoo does not recognise")
    return data[:8] + text.ljust(n, b" ") + data[8 + n:]


# -- reading (the header: `ganzoo.runs.header`) ----------------------------------

def load(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint; CheckpointError (one line) for anything wrong with the file."""
    path = Path(path)
    data = _read(path)
    n = _header_bytes(data[:8], len(data), path)
    metadata = _metadata(data[8:8 + n], path)
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error type for truncated data
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt: {exc}") from None
    try:
        step = int(metadata.get("step", 0))
    except ValueError:
        raise CheckpointError(f"checkpoint {path} has corrupt metadata: step {metadata['step']!r}") from None
    return Checkpoint(path, tensors, metadata, step, metadata_json(metadata, "config", path),
                      metadata_json(metadata, "meta", path))


def load_model(ckpt: Checkpoint, prefix: str, model: nn.Module, what: str) -> None:
    """Strictly load one state dict, turning any key/shape/dtype mismatch into one CheckpointError line.

    Weights that are not finite, or integers where the model has floats, are refused: loading would cast
    them silently and train or sample garbage (a healthy run never writes such a checkpoint).
    """
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
    for k, t in own.items():
        if t.is_floating_point() and not state[k].is_floating_point():
            raise CheckpointError(f"checkpoint {ckpt.path}: {prefix}.{k} holds {state[k].dtype} weights, "
                                  f"the {what} needs floating point", "the file was not written by ganzoo")
    bad_key = first_nonfinite({k: v for k, v in state.items() if v.is_floating_point()})
    if bad_key is not None:
        raise CheckpointError(f"checkpoint {ckpt.path}: {prefix}.{bad_key} holds non-finite values (inf or nan)",
                              "use an earlier checkpoint (checkpoints/step-*.safetensors)")
    model.load_state_dict(state, strict=True)


def first_nonfinite(tensors: dict[str, torch.Tensor]) -> str | None:
    """The first key whose floating-point tensor holds inf or nan (one device sync for all of them)."""
    floats = [(k, t) for k, t in tensors.items() if t.is_floating_point() and t.numel()]
    if not floats:
        return None
    ok = torch.stack([torch.isfinite(t).all() for _, t in floats])
    if bool(ok.all()):
        return None
    return floats[int((~ok).nonzero()[0])][0]


def check_composition(ckpt: Checkpoint, config: RunConfig) -> None:
    """The checkpoint must come from the same algorithm, generator and discriminator."""
    saved = ckpt.config
    old_algo, new_algo = (saved.get("algo") or {}).get("name"), config.algo.get("name")
    if old_algo is not None and new_algo is not None and old_algo != new_algo:
        raise CheckpointError(f"checkpoint {ckpt.path} was trained by algorithm {old_algo!r}, this run is "
                              f"{new_algo!r}", "resume with the run's own config")
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
        latest = RunDir(p).latest
        if not latest.exists():
            raise CheckpointError(f"{p} holds no checkpoint ({latest} is missing)")
        return latest
    if not p.exists():
        raise CheckpointError(f"{p} does not exist")
    return p
