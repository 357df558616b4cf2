"""Conformance checks for generators and discriminators."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TypedDict

import torch
from torch import Tensor, nn

from ..base.errors import PLUGIN_FAULTS, GanzooError
from ..base.specs import ComponentSpec, DataInfo
from ..components.contract import checks_heads
from ._common import DEFAULT_DATA, Report, error_text, fail, fit_labels, lookup, new_report, shape_label, who
from ._modelchecks import (check_gradients, check_heads, check_heads_dtype, check_labels, check_output, make_inputs,
                           run_forward)

if TYPE_CHECKING:  # pragma: no cover
    from typing import Unpack

    from ..plugin.registry import Registry


class ModelCheckOptions(TypedDict, total=False):
    """The keyword arguments `check_generator` and `check_discriminator` hand on to `check_model`."""

    params: Mapping[str, object] | None
    latent_dim: int
    batch_size: int
    device: str | torch.device
    dtype: torch.dtype | None
    seed: int
    registry: Registry | None


def _build(spec: ComponentSpec, data: DataInfo, latent_dim: int, params: Mapping[str, object] | None,
           registry: Registry | None) -> nn.Module:
    from ..components.build import build_discriminator, build_generator

    try:
        # check=False: the suite holds the output to the same contract below, on its own batch and dtype
        if spec.kind == "generator":
            return build_generator(spec.name, data, latent_dim=latent_dim, params=params, registry=registry,
                                   check=False)
        return build_discriminator(spec.name, data, params=params, registry=registry, check=False)
    except GanzooError as exc:
        message = str(exc).removeprefix(who(spec)).lstrip(": ")
        raise fail(spec, f"ganzoo.components.build rejected it: {message}", data) from exc


def check_model(kind: str, name: str, data_infos: Iterable[DataInfo] = DEFAULT_DATA, *,
                params: Mapping[str, object] | None = None, latent_dim: int = 16, batch_size: int = 4,
                device: str | torch.device = "cpu", dtype: torch.dtype | None = torch.float64, seed: int = 0,
                registry: Registry | None = None) -> Report:
    """Check one generator or discriminator on each data shape; see `check_generator`."""
    spec = lookup(kind, name, registry)
    report = new_report(spec)
    try:
        factory = spec.load_factory()
    except PLUGIN_FAULTS as exc:
        raise fail(spec, f"cannot import its factory {spec.target}: {error_text(exc)}") from exc
    n = batch_size
    for data in data_infos:
        data = fit_labels(data, spec.conditional)
        # what the builder passes besides the data: a latent size, or an image-to-image generator's input
        extra: dict[str, object] = ({"source": data} if spec.takes == "image" else {"latent_dim": latent_dim}) \
            if kind == "generator" else {}
        torch.manual_seed(seed)
        try:
            first = factory(data, **extra, **(params or {}))
        except (ValueError, GanzooError) as exc:  # a clear refusal: this shape is not supported
            report.unsupported[data.shape] = str(exc)
            continue
        except PLUGIN_FAULTS as exc:
            hint = ("pass params={...} if it has required parameters" if isinstance(exc, TypeError) else "")
            raise fail(spec, f"its factory raised {error_text(exc)}; refuse data you do not support with a "
                       f"clear ValueError{' (' + hint + ')' if hint else ''}", data) from exc
        torch.manual_seed(seed)
        model = _build(spec, data, latent_dim, params, registry).to(device)
        first = first.to(device) if isinstance(first, nn.Module) else first
        x = make_inputs(spec, data, n, latent_dim, seed).to(device)
        labels = (torch.arange(n, device=x.device) % data.num_classes) if data.num_classes else None

        # compared first, while BatchNorm statistics are as built
        first.eval(), model.eval()
        with torch.no_grad():
            torch.manual_seed(seed + 1)
            a = run_forward(spec, first, x, labels, data, "in eval mode")
            torch.manual_seed(seed + 1)
            b = run_forward(spec, model, x, labels, data, "in eval mode")
        if not (isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape == b.shape and torch.equal(a, b)):
            raise fail(spec, f"two builds after torch.manual_seed({seed}) give different outputs; draw every "
                       f"random number from torch's generator (not numpy, random or the clock)", data)
        report.passed("seeded builds agree")
        model.train()
        x.requires_grad_(kind == "discriminator")
        out = run_forward(spec, model, x, labels, data, "in train mode")
        check_output(spec, out, data, n, torch.float32)
        report.passed("output shape and range")
        if checks_heads(model, spec.heads):
            check_heads(spec, model, x, labels, data, n, seed + 1, report)
        if not spec.heads:  # with heads, the gradients were checked through forward_heads, every output at once
            check_gradients(spec, model, out, x, data)
            report.passed("gradients")
        model.zero_grad(set_to_none=True)
        x = x.detach()
        model.eval()

        check_labels(spec, model, x, labels, data, seed + 2, report)

        if dtype is not None:
            converted = copy.deepcopy(model).to(device, dtype).train()
            with torch.no_grad():
                out = run_forward(spec, converted, x.to(dtype), labels, data, f"after .to({dtype})")
            check_output(spec, out, data, n, dtype)
            if checks_heads(converted, spec.heads):
                check_heads_dtype(spec, converted, x.to(dtype), labels, data, n, dtype)
            report.passed(f"works as {str(dtype).removeprefix('torch.')}")
        report.supported.append(data.shape)
    if not report.supported:
        refused = "; ".join(f"{shape_label(s)}: {why}" for s, why in report.unsupported.items())
        raise fail(spec, f"supports none of the data shapes it was tried on ({refused})")
    return report


def check_generator(name: str, data_infos: Iterable[DataInfo] = DEFAULT_DATA,
                    **kwargs: Unpack[ModelCheckOptions]) -> Report:
    """Check a registered generator against ganzoo's contract, on every data shape it supports.

    For each ``DataInfo`` (default: 2-D points, 28 px greyscale, 32 and 64 px
    RGB): a factory that raises ValueError (or a ganzoo error) declares the
    shape unsupported, and at least one shape must be supported. On each
    supported shape the generator is built through ``ganzoo.components.build`` and must
    give (N, *shape) outputs, images in [-1, 1]; pass gradients to all its
    parameters through a discriminator; give identical outputs for two builds
    under the same ``torch.manual_seed``; honour the conditional contract
    (conditional: needs labels and depends on them; unconditional: ignores
    them); and still work after ``.to(device, dtype)`` (``dtype=None`` skips
    that). Keyword arguments: ``params``, ``latent_dim``, ``batch_size``,
    ``device``, ``dtype``, ``seed``, ``registry``. Raises ``ConformanceError``
    (an AssertionError) naming the component, its plugin and the data shape.
    """
    return check_model("generator", name, data_infos, **kwargs)


def check_discriminator(name: str, data_infos: Iterable[DataInfo] = DEFAULT_DATA,
                        **kwargs: Unpack[ModelCheckOptions]) -> Report:
    """Check a registered discriminator as `check_generator` checks a generator.

    It must return one finite raw score per sample, shape (N,); pass gradients
    to all its parameters and to its input (so a generator can learn through
    it); and honour the same determinism, label and dtype rules.
    """
    return check_model("discriminator", name, data_infos, **kwargs)
