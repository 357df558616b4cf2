"""What `ganzoo eval` can score: a run folder, a checkpoint, or a .safetensors file of samples.

A samples file holds ``images`` (uint8 N, C, H, W), as `ganzoo sample --out
x.safetensors` writes them, or ``points`` (float N, D), and optionally
``labels`` (int64 N,): the classes a conditional generator was asked for.
Its dataset is, in order: ``--dataset``; the ``dataset`` the file's metadata
names (a name with ``dataset_params`` as JSON, or a JSON ``[dataset]`` table);
the dataset of the ``checkpoint`` its metadata names, if that file still
exists (`ganzoo sample` records it); else the user is asked for ``--dataset``
(the shape alone does not say which dataset samples imitate).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..base.errors import DataError, UsageError
from .runs import checkpoint_dataset, sample_run
from .samples import Samples, _header_metadata, _is_checkpoint

SAMPLE_KEYS = ("images", "points", "samples")


def _json(meta: dict[str, str], key: str, default: object) -> object:
    try:
        return json.loads(meta[key]) if key in meta else default
    except json.JSONDecodeError:
        return meta[key] if default == "" else default


def load_sample_file(path: Path, num: int | None, dataset: str | None) -> Samples:
    from safetensors.torch import load_file

    try:
        meta = _header_metadata(path)
        tensors = load_file(str(path))
    except Exception as exc:
        raise DataError(f"{path} is not a readable safetensors file: {type(exc).__name__}: {exc}") from None
    key = next((k for k in SAMPLE_KEYS if k in tensors), None)
    if key is None:
        raise DataError(f"{path} holds no samples: expected a tensor named {' or '.join(SAMPLE_KEYS)}, "
                        f"found {', '.join(sorted(tensors)) or 'none'}")
    x, labels = tensors[key], tensors.get("labels")
    if x.dim() == 4 and x.dtype != torch.uint8:
        raise DataError(f"{path}: images must be uint8 (N, C, H, W), not {x.dtype}")
    if x.dim() not in (2, 4) or len(x) == 0:
        raise DataError(f"{path}: samples of shape {tuple(x.shape)}; expected images (N, C, H, W) or points (N, D)")
    if labels is not None and (labels.dim() != 1 or len(labels) != len(x)):
        raise DataError(f"{path}: labels of shape {tuple(labels.shape)} do not match {len(x)} samples")
    notes: list[str] = []
    params = _json(meta, "dataset_params", {}) if not dataset else {}
    name = dataset or _json(meta, "dataset", "") or None
    if isinstance(name, dict):  # a whole [dataset] table: name plus parameters
        params = {k: v for k, v in name.items() if k != "name"}
        name = name.get("name")
    if not name and meta.get("checkpoint"):  # `ganzoo sample` names the checkpoint it drew from
        found = checkpoint_dataset(meta["checkpoint"])
        if found:
            name, params = found
            notes.append(f"dataset: {name}, from the run of {meta['checkpoint']}")
    if not name:
        raise UsageError(f"{path} does not say which dataset its samples imitate",
                         "pass --dataset NAME (see `ganzoo list --kind dataset`)")
    if not isinstance(params, dict):
        raise DataError(f"{path}: its dataset_params metadata is not a JSON table")
    if num is not None:
        x, labels = x[:num], labels[:num] if labels is not None else None
    return Samples(x, labels.long() if labels is not None else None, str(name), params, "samples", notes)


def load_samples(path: str | Path, num: int | None = None, seed: int = 0, dataset: str | None = None,
                 device: str | torch.device = "cpu") -> Samples:
    """Samples to score from a run folder or checkpoint (``num`` drawn with ``seed``) or a samples file.

    ``num`` None: every sample in a file, 5000 from a generator. ``dataset``
    overrides the run's or file's own (a run's parameters then do not apply).
    """
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p} does not exist", "give a run folder, a checkpoint or a .safetensors of samples")
    if p.is_file():
        if p.suffix != ".safetensors":
            raise UsageError(f"{p} is not a .safetensors file", "give a run folder, a checkpoint or samples")
        try:
            is_ckpt = _is_checkpoint(_header_metadata(p))
        except Exception as exc:
            raise DataError(f"{p} is not a readable safetensors file: {type(exc).__name__}: {exc}") from None
        if not is_ckpt:
            return load_sample_file(p, num, dataset)
    return sample_run(p, num, seed, dataset, device)
