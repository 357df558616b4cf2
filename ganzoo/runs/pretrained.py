"""Pretrained generators: trained weights a plugin ships for its recipes, found by the recipe's name.

A plugin registers them in its recipes hook (``register.pretrained(recipe, path, sha256=...)``, see
docs/plugins.md); the built-in recipes ship theirs in ``plugins/pretrained/``, written by
``benchmarks/zoo.py`` from the very runs docs/zoo.md measures.

A pretrained file is a ganzoo checkpoint (`ganzoo.checkpoint`) cut down to what sampling needs: the weight
sections the run's algorithm ships (its reader's `ganzoo.trained.Trained.shipped`: by default the EMA generator
where the run kept one, else the generator) as float16, the run's ``config`` and ``meta``, and the ``metrics``
that ``ganzoo eval`` measured on this very file. So `ganzoo.trained.load` reads it like any checkpoint,
and `resolve` is the only place a name becomes a file: once, at the top of `sample`, `eval`, `load` and
``run --init``. Torch-free until `export`.

A pretrained file is published, so its header names nothing of the machine that exported it (`portable`):
no run folder (``out`` is dropped: a copy resumes where it lies), no absolute path in the config, the
metrics or their notes (each cut to its last component), and the weights named by recipe, step and the
digest of their tensors. Exporting the same weights from two run folders anywhere gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..base.errors import CheckpointError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..base.specs import PretrainedSpec
    from ..plugin.registry import Registry

def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(spec: PretrainedSpec) -> Path:
    """The weights file of ``spec``, once it exists and its sha256 is the one its plugin registered."""
    path = Path(spec.path)
    if not path.is_file():
        raise CheckpointError(f"pretrained {spec.name!r} from plugin {spec.plugin.name!r}: {path} is missing",
                              f"reinstall {spec.plugin.dist or spec.plugin.name}")
    digest = sha256_file(path)
    if digest != spec.sha256:
        raise CheckpointError(f"pretrained {spec.name!r} from plugin {spec.plugin.name!r}: {path} has sha256 "
                              f"{digest[:12]}..., the plugin registered {spec.sha256[:12]}...",
                              f"the file is damaged or was replaced; reinstall {spec.plugin.dist or spec.plugin.name}")
    return path


def resolve(target: str | Path, registry: Registry | None = None) -> Path:
    """A run folder or checkpoint as it is; else the verified weights of the pretrained recipe ``target``."""
    path = Path(target)
    if path.exists() or not isinstance(target, str):
        return path
    from ..plugin.manager import get_registry

    registry = registry or get_registry()
    spec = registry.pretrained(target)
    shadowed = registry.shadowed_pretrained(target) if spec is None else None
    if shadowed is not None:
        where = f" in {registry.recipe(target).source}"
        raise UsageError(f"{target}: your recipe{where} replaces plugin {shadowed.plugin.name!r}'s recipe of that "
                         "name, whose trained generator ships; those weights were not trained by your recipe",
                         f"rename your recipe to use the shipped {target}, or train yours: ganzoo run {target}")
    missing = registry.missing_pretrained(target) if spec is None else None
    if missing is not None:  # registered before its file exists: say so (verified raises that it is missing)
        return verified(missing)
    if spec is None:
        names = ", ".join(s.name for s in registry.all_pretrained()) or "none installed"
        raise UsageError(f"{target} does not exist, and no recipe of that name ships a trained generator",
                         f"give a run folder or a checkpoint; pretrained: {names}")
    return verified(spec)


#: an absolute path inside a string: POSIX (``/...``), home (``~/...``) or a Windows drive (``C:\\...``), not
#: preceded by a word character (so ``1/2`` and ``and/or`` are not paths), up to a space, quote or bracket
_ABS_PATH = re.compile(r"(?<![\w.~])(?:~[\\/]|[A-Za-z]:[\\/]|/)(?=[^\s/\\])[^\s'\",;()\[\]{}]+")


def _last_component(match: re.Match[str]) -> str:
    return re.split(r"[\\/]", match.group(0).rstrip("/\\"))[-1]


def portable(value: object) -> object:
    """``value`` (JSON data) with every absolute path in its strings cut to its last component: what a
    published file may say of a file or folder (its name), without the machine's folder layout or user."""
    if isinstance(value, str):
        return _ABS_PATH.sub(_last_component, value)
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v) for v in value]
    return value


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of the tensors themselves (names, dtypes, shapes, bytes, in name order): the same weights
    have the same digest wherever and whenever they are exported."""
    import torch

    digest = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key}|{t.dtype}|{list(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def export(checkpoint: str | Path, out: str | Path, *, name: str, metrics: Mapping[str, object] | None = None) -> str:
    """Write the generator of a run's ``checkpoint`` as the pretrained file ``out`` (float16, atomically,
    with a `portable` header); returns its sha256. ``metrics``: what ``ganzoo eval`` measured on this file
    (recorded in its metadata, its ``source`` the recipe's name)."""
    from ..plugin.manager import get_registry
    from .trained import read, reader

    stored = read(checkpoint)
    ck = stored.ck
    registry = get_registry()
    tensors = {}
    for section in reader(stored.algorithm(registry)).shipped(stored):
        for key, t in ck.section(section).items():
            tensors[f"{section}.{key}"] = t.half() if t.is_floating_point() else t
    if not tensors:
        raise CheckpointError(f"checkpoint {checkpoint} holds no generator weights")
    config = {k: v for k, v in ck.config.items() if k != "out"}  # the run folder stays on its machine
    metadata: dict[str, str] = {
        "step": str(ck.step), "config": json.dumps(portable(config)), "meta": json.dumps(portable(ck.meta)),
        "pretrained": json.dumps({"name": name, "recipe": config.get("recipe"), "dtype": "float16",
                                  "from_step": ck.step, "weights_sha256": weights_digest(tensors)}),
    }
    if metrics is not None:
        metadata["metrics"] = json.dumps(portable({**metrics, "source": name}))
    from .checkpoint import save

    save(Path(out), tensors, metadata)
    return sha256_file(out)


def recorded_metrics(path: str | Path) -> dict[str, object]:
    """The evaluation a pretrained file records ({} when it has none), from its header alone."""
    from .header import metadata_json, read_metadata

    return metadata_json(read_metadata(path), "metrics", Path(path))
