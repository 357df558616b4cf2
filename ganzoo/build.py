"""Build components by name (like timm's ``create_model``) and hold them to their contract.

Every failure here is raised at build time, before any training step, and
names the plugin and the component, so a broken third-party plugin is easy
to tell from a bug in ganzoo.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any
from collections.abc import Callable

import torch
from torch import nn

from .errors import ComponentError, GanzooError, UsageError
from .interfaces import Dataset, LossTerm
from .losses import CompositeLoss
from .lossspec import parse_loss_spec
from .plugin_manager import get_registry
from .registry import Registry
from .specs import ComponentSpec, DataInfo


def _who(spec: ComponentSpec) -> str:
    return f"{spec.kind} {spec.name!r} from plugin {spec.plugin.name!r} ({spec.plugin.label})"


def _check_params(spec: ComponentSpec, factory: Callable[..., Any], params: dict[str, Any]) -> None:
    try:
        target = factory.__init__ if inspect.isclass(factory) else factory
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    known = [n for n in sig.parameters if n not in ("self", "data")]
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]}?" if close else f"its parameters: {', '.join(known) or 'none'}"
            raise UsageError(f"{spec.kind} {spec.name!r} has no parameter {key!r}", hint)


def _call(spec: ComponentSpec, *args: Any, **params: Any) -> Any:
    try:
        factory = spec.load()
    except Exception as exc:
        raise ComponentError(f"{_who(spec)} cannot be imported ({spec.target}): {type(exc).__name__}: {exc}") from exc
    _check_params(spec, factory, params)
    try:
        return factory(*args, **params)
    except GanzooError:  # already a one-line message for the user (a missing dataset, say)
        raise
    except Exception as exc:
        raise ComponentError(f"{_who(spec)} failed to build: {type(exc).__name__}: {exc}") from exc


def _require_labels(spec: ComponentSpec, data: DataInfo, dataset_name: str | None = None) -> None:
    if spec.conditional and not data.num_classes:
        where = f"dataset {dataset_name!r}" if dataset_name else "this dataset"
        raise UsageError(f"{spec.kind} {spec.name!r} is conditional but {where} has no class labels",
                         "use an unconditional model, or a labelled dataset such as mnist-10k")


def _probe_labels(data: DataInfo, n: int) -> torch.Tensor | None:
    return torch.arange(n) % data.num_classes if data.num_classes else None


def build_generator(name: str, data: DataInfo, latent_dim: int = 100, params: dict[str, Any] | None = None,
                    registry: Registry | None = None, check: bool = True) -> nn.Module:
    spec = (registry or get_registry()).get("generator", name)
    _require_labels(spec, data)
    model = _call(spec, data, latent_dim=latent_dim, **(params or {}))
    if not isinstance(model, nn.Module):
        raise ComponentError(f"{_who(spec)} returned {type(model).__name__}, not a torch.nn.Module")
    if check:
        z = torch.randn(2, latent_dim, generator=torch.Generator().manual_seed(0))
        out = _probe(spec, model, z, _probe_labels(data, 2))
        if tuple(out.shape) != (2, *data.shape):
            raise ComponentError(f"{_who(spec)} produced shape {tuple(out.shape)}, expected {(2, *data.shape)} "
                                 f"for latent_dim={latent_dim}")
    return model


def build_discriminator(name: str, data: DataInfo, params: dict[str, Any] | None = None,
                        registry: Registry | None = None, check: bool = True) -> nn.Module:
    spec = (registry or get_registry()).get("discriminator", name)
    _require_labels(spec, data)
    model = _call(spec, data, **(params or {}))
    if not isinstance(model, nn.Module):
        raise ComponentError(f"{_who(spec)} returned {type(model).__name__}, not a torch.nn.Module")
    if check:
        x = torch.zeros(2, *data.shape)
        out = _probe(spec, model, x, _probe_labels(data, 2))
        if out.numel() != 2:
            raise ComponentError(f"{_who(spec)} produced shape {tuple(out.shape)}, expected (2,): one score per sample")
    return model


def _probe(spec: ComponentSpec, model: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x, labels) if labels is not None else model(x)
    except Exception as exc:
        raise ComponentError(f"{_who(spec)} failed on a probe batch of shape {tuple(x.shape)}: "
                             f"{type(exc).__name__}: {exc}") from exc
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise ComponentError(f"{_who(spec)} returned {type(out).__name__} from forward, not a tensor")
    return out


def build_loss(spec_text: str, params: dict[str, Any] | None = None, registry: Registry | None = None) -> CompositeLoss:
    """``params`` maps a term name to that term's keyword parameters."""
    registry = registry or get_registry()
    terms = parse_loss_spec(spec_text, registry)
    params = dict(params or {})
    names = {t.name for t in terms}
    for key, value in params.items():
        if key not in names or not isinstance(value, dict):
            raise UsageError(f"loss parameters {key!r} do not match a term of {spec_text!r}",
                             "set a term's parameter as loss.TERM.PARAM=VALUE")
    built = []
    for term in terms:
        impl = _call(term.spec, **params.get(term.name, {}))
        if not (callable(getattr(impl, "d_loss", None)) and callable(getattr(impl, "g_loss", None))):
            raise ComponentError(f"{_who(term.spec)} returned {type(impl).__name__}, which has no d_loss/g_loss "
                                 f"(subclass ganzoo.interfaces.LossTerm)")
        built.append((term, impl))
    return CompositeLoss(built)


def build_dataset(name: str, params: dict[str, Any] | None = None, registry: Registry | None = None) -> Dataset:
    spec = (registry or get_registry()).get("dataset", name)
    params = {k: v for k, v in (params or {}).items() if v is not None}
    ds = _call(spec, **params)
    info = getattr(ds, "info", None)
    if not isinstance(info, DataInfo):
        raise ComponentError(f"{_who(spec)} returned {type(ds).__name__} without a DataInfo 'info'")
    return ds


def build_component(kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """Generic entry used by ``ganzoo.create``."""
    builders = {"generator": build_generator, "discriminator": build_discriminator,
                "loss": build_loss, "dataset": build_dataset}
    if kind not in builders:
        raise UsageError(f"unknown kind {kind!r}", f"choose from {', '.join(builders)}")
    if kind in ("generator", "discriminator") and kwargs and "params" not in kwargs:
        known = {"latent_dim", "registry", "check"}
        kwargs = {**{k: v for k, v in kwargs.items() if k in known},
                  "params": {k: v for k, v in kwargs.items() if k not in known}}
    elif kind in ("loss", "dataset") and kwargs and "params" not in kwargs and "registry" not in kwargs:
        kwargs = {"params": kwargs}
    return builders[kind](name, *args, **kwargs)


__all__ = ["build_generator", "build_discriminator", "build_loss", "build_dataset", "build_component", "LossTerm"]
