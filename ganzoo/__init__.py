"""ganzoo: a plugin-based zoo of generative adversarial networks for PyTorch.

The package root stays import-light (no torch) so that the command line and
plugin discovery start fast; `create` (like timm's ``create_model``) and the
modules it uses bring torch in when a component is actually built. The
Python API is described in docs/api.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

from .base.version import __version__
from .plugin.hookspecs import hookimpl
from .plugin.manager import PLUGIN_API, get_registry

if TYPE_CHECKING:
    from torch import nn

    from .api import evaluate, load, open_run, train  # lazy at run time: see __getattr__

    from .base.specs import DataInfo
    from .components.interfaces import Dataset
    from .components.losses import CompositeLoss

__all__ = ["hookimpl", "get_registry", "PLUGIN_API", "__version__", "list_components", "create", "train", "load",
           "evaluate", "open_run"]


def list_components(kind: str | None = None, pattern: str = "*") -> list[str]:
    """Sorted names of the registered components of ``kind`` matching the glob ``pattern``.

    ``kind`` is generator, discriminator, loss, dataset or recipe; None: every
    component (a name that is both a generator and a discriminator once;
    recipes only when asked for). Like timm's ``list_models``. Torch-free.
    """
    import fnmatch

    from .base.errors import UsageError
    from .base.specs import ALL_KINDS

    if kind is not None and kind not in ALL_KINDS:
        raise UsageError(f"unknown kind {kind!r}", f"choose from {', '.join(ALL_KINDS)}")
    if not isinstance(pattern, str):
        raise UsageError(f"pattern must be a glob such as 'dc*', not {pattern!r}")
    reg = get_registry()
    names = reg.names("recipe") if kind == "recipe" else sorted({s.name for s in reg.components(kind)})
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


@overload
def create(kind: Literal["generator", "discriminator"], name: str, *, data: DataInfo | Dataset,
           **params: object) -> nn.Module: ...
@overload
def create(kind: Literal["loss"], name: str, *, data: None = None, **params: object) -> CompositeLoss: ...
@overload
def create(kind: Literal["dataset"], name: str, *, data: None = None, **params: object) -> Dataset: ...
@overload
def create(kind: str, name: str, *, data: DataInfo | Dataset | None = None,
           **params: object) -> nn.Module | CompositeLoss | Dataset: ...


# params: handed on to build_component as given, which may hold its own keywords (registry=)
def create(kind: str, name: str, *, data: DataInfo | Dataset | None = None,
           **params: Any) -> nn.Module | CompositeLoss | Dataset:
    """Build a registered component by kind and name, like timm's ``create_model``.

    - ``create("generator", "dcgan", data=info, latent_dim=64, ngf=32)``: an ``nn.Module``;
      ``data`` is a `ganzoo.specs.DataInfo` or a dataset (its ``.info``); the same for a discriminator.
    - ``create("loss", "wgan-gp", gp_weight=5)``: a `ganzoo.losses.CompositeLoss`; ``name`` is any
      loss spec; with several terms, each term's parameters are one keyword: ``r1={"gamma": 5}``.
    - ``create("dataset", "gaussians", num_modes=8)``: a `ganzoo.interfaces.Dataset`.

    Parameters are checked against the component's declaration (`ganzoo info NAME` lists them);
    every mistake is a `ganzoo.errors.GanzooError` with a one-line message.
    """
    from .base.errors import UsageError

    if not isinstance(name, str):  # a kind that is not a string is an unknown kind, said by build_component
        raise UsageError(f"name must be a component's name (or a loss spec), not {name!r} ({type(name).__name__})")
    from .components.build import build_component

    return build_component(kind, name, data=data, **params)


# Training, loading and scoring live in `ganzoo.api`, imported on first use (PEP 562) so that the package root
# stays light, as `create` does; the functions keep their own signatures and help.
_API = ("train", "load", "evaluate", "open_run")


def __getattr__(name: str) -> Callable[..., object]:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
