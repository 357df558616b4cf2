"""Samples from a run folder or checkpoint, through the trainer's own loader (ganzoo.sampling.load_generator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .sources import Samples

DEFAULT_NUM = 5000


def run_dataset(config: Any) -> tuple[str, dict[str, Any]]:
    """A run config's dataset: (name, parameters) exactly as the run built it."""
    from ..config import RunConfig

    return config.dataset["name"], RunConfig.params(config.dataset)


def sample_run(path: Path, num: int | None, seed: int, dataset: str | None, device: Any) -> Samples:
    from ..sampling import load_generator
    from .scoring import sample_generator

    loaded = load_generator(path, use_ema=True, device=device)
    name, params = run_dataset(loaded["config"])
    notes = [f"step {loaded['step']}, {'EMA' if loaded['ema'] else 'raw'} generator, "
             f"checkpoint {loaded['checkpoint']}"]
    if dataset and dataset != name:
        notes.append(f"dataset: {dataset} instead of the run's {name} (the run's dataset parameters dropped)")
        name, params = dataset, {}
    x, labels = sample_generator(loaded["model"], num or DEFAULT_NUM, loaded["data"].num_classes,
                                 loaded["conditional"], seed, loaded["config"].train["latent_dim"])
    return Samples(x, labels, name, params, "run" if Path(path).is_dir() else "checkpoint", notes)


def checkpoint_dataset(path: str | Path) -> tuple[str, dict[str, Any]] | None:
    """The dataset of the run a checkpoint belongs to, read from its header alone (no tensors loaded)."""
    import json

    from ..config import finalize
    from .sources import _header_metadata

    try:
        config = json.loads(_header_metadata(Path(path))["config"])
        return run_dataset(finalize({k: v for k, v in config.items() if v is not None}))
    except Exception:  # a moved, deleted or foreign checkpoint: the caller falls back to its other rules
        return None
