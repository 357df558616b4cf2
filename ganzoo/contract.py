"""The contract a component's outputs and a dataset's data are held to, written once.

`ganzoo.build` checks it at build time on a probe batch (the training loop
itself checks nothing), and the conformance suite `ganzoo.testing` checks it
on every data shape; both call these functions, so a plugin that passes the
suite is accepted by the trainer and the other way round. Each function
returns what is wrong, as text that follows the component's name, or None.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .specs import DataInfo

__all__ = ["model_output_problem", "info_problem", "tensors_problem", "item_problem"]

# float32 Tanh never leaves [-1, 1]; the slack is for other dtypes' rounding only
_SLACK = 1e-6


def model_output_problem(kind: str, out: object, data: DataInfo, n: int,
                         dtype: torch.dtype | None = None) -> str | None:
    """A generator must give (n, *data.shape), images in [-1, 1]; a discriminator (n,) raw scores, a patch
    discriminator (``kind`` "patch-discriminator") a map (n, 1, h, w) of them; all finite."""
    if not isinstance(out, Tensor):
        return f"forward returned {type(out).__name__}, not a tensor"
    if kind == "generator":
        expected, hint = (n, *data.shape), ""
    elif kind == "patch-discriminator":
        expected, hint = (n, 1, *tuple(out.shape)[2:4]), " (a map of raw scores, one per patch)"
        if out.dim() != 4:
            return f"produced shape {tuple(out.shape)}, expected (N, 1, h, w){hint}"
    else:
        expected, hint = (n,), " (one raw score per sample: end with .view(-1))"
    if tuple(out.shape) != expected:
        return f"produced shape {tuple(out.shape)}, expected {expected}{hint}"
    if dtype is not None and out.dtype != dtype:
        return f"forward returned {out.dtype} for {dtype} input"
    if not bool(torch.isfinite(out.detach()).all()):
        return "forward returned NaN or infinite values"
    if kind == "generator" and data.is_image and out.numel():
        low, high = float(out.detach().min()), float(out.detach().max())
        if low < -1 - _SLACK or high > 1 + _SLACK:
            return f"image pixels must be in [-1, 1] (end with Tanh), got [{low:.3g}, {high:.3g}]"
    return None


def info_problem(info: DataInfo) -> str | None:
    """A dataset's ``info`` must be a consistent DataInfo."""
    shape = info.shape
    if not isinstance(shape, tuple) or not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        return f"info.shape must be a tuple of positive ints, got {shape!r}"
    if info.modality not in ("image", "points"):
        return f"info.modality must be 'image' or 'points', got {info.modality!r}"
    if info.modality == "image" and len(shape) != 3:
        return f"image data must have shape (C, H, W), got {shape}"
    if info.modality == "points" and len(shape) != 1:
        return f"points must have shape (D,), got {shape}"
    if info.num_classes is not None and (not isinstance(info.num_classes, int) or info.num_classes < 1):
        return f"info.num_classes must be None or a positive int, got {info.num_classes!r}"
    if info.class_names is not None and len(info.class_names) != info.num_classes:
        return f"info.class_names has {len(info.class_names)} names for {info.num_classes} classes"
    if not (isinstance(info.size, int) and info.size > 0):
        return f"info.size must be the number of samples, got {info.size!r}"
    return None


def tensors_problem(info: DataInfo, x: object, labels: object) -> str | None:
    """An in-memory dataset's ``tensors()``: info.size samples of info.shape, uint8 images or finite float points,
    int64 labels in [0, num_classes) exactly when num_classes is set."""
    if not isinstance(x, Tensor):
        return f"tensors() must give x as a tensor, got {type(x).__name__}"
    if tuple(x.shape[1:]) != info.shape:
        return f"tensors() gave samples of shape {tuple(x.shape[1:])}, but info.shape is {info.shape}"
    if len(x) != info.size:
        return f"tensors() gave {len(x)} samples, but info.size is {info.size}"
    if info.is_image:
        if x.dtype != torch.uint8:
            where = f" in [{float(x.min()):.3g}, {float(x.max()):.3g}]" if x.is_floating_point() and x.numel() else ""
            return f"tensors() must give uint8 images (0-255), got {x.dtype}{where}"
    elif not x.is_floating_point():
        return f"tensors() must give float points, got {x.dtype}"
    elif not bool(torch.isfinite(x).all()):
        return "tensors() gave NaN or infinite values"
    return _labels_problem(info, labels, len(x))


def _labels_problem(info: DataInfo, labels: object, n: int) -> str | None:
    if labels is None:
        return f"info.num_classes is {info.num_classes} but tensors() gave no labels" if info.num_classes else None
    if not info.num_classes:
        return "tensors() gave labels but info.num_classes is not set"
    if not isinstance(labels, Tensor) or labels.dtype != torch.int64 or tuple(labels.shape) != (n,):
        return (f"labels must be an int64 tensor of shape ({n},), got "
                f"{getattr(labels, 'dtype', type(labels).__name__)} {tuple(getattr(labels, 'shape', ()))}")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= info.num_classes):
        return f"labels must be in [0, {info.num_classes}), got [{int(labels.min())}, {int(labels.max())}]"
    return None


def item_problem(info: DataInfo, item: object) -> str | None:
    """One ``torch_dataset()`` item: ``(x, label)``, x a finite float tensor of info.shape in model range
    (images in [-1, 1]), label in [0, num_classes), or -1 for unlabelled data."""
    if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], Tensor)):
        return "torch_dataset() items must be (x, label) pairs with x a tensor"
    x, label = item
    if tuple(x.shape) != info.shape or not x.is_floating_point():
        return f"torch_dataset() items must be float tensors of shape {info.shape}, got {x.dtype} {tuple(x.shape)}"
    if not bool(torch.isfinite(x).all()):
        return "a torch_dataset() item holds NaN or infinite values"
    if info.is_image and x.numel() and (float(x.min()) < -1 - _SLACK or float(x.max()) > 1 + _SLACK):
        return (f"torch_dataset() images must be in [-1, 1] (ganzoo.interfaces.to_model_range), got "
                f"[{float(x.min()):.3g}, {float(x.max()):.3g}]")
    try:
        value = int(label)
    except (TypeError, ValueError):
        return f"torch_dataset() labels must be integers, got {type(label).__name__}"
    if info.num_classes and not 0 <= value < info.num_classes:
        return f"torch_dataset() label {value} is outside [0, {info.num_classes})"
    if not info.num_classes and value != -1:
        return f"torch_dataset() label {value} on unlabelled data (unlabelled data uses -1)"
    return None
