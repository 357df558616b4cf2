"""Build components by name (like timm's ``create_model``) and hold them to their contract.

Every failure here is raised at build time, before any training step, and
names the plugin and the component, so a broken third-party plugin is easy
to tell from a bug in ganzoo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from ..base.errors import (EXIT_HINT, PLUGIN_FAULTS, ComponentError, GanzooError, ParamError, UnsupportedDataError,
                           UsageError, describe)
from ..base.specs import KINDS, ComponentSpec, DataInfo
from ..config.lossspec import LossSpec, Term, format_terms, resolve_terms, term_params
from ..plugin.introspect import read_signature
from ..plugin.manager import get_registry
from ..plugin.params import check_params
from ..plugin.registry import Registry
from .contract import (checks_heads, heads_gradient_problem, heads_problem, info_problem, item_problem,
                       model_output_problem, tensors_problem)
from .interfaces import Dataset, LossTerm, forward, forward_heads
from .losses import CompositeLoss


# Any: what a plugin's factory returns is only known once its caller has checked it (an nn.Module, a loss term,
# a dataset, an algorithm: isinstance or the attributes it must have), and each caller does
def _call(spec: ComponentSpec, *args: object, **params: object) -> Any:
    """``params`` checked against the component's declaration, then its factory called."""
    return _construct(spec, args, params, {})


def _construct(spec: ComponentSpec, args: tuple[object, ...], params: Mapping[str, object],
               context: dict[str, object]) -> Any:  # Any: see _call
    """Check ``params``, then call the factory with them and what the builder itself passes (``context``)."""
    try:
        factory = spec.load_factory()
    except PLUGIN_FAULTS as exc:  # sys.exit() at import too: the plugin's failure, not the process's end
        raise ComponentError(f"{spec.who} cannot be imported ({spec.target}): {describe(exc)}", _hint(exc)) from exc
    params = check_params(_declared(spec, factory), params)
    try:
        return factory(*args, **context, **params)
    except (ParamError, UnsupportedDataError) as exc:
        # the user's choice does not fit this component: say which component, as for a parameter
        if not exc.message.startswith(spec.who):
            exc.message = f"{spec.who}: {exc.message}"
            exc.args = (exc.message,)
        raise
    except GanzooError:  # already a one-line message for the user (a missing dataset, say)
        raise
    except PLUGIN_FAULTS as exc:
        raise ComponentError(f"{spec.who} failed to build: {describe(exc)}", _hint(exc)) from exc


def _hint(exc: BaseException) -> str | None:
    return EXIT_HINT if isinstance(exc, SystemExit) else None


def blame(exc: BaseException, registry: Registry) -> ComponentSpec | None:
    """The registered component whose code raised ``exc`` (the innermost frame of its class, else of its module);
    None when no component's code is in the traceback (the error message then says "a plugin")."""
    by_module: dict[str, list[ComponentSpec]] = {}
    for spec in registry.components():
        by_module.setdefault(spec.target.partition(":")[0], []).append(spec)
    found, tb = None, exc.__traceback__
    while tb is not None:
        specs = by_module.get(tb.tb_frame.f_globals.get("__name__", ""), [])
        code = tb.tb_frame.f_code
        owner = getattr(code, "co_qualname", code.co_name).split(".")[0]  # co_qualname: Python 3.11+
        found = next((s for s in specs if s.target.partition(":")[2] == owner), specs[0] if specs else found)
        tb = tb.tb_next
    return found


def _declared(spec: ComponentSpec, factory: object) -> ComponentSpec:
    """``spec``, or where its source could not be read (an extension module, say) the live signature's reading."""
    if not (spec.open_params and not spec.params) or not callable(factory):
        return spec
    live = read_signature(factory)
    return replace(spec, params=live.params, open_params=live.open)


def _require_labels(spec: ComponentSpec, data: DataInfo, dataset_name: str | None = None) -> None:
    if spec.conditional and not data.num_classes:
        where = f"dataset {dataset_name!r}" if dataset_name else "this dataset"
        raise UsageError(f"{spec.kind} {spec.name!r} is conditional but {where} has no class labels",
                         "use an unconditional model, or a labelled dataset such as mnist-10k")


def _probe_labels(data: DataInfo, n: int) -> torch.Tensor | None:
    return torch.arange(n) % data.num_classes if data.num_classes else None


