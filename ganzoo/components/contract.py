"""The contract a component's outputs and a dataset's data are held to, written once.

`ganzoo.components.build` checks it at build time on a probe batch (the training loop
itself checks nothing), and the conformance suite `ganzoo.testing` checks it
on every data shape; both call these functions, so a plugin that passes the
suite is accepted by the trainer and the other way round. Each function
returns what is wrong, as text that follows the component's name, or None.

A model registered with heads (``register.discriminator(..., heads=("q",))``)
is held to `heads_problem` and `heads_gradient_problem` through its
``forward_heads`` as well; one without is checked through ``forward`` alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from ..base.specs import DataInfo
from ..plugin.heads import MAIN
from .interfaces import Discriminator, Generator

__all__ = ["model_output_problem", "checks_heads", "heads_problem", "heads_gradient_problem", "info_problem",
           "tensors_problem", "item_problem"]

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


def checks_heads(model: nn.Module, declared: tuple[str, ...]) -> bool:
    """Whether a model's ``forward_heads`` is held to the contract: it declares heads, or it defines the method
    itself (and may return a head its registration forgot to declare). A model without either, every built-in,
    is checked through ``forward`` alone, as before heads existed."""
    if declared:
        return True
    own = getattr(type(model), "forward_heads", None)
    return callable(own) and own not in (Generator.forward_heads, Discriminator.forward_heads)


def heads_problem(kind: str, declared: tuple[str, ...], outputs: object, data: DataInfo, n: int,
                  dtype: torch.dtype | None = None, reference: Tensor | None = None) -> str | None:
    """What ``forward_heads`` returned on a batch of ``n``: a dict holding ``MAIN``, held to
    `model_output_problem` as ``forward``'s output is (and equal to ``reference``, forward's output on the same
    input, when given), and exactly the ``declared`` heads, each a finite tensor of ``n`` rows."""
    if not (isinstance(outputs, Mapping) and all(isinstance(k, str) for k in outputs)):
        return f"forward_heads returned {type(outputs).__name__}, not a dict of tensors by name"
    registers = kind.removeprefix("patch-")  # the register method: a patch discriminator is a discriminator
    missing = [h for h in declared if h not in outputs]
    if missing:
        returned = ", ".join(repr(k) for k in outputs) or "nothing"
        return (f"head {missing[0]!r} is declared but forward_heads does not return it (it returned {returned}; "
                f"define forward_heads(x, labels=None) returning every declared head)")
    extra = [k for k in outputs if k != MAIN and k not in declared]
    if extra:
        return (f"forward_heads returns head {extra[0]!r}, which its registration does not declare "
                f"(register.{registers}(..., heads={(*declared, *extra)!r}))")
    if MAIN not in outputs:
        return f"forward_heads returned no {MAIN!r} output (what forward returns, under {MAIN!r})"
    problem = model_output_problem(kind, outputs[MAIN], data, n, dtype)
    if problem:
        return f"forward_heads()[{MAIN!r}]: {problem}"
    main = outputs[MAIN]
    assert isinstance(main, Tensor)  # model_output_problem said so
    if reference is not None and not (reference.shape == main.shape and torch.allclose(
            reference.detach(), main.detach(), rtol=1e-4, atol=1e-5)):
        return f"forward_heads()[{MAIN!r}] differs from what forward returns on the same input"
    for head in declared:
        out = outputs[head]
        if not isinstance(out, Tensor):
            return f"head {head!r} is {type(out).__name__}, not a tensor"
        if out.dim() == 0 or out.shape[0] != n:
            return f"head {head!r} has shape {tuple(out.shape)}, expected ({n}, ...): one row per sample"
        if dtype is not None and out.dtype != dtype:
            return f"head {head!r} is {out.dtype} for {dtype} input"
        if not bool(torch.isfinite(out.detach()).all()):
            return f"head {head!r} holds NaN or infinite values"
    return None


def heads_gradient_problem(kind: str, model: nn.Module, outputs: Mapping[str, Tensor], x: Tensor,
                           declared: tuple[str, ...]) -> str | None:
    """How gradient flows through a model with declared heads, from ``outputs`` (a `heads_problem`-clean
    ``forward_heads(x)``, with ``x`` requiring grad).

    Each output stands for the loss that uses it (a fixed random projection of it, so a head of probabilities,
    whose sum is constant, still counts). Each declared head must get gradient, depend on ``x`` and reach
    weights of its own, elements no other output reaches (a layer of its own, or its rows of a layer shared
    with the scores); every trainable parameter must get gradient from the outputs together; a
    discriminator's scores must reach ``x``, so a generator learns through them. Nothing is written to
    ``.grad``."""
    params = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not params:
        return "has no trainable parameters"
    names = [MAIN, *declared]
    reached: dict[str, list[Tensor | None]] = {}  # output -> per parameter, where its gradient is non-zero
    into_x: dict[str, bool] = {}
    for name in names:
        out = outputs[name]
        if not out.requires_grad:
            what = "its main output" if name == MAIN else f"head {name!r}"
            return f"{what} gets no gradient: it does not require grad (detached, or computed under no_grad?)"
        weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(len(reached)))
        grads = torch.autograd.grad((out * weight.to(out.device, out.dtype)).sum(), [p for _, p in params] + [x],
                                    allow_unused=True, retain_graph=True)
        reached[name] = [None if g is None else g != 0 for g in grads[:-1]]
        into_x[name] = grads[-1] is not None and bool(grads[-1].abs().sum() > 0)
    for head in declared:
        mask = reached[head]
        if not any(m is not None and bool(m.any()) for m in mask):
            return f"head {head!r} gets no gradient into any parameter (computed from detached features?)"
        if not into_x[head]:
            return f"head {head!r} does not depend on the input (no gradient reaches x from it)"
        others = [reached[o] for o in names if o != head]
        if not any(_own(m, [other[i] for other in others]) for i, m in enumerate(mask)):
            return (f"head {head!r} has no parameters of its own: every weight it gets gradient into also feeds "
                    f"{', '.join(repr(o) for o in names if o != head)} (give it a layer of its own on the trunk)")
    if kind != "generator" and not into_x[MAIN]:
        return "no gradient reaches its input from its scores, so a generator cannot learn through it"
    missing = [n for i, (n, _) in enumerate(params) if all(reached[o][i] is None for o in names)]
    if missing:
        return (f"no gradient reaches {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''} from its outputs "
                f"({', '.join(names)}) together (detached, or unused in forward_heads?)")
    if not any(m is not None and bool(m.any()) for o in names for m in reached[o]):
        return "every parameter's gradient is zero"
    return None


def _own(mask: Tensor | None, others: list[Tensor | None]) -> bool:
    """Whether some element of a parameter gets gradient from one output (``mask``) and from none of ``others``."""
    if mask is None:
        return False
    alone = mask.clone()
    for other in others:
        if other is not None:
            alone &= ~other
    return bool(alone.any())


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
