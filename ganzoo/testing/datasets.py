"""Conformance checks for datasets."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import DataError, GanzooError
from ..specs import ComponentSpec, DataInfo
from ._common import Report, error_text, fail, lookup, new_report, who


def _check_info(spec: ComponentSpec, info: DataInfo) -> None:
    shape = info.shape
    if not isinstance(shape, tuple) or not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        raise fail(spec, f"info.shape must be a tuple of positive ints, got {shape!r}")
    if info.modality == "image" and len(shape) != 3:
        raise fail(spec, f"image data must have shape (C, H, W), got {shape}")
    if info.modality == "points" and len(shape) != 1:
        raise fail(spec, f"points must have shape (D,), got {shape}")
    if info.modality not in ("image", "points"):
        raise fail(spec, f"info.modality must be 'image' or 'points', got {info.modality!r}")
    if info.num_classes is not None and (not isinstance(info.num_classes, int) or info.num_classes < 1):
        raise fail(spec, f"info.num_classes must be None or a positive int, got {info.num_classes!r}")
    if info.class_names is not None and len(info.class_names) != info.num_classes:
        raise fail(spec, f"info.class_names has {len(info.class_names)} names for {info.num_classes} classes")
    if not info.size > 0:
        raise fail(spec, f"info.size must be the number of samples, got {info.size!r}")


def _check_labels(spec: ComponentSpec, info: DataInfo, labels: Any, n: int) -> None:
    if labels is None:
        if info.num_classes:
            raise fail(spec, f"info.num_classes is {info.num_classes} but tensors() gave no labels")
        return
    if not info.num_classes:
        raise fail(spec, "tensors() gave labels but info.num_classes is not set")
    if not isinstance(labels, Tensor) or labels.dtype != torch.int64 or tuple(labels.shape) != (n,):
        raise fail(spec, f"labels must be an int64 tensor of shape ({n},), got "
                   f"{getattr(labels, 'dtype', type(labels).__name__)} {tuple(getattr(labels, 'shape', ()))}")
    if n and (labels.min() < 0 or labels.max() >= info.num_classes):
        raise fail(spec, f"labels must be in [0, {info.num_classes}), got [{labels.min()}, {labels.max()}]")


def _check_values(spec: ComponentSpec, info: DataInfo, x: Tensor, what: str) -> None:
    if info.is_image and x.dtype == torch.uint8:
        return
    if not x.is_floating_point():
        raise fail(spec, f"{what} must be uint8 images or floats, got {x.dtype}")
    if not torch.isfinite(x).all():
        raise fail(spec, f"{what} holds NaN or infinite values")
    if info.is_image and (x.min() < -1 - 1e-6 or x.max() > 1 + 1e-6):
        raise fail(spec, f"float images must be in [-1, 1], {what} is in [{x.min():.3g}, {x.max():.3g}]")


def check_dataset(name: str, params: dict[str, Any] | None = None, *, items: int = 4,
                  registry: Any = None) -> Report:
    """Check a registered dataset against ganzoo's contract.

    It is built through ``ganzoo.build.build_dataset`` with ``params``; a
    ``DataError`` (files absent, no network) marks the report skipped rather
    than failed. ``info`` must be a consistent ``DataInfo``; an in-memory
    dataset's ``tensors()`` must give ``info.size`` samples of ``info.shape``
    (uint8 images, or floats: images in [-1, 1]) and int64 labels in
    [0, num_classes) exactly when ``num_classes`` is set; ``torch_dataset()``
    must give ``(x, label)`` items in model range (its first ``items`` are
    read). Raises ``ConformanceError``.
    """
    from ..build import build_dataset

    spec = lookup("dataset", name, registry)
    report = new_report(spec)
    try:
        ds = build_dataset(name, params, registry)
    except DataError as exc:
        report.skipped = f"its data is not available here: {exc}"
        return report
    except GanzooError as exc:
        raise fail(spec, f"ganzoo.build rejected it: {str(exc).removeprefix(who(spec)).lstrip(': ')}") from exc
    info = ds.info
    _check_info(spec, info)
    report.passed("info")
    if not getattr(ds, "streaming", False):
        try:
            x, labels = ds.tensors()
        except Exception as exc:
            raise fail(spec, f"tensors() raised {error_text(exc)} (set streaming = True if it cannot hold its "
                       f"data in memory)") from exc
        if not isinstance(x, Tensor) or tuple(x.shape) != (info.size, *info.shape):
            raise fail(spec, f"tensors() must give x of shape {(info.size, *info.shape)} (info.size samples of "
                       f"info.shape), got {tuple(getattr(x, 'shape', ()))}")
        _check_values(spec, info, x, "tensors()'s x")
        _check_labels(spec, info, labels, len(x))
        report.passed("tensors")
    try:
        tds = ds.torch_dataset()
        size = len(tds)
        batch = [tds[i] for i in range(min(items, size))]
    except Exception as exc:
        raise fail(spec, f"torch_dataset() failed: {error_text(exc)}") from exc
    if size != info.size:
        raise fail(spec, f"torch_dataset() has {size} items but info.size is {info.size}")
    for item in batch:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], Tensor)):
            raise fail(spec, "torch_dataset() items must be (x, label) pairs with x a tensor")
        x, label = item
        if tuple(x.shape) != info.shape or not x.is_floating_point():
            raise fail(spec, f"torch_dataset() items must be float tensors of shape {info.shape}, got "
                       f"{x.dtype} {tuple(x.shape)}")
        _check_values(spec, info, x, "a torch_dataset() item")
        label = int(label)
        if not (info.num_classes and 0 <= label < info.num_classes) and not (not info.num_classes and label == -1):
            raise fail(spec, f"torch_dataset() label {label} is outside [0, {info.num_classes}) "
                       f"(unlabelled data uses -1)")
    report.passed("torch_dataset")
    report.supported.append(info.shape)
    return report
