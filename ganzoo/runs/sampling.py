"""Drawing samples from a generator: latent codes, the trainer's fixed grids, pictures.

Pure helpers, imported by the training step; `ganzoo sample` (reading a run
back and writing files) is `ganzoo.trained` and `ganzoo.cli.commands.sample_cmd`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

from ..base.specs import DataInfo
from ..components.interfaces import forward
from .images import class_rows, save_grid, scatter


def latent(model: nn.Module, n: int, latent_dim: int, generator: torch.Generator,
           device: torch.device | None = None, options: dict[str, float] | None = None) -> Tensor:
    """``n`` latent codes from ``generator`` (on its own device), moved to ``device``. ``options``: the
    latent sampling options the generator declares (`SamplingOption.latent`), for its ``sample_latent``."""
    fn = getattr(model, "sample_latent", None)
    if callable(fn):
        z = fn(n, device=generator.device, generator=generator, **(options or {}))
    else:
        z = torch.randn(n, latent_dim, device=generator.device, generator=generator)
    return z.to(device) if device is not None else z


def sampling_options(generator: str, declared: tuple[str, ...], **values: float | None) -> dict[str, float]:
    """The options of one sampling call, by option name, from the values of `ganzoo sample`'s flags
    (``truncation=0.7``: --truncation), each checked against what ``generator`` declares: a flag that it
    declares no option for, or a value out of that option's range, is one line (`UsageError`)."""
    from ..base.errors import UsageError
    from ..base.specs import SAMPLING_OPTIONS

    out: dict[str, float] = {}
    for flag, value in values.items():
        if value is None:
            continue
        option = next((SAMPLING_OPTIONS[o] for o in declared if SAMPLING_OPTIONS[o].flag == flag), None)
        if option is None:
            from ..plugin.manager import get_registry

            able = sorted(s.name for s in get_registry().components("generator")
                          if any(SAMPLING_OPTIONS[o].flag == flag for o in s.sampling))
            raise UsageError(f"--{flag}: generator {generator!r} declares no {flag.replace('_', ' ')} trick",
                             f"generators that do: {', '.join(able) or 'none installed'}")
        if not option.accepts(float(value)):
            raise UsageError(f"--{flag} {value:g}: generator {generator!r} takes a {option.what}, "
                             f"{option.range.replace('VALUE', option.what)}", f"the {option.meaning}")
        out[option.name] = float(value)
    return out


def split_options(options: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """``options`` (`sampling_options`) as (those for ``sample_latent``, those for ``forward``)."""
    from ..base.specs import SAMPLING_OPTIONS

    latent_side = {k: v for k, v in options.items() if SAMPLING_OPTIONS[k].latent}
    return latent_side, {k: v for k, v in options.items() if k not in latent_side}


def fixed_batch(model: nn.Module, data: DataInfo, latent_dim: int, seed: int, conditional: bool,
                per_row: int = 8, n: int = 64) -> tuple[Tensor, Tensor | None, int]:
    """The fixed noise (and labels: one row per class) every grid of a run is drawn from."""
    gen = torch.Generator().manual_seed(seed)
    if conditional and data.num_classes:
        labels = class_rows(data.num_classes, per_row)
        return latent(model, len(labels), latent_dim, gen), labels, per_row
    if not data.is_image:
        n = 1000
    return latent(model, n, latent_dim, gen), None, max(1, math.ceil(math.sqrt(n)))


@torch.no_grad()
def seeded_noise(model: nn.Module, seed: int | None) -> contextlib.AbstractContextManager[object]:
    """While it lasts, the global random state (on ``model``'s device) is seeded with ``seed`` and restored
    after: a generator that draws noise of its own in ``forward`` (StyleGAN2's per-pixel noise, a U-Net's
    test-time dropout) draws the same noise for the same seed, and nothing else's randomness moves.
    ``seed`` None: nothing is touched."""
    if seed is None:
        return contextlib.nullcontext()
    device = next(iter(model.parameters()), torch.empty(0)).device
    return _forked(device, seed)


@contextlib.contextmanager
def _forked(device: torch.device, seed: int) -> Iterator[None]:
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def generate(model: nn.Module, z: Tensor, labels: Tensor | None, batch: int = 256, **options: float) -> Tensor:
    """Run ``model`` in eval mode over ``z`` in chunks; float32 samples on the CPU. ``options``: the sampling
    options its ``forward`` takes (`split_options`). Noise the model draws itself comes from the global random
    state: wrap the call in `seeded_noise` to make it a function of a seed."""
    was = model.training
    model.eval()
    device = next(iter(model.parameters()), torch.empty(0)).device
    out = []
    try:
        for i in range(0, len(z), batch):
            yi = labels[i:i + batch].to(device) if labels is not None else None
            out.append(forward(model, z[i:i + batch].to(device), yi, **options).float().cpu())
    finally:
        model.train(was)
    return torch.cat(out) if out else torch.empty(0)


def write_picture(samples: Tensor, path: Path, data: DataInfo, labels: Tensor | None, nrow: int,
                  real: Tensor | None = None, box: tuple[float, float, float, float] | None = None,
                  title: str = "") -> Path:
    """An image grid, or for points a scatter plot (real points grey, samples coloured)."""
    if data.is_image:
        return save_grid(samples, path, nrow)
    return scatter(samples, path, real=real, labels=labels, box=box, title=title)


def _free_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable), None when unknown."""
    import os

    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def check_memory(n: int, sample_numel: int, latent_dim: int) -> None:
    """Refuse ``n`` samples whose float32 tensors (codes, samples, a uint8 copy) cannot fit in free memory."""
    from ..base.errors import UsageError

    need = n * (4 * latent_dim + 5 * sample_numel)
    free = _free_memory()
    if free is not None and need > free // 2:
        raise UsageError(f"--num {n}: the samples need about {_size(need)} of memory and {_size(free)} is free",
                         "draw fewer, in several files with different --seed")