def build_generator(name: str, data: DataInfo, latent_dim: int = 100, params: Mapping[str, object] | None = None,
                    registry: Registry | None = None, check: bool = True, source: DataInfo | None = None) -> nn.Module:
    """Build a generator; with ``check``, hold a probe batch's output to `ganzoo.components.contract` (as the suite does).

    An image-to-image generator (registered ``takes="image"``) translates images of ``source`` (default:
    ``data``) into images of ``data``; it is given ``source=`` instead of ``latent_dim=``.
    """
    spec = (registry or get_registry()).get("generator", name)
    _require_labels(spec, data)
    translates = spec.takes == "image"
    source = source or data
    context: dict[str, object] = {"source": source} if translates else {"latent_dim": latent_dim}
    model = _construct(spec, (data,), params or {}, context)
    if not isinstance(model, nn.Module):
        raise ComponentError(f"{spec.who} returned {type(model).__name__}, not a torch.nn.Module")
    if check:
        probe_gen = torch.Generator().manual_seed(0)
        x = (torch.rand(2, *source.shape, generator=probe_gen) * 2 - 1 if translates
             else torch.randn(2, latent_dim, generator=probe_gen))
        labels = _probe_labels(data, 2) if spec.conditional else None
        problem = (model_output_problem("generator", _probe(spec, model, x, labels), data, 2)
                   or _heads_problem(spec, "generator", model, x, labels, data))
        if problem:
            raise ComponentError(f"{spec.who}: {problem}" + ("" if translates else f" (latent_dim={latent_dim})"))
    return model


