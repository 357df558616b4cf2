"""Picking the device and the per-device speed settings (autocast, channels_last, fused Adam)."""

from __future__ import annotations

import contextlib
from typing import Any
from collections.abc import Iterable

import torch
from torch import nn

from ..base.errors import UsageError


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; asking for a missing accelerator is a UsageError."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif mps_available():
            name = "mps"
        else:
            name = "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"device {name!r} requested but CUDA is not available", "use --device cpu or auto")
        if name == "cuda" and local_rank is not None:
            name = f"cuda:{local_rank}"
        device = torch.device(name)
        if device.index is not None:
            if device.index >= torch.cuda.device_count():
                raise UsageError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) are visible")
            torch.cuda.set_device(device)
        return device
    if name == "mps":
        if not mps_available():
            raise UsageError("device 'mps' requested but MPS is not available", "use --device cpu or auto")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise UsageError(f"unknown device {name!r}", "choose auto, cpu, cuda or mps")


def configure_backends(device: torch.device) -> None:
    """Fast paths that do not change results meaningfully on accelerators."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when enabled; a no-op elsewhere (CPU/MPS train in float32)."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def has_conv(*models: nn.Module) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for model in models for m in model.modules())


def use_channels_last(setting: bool | str, device: torch.device, image: bool, *models: nn.Module) -> bool:
    if setting == "auto":
        return device.type == "cuda" and image and has_conv(*models)
    return bool(setting) and image


def adam(params: Iterable[nn.Parameter] | Iterable[dict[str, Any]], lr: float,
         betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam; its fused kernel wherever this torch has one for the params' device (CUDA; CPU and MPS on recent torch).

    Same math as the per-parameter loop (results agree to float rounding), and on
    the 2-core CPU of docs/benchmarks.md the fused step is about 3x faster, which
    is ~9% of a vanilla MLP GAN step. Checkpoints carry no trace of it: a run
    saved with the fused kernel resumes on a torch or device without one.
    """
    # param groups' params made lists, so that looking at them here does not use up a generator; a group is
    # dict[str, Any] as torch.optim types it (params, lr, betas...: a value's type depends on its key)
    listed: list[Any] = [dict(item, params=list(item["params"])) if isinstance(item, dict) else item for item in params]
    flat = [p for item in listed for p in (item["params"] if isinstance(item, dict) else [item])]
    if _fused_kernel_for(flat):
        try:
            return torch.optim.Adam(listed, lr=lr, betas=betas, fused=True)
        except (TypeError, RuntimeError, ValueError):  # a torch that refuses it when constructing
            pass
    return torch.optim.Adam(listed, lr=lr, betas=betas)


def _fused_kernel_for(params: list[nn.Parameter]) -> bool:
    # Recent torch checks the device only at the first step(), too late to fall back, so ask first.
    try:
        from torch.optim.optimizer import _device_dtype_check_for_fused
    except ImportError:  # torch < 2.4: Adam's constructor does the check (caught above)
        return True
    try:
        for p in params:
            _device_dtype_check_for_fused(p)
    except RuntimeError:
        return False
    return True


def noise_generator(device: torch.device, seed: int) -> torch.Generator:
    """A torch.Generator on ``device`` (falls back to CPU where the device has none)."""
    try:
        return torch.Generator(device=device).manual_seed(seed)
    except RuntimeError:
        return torch.Generator().manual_seed(seed)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
