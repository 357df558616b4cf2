"""Drawing samples from a generator: the trainer's fixed grids and `ganzoo sample`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from . import checkpoint as ckpt_mod
from .config import RunConfig, finalize, read_run_config
from .errors import CheckpointError, ComponentError, UsageError
from .images import class_rows, save_grid, scatter
from .specs import DataInfo


def latent(model: nn.Module, n: int, latent_dim: int, generator: torch.Generator,
           device: torch.device | None = None) -> Tensor:
    """``n`` latent codes from ``generator`` (on its own device), moved to ``device``."""
    fn = getattr(model, "sample_latent", None)
    if callable(fn):
        z = fn(n, device=generator.device, generator=generator)
    else:
        z = torch.randn(n, latent_dim, device=generator.device, generator=generator)
    return z.to(device) if device is not None else z


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
def generate(model: nn.Module, z: Tensor, labels: Tensor | None, batch: int = 256) -> Tensor:
    """Run ``model`` in eval mode over ``z`` in chunks; float32 samples on the CPU."""
    was = model.training
    model.eval()
    device = next(iter(model.parameters()), torch.empty(0)).device
    out = []
    try:
        for i in range(0, len(z), batch):
            zi = z[i:i + batch].to(device)
            if labels is not None:
                out.append(model(zi, labels[i:i + batch].to(device)).float().cpu())
            else:
                out.append(model(zi).float().cpu())
    finally:
        model.train(was)
    return torch.cat(out) if out else torch.empty(0)


def write_picture(samples: Tensor, path: Path, data: DataInfo, labels: Tensor | None, nrow: int,
                  real: Tensor | None = None, box: Any = None, title: str = "") -> Path:
    """An image grid, or for points a scatter plot (real points grey, samples coloured)."""
    if data.is_image:
        return save_grid(samples, path, nrow)
    return scatter(samples, path, real=real, labels=labels, box=box, title=title)


# -- `ganzoo sample` -------------------------------------------------------------------

def locate(target: str | Path) -> tuple[Path, Path]:
    """(run folder, checkpoint file) for a run folder or a checkpoint path."""
    p = Path(target)
    ckpt = ckpt_mod.find(p)
    if p.is_dir():
        return p, ckpt
    run = p.parent.parent if (p.parent.parent / "config.toml").exists() else p.parent
    return run, ckpt


def _plugin_line(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "no plugin is recorded for it"
    plugin, dist, version = entry.get("plugin"), entry.get("dist"), entry.get("version")
    where = f"plugin {plugin!r}" if plugin else "a plugin"
    if dist:
        where += f" from distribution {dist}" + (f" {version}" if version else "")
    return f"the run used {where}"


def load_generator(target: str | Path, use_ema: bool = True, device: str | torch.device = "cpu",
                   registry: Any = None) -> dict[str, Any]:
    """Rebuild a run's generator from its config and checkpoint.

    Returns a dict: ``model``, ``data`` (DataInfo), ``config`` (RunConfig),
    ``meta``, ``run_dir``, ``checkpoint`` (path), ``step``, ``ema`` (used or not),
    ``conditional``.
    """
    from .build import build_generator
    from .plugin_manager import get_registry

    run_dir, path = locate(target)
    ck = ckpt_mod.load(path)
    config: RunConfig | None = None
    meta: dict[str, Any] = {}
    if (run_dir / "config.toml").exists():
        config, meta = read_run_config(run_dir / "config.toml")
    if ck.config:
        config = finalize({k: v for k, v in ck.config.items() if v is not None})
        meta = ck.meta or meta
    if config is None:
        raise CheckpointError(f"cannot find the run config for {path}", "expected config.toml two folders up")
    if "data" not in meta:
        raise CheckpointError(f"{path}: the run's data description ([meta].data) is missing")
    data = DataInfo.from_dict(meta["data"])
    registry = registry or get_registry()
    name = config.gen["name"]
    if not registry.has("generator", name):
        entry = (meta.get("components") or {}).get("generator")
        dist = (entry or {}).get("dist")
        raise ComponentError(f"generator {name!r} is not installed: {_plugin_line(entry)}",
                             f"install it (pip install {dist})" if dist else "install the plugin that provides it")
    spec = registry.get("generator", name)
    model = build_generator(name, data, config.train["latent_dim"], RunConfig.params(config.gen), registry)
    ema = use_ema and bool(ck.section("ema"))
    ckpt_mod.load_model(ck, "ema" if ema else "generator", model, f"generator {name!r}")
    model.to(device).eval()
    conditional = bool(spec.conditional or getattr(model, "conditional", False))
    return {"model": model, "data": data, "config": config, "meta": meta, "run_dir": run_dir,
            "checkpoint": path, "step": ck.step, "ema": ema, "conditional": conditional}


def sample_to_file(target: str | Path, out: str | Path | None = None, num: int | None = None,
                   label: int | None = None, seed: int = 0, use_ema: bool = True,
                   device: str = "cpu", registry: Any = None) -> dict[str, Any]:
    """`ganzoo sample`: write a PNG grid (or scatter plot) or a safetensors file of samples."""
    if out is not None and Path(out).suffix.lower() not in (".png", ".safetensors"):
        raise UsageError(f"--out {out}: expected a .png or .safetensors file")
    if num is not None and num < 1:
        raise UsageError(f"--num must be positive, not {num}")
    from .device import resolve_device

    loaded = load_generator(target, use_ema, resolve_device(device), registry)
    model, data, conditional = loaded["model"], loaded["data"], loaded["conditional"]
    classes = data.num_classes or 0
    if label is not None:
        if not conditional:
            raise UsageError(f"--label: generator {loaded['config'].gen['name']!r} is not conditional")
        if not 0 <= label < classes:
            raise UsageError(f"--label {label} is out of range", f"this model has classes 0..{classes - 1}")
    default_n = 64 if data.is_image else 1000
    labels: Tensor | None = None
    nrow = 8
    if conditional:
        if label is not None:
            n = num or default_n
            labels = torch.full((n,), label, dtype=torch.long)
            nrow = max(1, math.ceil(math.sqrt(n)))
        else:
            # one full row per class: --num is rounded up to a multiple of the classes
            per = 8 if num is None else max(1, math.ceil(num / classes))
            labels = torch.arange(classes).repeat_interleave(per)
            nrow = per
    else:
        n = num or default_n
        nrow = max(1, math.ceil(math.sqrt(n)))
    n = len(labels) if labels is not None else n
    z = latent(model, n, loaded["config"].train["latent_dim"], torch.Generator().manual_seed(seed))
    samples = generate(model, z, labels)
    run_dir: Path = loaded["run_dir"]
    out = Path(out) if out is not None else run_dir / "samples" / f"sample-{seed}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".safetensors":
        from safetensors.torch import save_file

        from .interfaces import to_uint8

        tensors = {"images": to_uint8(samples)} if data.is_image else {"points": samples.float().contiguous()}
        if labels is not None:
            tensors["labels"] = labels.long()
        meta = {"generator": loaded["config"].gen["name"], "seed": str(seed), "step": str(loaded["step"]),
                "ema": json.dumps(loaded["ema"]), "checkpoint": str(loaded["checkpoint"])}
        save_file(tensors, str(out), metadata=meta)
    else:
        write_picture(samples, out, data, labels, nrow)
    return {**loaded, "out": out, "num": n, "labels": labels}
