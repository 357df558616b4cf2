"""Samples from generators: a run folder or checkpoint (through the trainer's own loader,
ganzoo.trained.load_generator), or a generator in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..base.errors import UsageError, plugin_code
from ..base.specs import ComponentSpec
from .samples import Samples, _header_metadata, _is_checkpoint

DEFAULT_NUM = 5000
_CHUNK = 2048  # samples generated (and converted to uint8) at a time
PRIOR_NOTE = "conditional: classes asked for in the proportions of the images they are measured against"


def run_dataset(config: Any) -> tuple[str, dict[str, Any]]:
    """A run config's dataset: (name, parameters) exactly as the run built it."""
    from ..config.runconfig import RunConfig

    return config.dataset["name"], RunConfig.params(config.dataset)


def sample_run(path: Path, num: int | None, seed: int, dataset: str | None, device: Any) -> Samples:
    from ..runs.trained import load_generator
    from .reference import reference

    from ..plugin.manager import get_registry

    loaded = load_generator(path, use_ema=True, device=device)
    name, params = run_dataset(loaded.config)
    # what the run's generator is, as its registration and the run's config say (not the reader's own attributes)
    conditional = get_registry().get("generator", loaded.config.gen["name"]).conditional
    latent_dim = int(loaded.config.settings.latent_dim)
    notes = [f"step {loaded.step}, {'EMA' if loaded.ema else 'raw'} generator, checkpoint {loaded.checkpoint}"]
    if dataset and dataset != name:
        notes.append(f"dataset: {dataset} instead of the run's {name} (the run's dataset parameters dropped)")
        name, params = dataset, {}
    prior = reference(name, params).class_prior() if conditional else None
    if prior is not None:
        notes.append(PRIOR_NOTE)
    with plugin_code(loaded.who, "while sampling for evaluation"):
        x, labels = sample_generator(loaded.model, num or DEFAULT_NUM, loaded.data.num_classes, conditional, seed,
                                     latent_dim, prior=prior)
    return Samples(x, labels, name, params, "run" if Path(path).is_dir() else "checkpoint", notes)


def dataset_name_of(dataset: Any) -> str:
    """The registered name of a built dataset, found from its class; the class name if unregistered."""
    from ..plugin.manager import get_registry

    target = f"{type(dataset).__module__}:{type(dataset).__qualname__}"
    for spec in get_registry().components("dataset"):
        if spec.target == target:
            return spec.name
    return type(dataset).__name__.lower()


def class_labels(num: int, prior: Tensor, seed: int) -> Tensor:
    """``num`` labels in the proportions ``prior`` (K,) (largest remainders), in a seeded random order."""
    exact = prior.double() / prior.sum() * num
    counts = exact.floor().long()
    rest = num - int(counts.sum())
    if rest > 0:
        counts[torch.argsort(exact - counts, descending=True, stable=True)[:rest]] += 1
    labels = torch.repeat_interleave(torch.arange(len(prior)), counts)
    return labels[torch.randperm(num, generator=torch.Generator().manual_seed(seed))]


def sample_generator(generator: torch.nn.Module, num: int, num_classes: int | None, conditional: bool,
                     seed: int = 0, latent_dim: int | None = None,
                     prior: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    """``num`` samples (uint8 images or float points, on the CPU) and, if conditional, their labels.

    A conditional generator is asked for classes in the proportions ``prior``
    (the data's class frequencies: balanced labels would be scored against data
    that is not balanced), else balanced. Latents come from a CPU generator
    seeded with ``seed`` (the same codes on any device), and the noise the generator draws itself from the
    global RNG is seeded with it too and the RNG restored after (`ganzoo.sampling.seeded_noise`), drawn the way `ganzoo sample` draws them. Images are turned
    into uint8 chunk by chunk, so the float copy never exceeds one chunk.
    """
    from ..components.interfaces import to_uint8
    from ..runs.sampling import generate, latent, seeded_noise

    labels = None
    if conditional:
        if not num_classes:
            raise UsageError("a conditional generator needs a dataset with classes")
        labels = class_labels(num, prior if prior is not None else torch.ones(num_classes), seed)
    dim = latent_dim or int(getattr(generator, "latent_dim", 100))
    z = latent(generator, num, dim, torch.Generator().manual_seed(seed))
    chunks = []
    with seeded_noise(generator, seed):  # noise a generator draws itself (StyleGAN2's) is seeded too
        for i in range(0, num, _CHUNK):
            x = generate(generator, z[i:i + _CHUNK], labels[i:i + _CHUNK] if labels is not None else None)
            chunks.append(to_uint8(x) if x.dim() == 4 else x)
    return torch.cat(chunks), labels


def checkpoint_dataset(path: str | Path) -> tuple[str, dict[str, Any]] | None:
    """The dataset of the run a checkpoint belongs to, read from its header alone (no tensors loaded)."""
    import json

    from ..config.runconfig import finalize

    try:
        config = json.loads(_header_metadata(Path(path))["config"])
        return run_dataset(finalize({k: v for k, v in config.items() if v is not None}))
    except Exception:  # a moved, deleted or foreign checkpoint: the caller falls back to its other rules
        return None


def generator_takes(path: str | Path) -> str | None:
    """What the generator of a run folder or checkpoint takes ("noise" or "image"), read from the checkpoint's
    header alone; None for anything else (a samples file, a missing or foreign file, an unknown generator),
    which the caller's usual path then reports."""
    import json

    from ..plugin.manager import get_registry
    from ..runs.checkpoint import find

    try:
        meta = _header_metadata(find(path))
        if not _is_checkpoint(meta):
            return None
        name = json.loads(meta["config"])["gen"]["name"]
        registry = get_registry()
        return registry.get("generator", name).takes if registry.has("generator", name) else None
    except Exception:  # whatever is wrong with the file, the usual path says it in one line
        return None


def check_metrics(path: str | Path, dataset: str | None, asked: tuple[ComponentSpec, ...]) -> None:
    """Hold the metrics asked of a run folder or checkpoint to its generator and dataset, from the checkpoint's
    header alone, before anything is drawn: one line for a metric it cannot serve (labels from an unconditional
    generator). Anything else (a samples file, a file that cannot be read) is left to the usual path."""
    import json

    from ..plugin.manager import get_registry
    from ..runs.checkpoint import find
    from .selection import choose, planned

    registry = get_registry()
    try:
        meta = _header_metadata(find(path))
        if not _is_checkpoint(meta):
            return
        config = json.loads(meta["config"])
        gen = registry.get("generator", config["gen"]["name"])
        name = dataset or config["dataset"]["name"]
        data = registry.get("dataset", name) if registry.has("dataset", name) else None
    except Exception:  # whatever is wrong with the file, the usual path says it in one line
        return
    conditional = gen.conditional if gen.takes == "noise" else None
    choose(asked, planned(gen.takes, conditional, data, f"generator {gen.name!r}"), registry)
