"""ganzoo: a plugin-based zoo of generative adversarial networks for PyTorch.

The package root stays import-light (no torch) so that the command line and
plugin discovery start fast; `ganzoo.build`, `ganzoo.trainer` and
`ganzoo.interfaces` bring torch in when a component is actually built.
"""

from __future__ import annotations

from .hookspecs import hookimpl
from .plugin_manager import PLUGIN_API, get_registry

__version__ = "0.1.0"
__all__ = ["hookimpl", "get_registry", "PLUGIN_API", "__version__", "list_components", "create"]


def list_components(kind: str | None = None, pattern: str = "*") -> list[str]:
    """Names of the registered components of ``kind`` (all kinds when None), like timm's list_models."""
    import fnmatch

    reg = get_registry()
    if kind == "recipe":
        names = reg.names("recipe")
    else:
        names = sorted({s.name for s in reg.components(kind)})
    return [n for n in names if fnmatch.fnmatch(n, pattern)]


def create(kind: str, name: str, *args, **kwargs):
    """Build a registered component by kind and name, like timm's create_model."""
    from .build import build_component

    return build_component(kind, name, *args, **kwargs)
