"""The individual checks a generator or discriminator goes through (used by `ganzoo.testing.models`)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..base.errors import PLUGIN_FAULTS
from ..base.specs import ComponentSpec, DataInfo
from ..components.contract import heads_gradient_problem, heads_problem, model_output_problem
from ..components.interfaces import forward, forward_heads
from ._common import NUM_CLASSES, Report, error_text, fail


class ProbeD(nn.Module):
    """A fixed linear critic: G's parameters get gradients through it exactly when G's output depends on them."""

    def __init__(self, numel: int):
        super().__init__()
        self.w = nn.Parameter(torch.randn(numel, generator=torch.Generator().manual_seed(0)))

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1) @ self.w.to(x.dtype)


def call_model(model: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    # as the trainer calls it; what a plugin's model really returns is held to the contract by check_output
    return forward(model, x, labels)


def run_forward(spec: ComponentSpec, model: nn.Module, x: Tensor, labels: Tensor | None, data: DataInfo,
                when: str) -> Tensor:
    try:
        return call_model(model, x, labels)
    except PLUGIN_FAULTS as exc:
        raise fail(spec, f"forward failed {when} on input of shape {tuple(x.shape)}: {error_text(exc)}", data) from exc


def check_output(spec: ComponentSpec, out: object, data: DataInfo, n: int, dtype: torch.dtype) -> None:
    """The contract `ganzoo.components.build` holds a probe batch to (one definition: `ganzoo.components.contract`)."""
    problem = model_output_problem(_kind(spec), out, data, n, dtype)
    if problem:
        raise fail(spec, problem, data)


def _kind(spec: ComponentSpec) -> str:
    return "patch-discriminator" if spec.kind == "discriminator" and "patch" in spec.scores else spec.kind


def check_heads(spec: ComponentSpec, model: nn.Module, x: Tensor, labels: Tensor | None, data: DataInfo, n: int,
                seed: int, report: Report) -> None:
    """``forward_heads`` held to `ganzoo.components.contract` as `ganzoo.components.build` holds it: in eval mode its ``"main"`` is
    forward's output and it returns exactly the declared heads; in train mode, with declared heads, each gets
    gradient, depends on the input and has parameters of its own, and every parameter gets gradient from the
    outputs together (this replaces `check_gradients`, which reads ``forward`` alone)."""
    kind, x = _kind(spec), x.detach()
    model.eval()
    with torch.no_grad():
        torch.manual_seed(seed)
        reference = run_forward(spec, model, x, labels, data, "in eval mode")
        torch.manual_seed(seed)
        outputs = _run_heads(spec, model, x, labels, data, "in eval mode")
    problem = heads_problem(kind, spec.heads, outputs, data, n, torch.float32,
                            reference if isinstance(reference, Tensor) else None)
    if problem:
        raise fail(spec, problem, data)
    report.passed("forward_heads returns the declared heads")
    if not spec.heads:
        return
    model.train()
    x = x.clone().requires_grad_(True)
    outputs = _run_heads(spec, model, x, labels, data, "in train mode")
    problem = heads_problem(kind, spec.heads, outputs, data, n, torch.float32) or \
        heads_gradient_problem(kind, model, outputs, x, spec.heads)
    if problem:
        raise fail(spec, problem, data)
    report.passed("gradients through every head")


def check_heads_dtype(spec: ComponentSpec, model: nn.Module, x: Tensor, labels: Tensor | None, data: DataInfo,
                      n: int, dtype: torch.dtype) -> None:
    """Every head, like the scores, comes out in the dtype the model was converted to."""
    with torch.no_grad():
        outputs = _run_heads(spec, model, x, labels, data, f"after .to({dtype})")
    problem = heads_problem(_kind(spec), spec.heads, outputs, data, n, dtype)
    if problem:
        raise fail(spec, problem, data)


def _run_heads(spec: ComponentSpec, model: nn.Module, x: Tensor, labels: Tensor | None, data: DataInfo,
               when: str) -> dict[str, Tensor]:
    try:
        return forward_heads(model, x, labels)
    except PLUGIN_FAULTS as exc:
        raise fail(spec, f"forward_heads failed {when} on input of shape {tuple(x.shape)}: {error_text(exc)}",
                   data) from exc


def check_gradients(spec: ComponentSpec, model: nn.Module, out: Tensor, x: Tensor, data: DataInfo) -> None:
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not params:
        raise fail(spec, "has no trainable parameters", data)
    if not out.requires_grad:
        raise fail(spec, "its output does not require grad (detached, or computed under no_grad?)", data)
    if spec.kind == "generator":
        ProbeD(data.numel).to(out.device)(out).sum().backward()
    else:
        out.sum().backward()
        if x.grad is None or not x.grad.abs().sum() > 0:
            raise fail(spec, "no gradient reaches its input, so a generator cannot learn through it", data)
    missing = [n for n, p in params if p.grad is None]
    if missing:
        through = " through a discriminator" if spec.kind == "generator" else ""
        raise fail(spec, f"no gradient reaches {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}"
                   f"{through} (detached, or unused in forward?)", data)
    if not sum(float(p.grad.abs().sum()) for _, p in params if p.grad is not None) > 0:
        raise fail(spec, "every parameter's gradient is zero", data)


def check_labels(spec: ComponentSpec, model: nn.Module, x: Tensor, labels: Tensor | None, data: DataInfo,
                  seed: int, report: Report) -> None:
    def run(*args: Tensor | None, **kwargs: Tensor) -> Tensor:
        torch.manual_seed(seed)
        return model(*args, **kwargs)

    with torch.no_grad():
        if spec.conditional:
            assert labels is not None and data.num_classes
            if torch.equal(run(x, labels), run(x, (labels + 1) % data.num_classes)):
                raise fail(spec, "is registered as conditional but its output does not change with the labels", data)
            try:
                run(x)
            except PLUGIN_FAULTS:
                pass
            else:
                raise fail(spec, "is conditional but runs without labels; raise a clear error instead "
                           "(ganzoo.nn.require_labels does)", data)
            report.passed("labels change the output")
            return
        plain = run(x)
        fake_labels = torch.arange(len(x), device=x.device) % NUM_CLASSES
        for args, kwargs, what in (((x, None), {}, "labels=None"), ((x,), {"labels": fake_labels}, "labels")):
            try:
                other = run(*args, **kwargs)
            except TypeError:
                continue  # forward(x) with no labels parameter at all is fine
            except PLUGIN_FAULTS as exc:
                raise fail(spec, f"is unconditional but fails when given {what}: {error_text(exc)}", data) from exc
            if not torch.equal(plain, other):
                raise fail(spec, f"is unconditional but its output changes when given {what}", data)
        report.passed("ignores labels")


def make_inputs(spec: ComponentSpec, data: DataInfo, n: int, latent_dim: int, seed: int) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    if spec.kind == "generator" and spec.takes == "noise":
        return torch.randn(n, latent_dim, generator=g)
    if data.is_image:
        return torch.rand(n, *data.shape, generator=g) * 2 - 1
    return torch.randn(n, *data.shape, generator=g)