def build_discriminator(name: str, data: DataInfo, params: Mapping[str, object] | None = None,
                        registry: Registry | None = None, check: bool = True) -> nn.Module:
    """Build a discriminator; with ``check``, its probe scores must have shape (N,) (a patch discriminator's
    (N, 1, h, w)) and be finite, and a discriminator with heads is held to the heads contract (see
    `_heads_problem`)."""
    spec = (registry or get_registry()).get("discriminator", name)
    _require_labels(spec, data)
    model = _call(spec, data, **(params or {}))
    if not isinstance(model, nn.Module):
        raise ComponentError(f"{spec.who} returned {type(model).__name__}, not a torch.nn.Module")
    if check:
        x = torch.zeros(2, *data.shape)
        kind = "patch-discriminator" if "patch" in spec.scores else "discriminator"
        labels = _probe_labels(data, 2) if spec.conditional else None
        problem = model_output_problem(kind, _probe(spec, model, x, labels), data, 2)
        if not problem and checks_heads(model, spec.heads):
            # zeros (the scores' probe) give ReLU trunks no gradient to speak of: the heads get a seeded draw
            noise = torch.rand(2, *data.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
            problem = _heads_problem(spec, kind, model, noise, labels, data)
        if problem:
            raise ComponentError(f"{spec.who}: {problem}")
    return model


def _probe(spec: ComponentSpec, model: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> object:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return forward(model, x, labels)
    except PLUGIN_FAULTS as exc:
        raise ComponentError(f"{spec.who} failed on a probe batch of shape {tuple(x.shape)}: {describe(exc)}",
                             _hint(exc)) from exc
    finally:
        model.train(was_training)


def _heads_problem(spec: ComponentSpec, kind: str, model: nn.Module, x: torch.Tensor,
                   labels: torch.Tensor | None, data: DataInfo) -> str | None:
    """`ganzoo.components.contract`'s heads checks on a probe batch, for a model that declares heads or defines
    ``forward_heads`` (None for any other, every built-in: nothing more is run).

    In eval mode, as `_probe`: ``forward_heads`` returns exactly the declared heads, its ``"main"`` what forward
    returns; with heads declared, one backward per output checks that each head gets gradient of its own and
    every parameter gets some (`torch.autograd.grad`: no ``.grad`` is left behind on the model).
    """
    if not checks_heads(model, spec.heads):
        return None
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            reference = forward(model, x, labels)
            problem = heads_problem(kind, spec.heads, forward_heads(model, x, labels), data, len(x),
                                    reference=reference)
        # parameters made under inference_mode cannot take part in autograd: the structure is all there is to check
        if problem or not spec.heads or torch.is_inference_mode_enabled():
            return problem
        with torch.enable_grad():
            probe = x.clone().requires_grad_(True)
            outputs = forward_heads(model, probe, labels)
            return heads_gradient_problem(kind, model, outputs, probe, spec.heads)
    except PLUGIN_FAULTS as exc:
        raise ComponentError(f"{spec.who} failed in forward_heads on a probe batch of shape {tuple(x.shape)}: "
                             f"{describe(exc)}", _hint(exc)) from exc
    finally:
        model.train(was_training)


def build_loss(spec: str | LossSpec | Sequence[Term], params: Mapping[str, object] | None = None,
               registry: Registry | None = None) -> CompositeLoss:
    """A loss spec built into one `CompositeLoss`: its text, the parsed `LossSpec`, or the resolved
    terms `ganzoo.training.composition.lookup` gives (nothing is parsed or looked up again then).
    ``params`` maps a term name to that term's keyword parameters."""
    if isinstance(spec, str):
        spec = LossSpec.parse(spec)
    if isinstance(spec, LossSpec):
        terms, text = resolve_terms(spec, registry or get_registry()), spec.text
    else:
        terms = tuple(spec)
        text = format_terms(terms)
    tables = term_params(terms, params or {}, text)
    built = []
    for term in terms:
        impl = _call(term.spec, **tables[term.name])
        # the base class declares every trait a term may set (n_critic, modalities, lazy, state, ...) with its
        # default, so what reads a built term reads them as attributes, never through getattr and a default
        if not isinstance(impl, LossTerm):
            raise ComponentError(f"{term.spec.who} returned {type(impl).__name__}, which is not a loss term "
                                 f"(subclass ganzoo.interfaces.LossTerm)")
        built.append((term, impl))
    return CompositeLoss(built)


def build_dataset(name: str, params: Mapping[str, object] | None = None, registry: Registry | None = None,
                  check: bool = True) -> Dataset:
    """Build a dataset; with ``check``, its info and data are held to `ganzoo.components.contract` (as the suite does).

    An in-memory dataset's ``tensors()`` is read whole (it is what the trainer
    holds anyway); a streaming one's first item is read.
    """
    spec = (registry or get_registry()).get("dataset", name)
    params = {k: v for k, v in (params or {}).items() if v is not None}
    ds = _call(spec, **params)
    # as for loss terms: the base class declares `streaming` with its default, so it is read as an attribute
    if not isinstance(ds, Dataset):
        raise ComponentError(f"{spec.who} returned {type(ds).__name__}, which is not a dataset "
                             f"(subclass ganzoo.interfaces.Dataset)")
    info = getattr(ds, "info", None)  # declared without a default: a dataset that set none is refused here
    if not isinstance(info, DataInfo):
        raise ComponentError(f"{spec.who} returned {type(ds).__name__} without a DataInfo 'info'")
    if check:
        problem = info_problem(info) or _data_problem(spec, ds, info)
        if problem:
            raise ComponentError(f"{spec.who}: {problem}", "see the Dataset contract in docs/plugins.md")
    return ds


def _data_problem(spec: ComponentSpec, ds: Dataset, info: DataInfo) -> str | None:
    try:
        if ds.streaming:
            try:
                first = ds.torch_dataset()[0]
            except IndexError:
                return f"torch_dataset() is empty, but info.size is {info.size}"
            return item_problem(info, first)
        x, labels = ds.tensors()
    except GanzooError:
        raise
    except PLUGIN_FAULTS as exc:
        raise ComponentError(f"{spec.who} failed to give its data: {describe(exc)}", _hint(exc)) from exc
    return tensors_problem(info, x, labels)


def build_component(kind: str, name: str, *, data: DataInfo | Dataset | None = None,
                    registry: Registry | None = None,
                    **params: Any) -> nn.Module | CompositeLoss | Dataset:
    """One component by kind and name: what `ganzoo.create` does (see docs/api.md)."""
    # params Any: the component's own keywords (checked against its declaration when it is built), and for a
    # generator the builder's latent_dim and source, handed on as the caller gave them
    if kind not in KINDS:
        hint = "a recipe is trained, not built: ganzoo run RECIPE" if kind == "recipe" else \
            f"choose from {', '.join(KINDS)}"
        raise UsageError(f"unknown kind {kind!r}", hint)
    if kind == "algorithm":
        (registry or get_registry()).get("algorithm", name)  # an unknown name says so first
        raise UsageError(f"algorithm {name!r} is built by the trainer from a whole run",
                         f"ganzoo.train(...) or ganzoo run --algo {name}")
    if kind in ("generator", "discriminator"):
        info = data if isinstance(data, DataInfo) else getattr(data, "info", None)
        if not isinstance(info, DataInfo):
            raise UsageError(f"a {kind} is sized from its data: pass data= a DataInfo or a dataset",
                             f"for example ganzoo.create({kind!r}, {name!r}, data=ganzoo.create('dataset', "
                             f"'gaussians'))")
        if kind == "generator":
            latent_dim = params.pop("latent_dim", 100)
            source = params.pop("source", None)
            return build_generator(name, info, latent_dim, params, registry, source=source)
        return build_discriminator(name, info, params, registry)
    if data is not None:
        raise UsageError(f"a {kind} takes no data=", "pass only its name and parameters")
    if kind == "loss":
        spec = LossSpec.parse(name)
        if len(spec.terms) == 1:  # one term: its parameters directly, as create("loss", "wgan-gp", gp_weight=5)
            return build_loss(spec, {spec.names[0]: params} if params else {}, registry)
        return build_loss(spec, params, registry)  # several: one table per term, as r1={"gamma": 5}
    return build_dataset(name, params, registry)


__all__ = ["build_generator", "build_discriminator", "build_loss", "build_dataset", "build_component", "LossTerm"]
