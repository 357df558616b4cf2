"""One entry point for every kind (`check_component`), and pytest parametrization over the registry."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..base.errors import GanzooError
from ..base.specs import KINDS, PluginInfo
from ._common import ConformanceError, Report

if TYPE_CHECKING:  # pragma: no cover
    import pytest

    from ..plugin.registry import Registry

KINDS_AND_RECIPES = KINDS + ("recipe",)


def components(kind: str | None = None, *, dist: str | None = None, plugin: str | None = None,
               registry: Registry | None = None) -> list[tuple[str, str]]:
    """``(kind, name)`` of every registered component (and recipe) matching the filters; torch-free.

    ``kind``: one of generator, discriminator, loss, dataset, algorithm, logger, metric, recipe (None: all).
    ``dist``: only those from this distribution (e.g. ``"ganzoo-example-plugin"``).
    ``plugin``: only those from this entry-point name.
    """
    from ..plugin.manager import get_registry

    if kind is not None and kind not in KINDS_AND_RECIPES:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS_AND_RECIPES)}")
    registry = registry or get_registry()

    def keep(info: PluginInfo | None) -> bool:
        if dist is not None and (info is None or info.dist != dist):
            return False
        return plugin is None or (info is not None and info.name == plugin)

    pairs = [(s.kind, s.name) for s in registry.components(None if kind == "recipe" else kind) if keep(s.plugin)]
    if kind in (None, "recipe"):
        pairs += [("recipe", r.name) for r in registry.recipes() if keep(r.plugin)]
    return pairs


def parametrize_components(kind: str | None = None, *, dist: str | None = None, plugin: str | None = None,
                           registry: Registry | None = None) -> pytest.MarkDecorator:
    """A ``pytest.mark.parametrize("kind, name", ...)`` over `components`, with ids like ``generator-dcgan``.

    With ``dist`` or ``plugin`` given and nothing found, it raises at
    collection time: the plugin is probably not installed (``pip install -e .``).
    """
    import pytest

    pairs = components(kind, dist=dist, plugin=plugin, registry=registry)
    if not pairs and (dist or plugin):
        raise ConformanceError(f"no {kind or 'component'} is registered by "
                               f"{'distribution ' + repr(dist) if dist else 'plugin ' + repr(plugin)}; is it "
                               f"installed (pip install -e .)? `ganzoo plugins` shows what loaded and what failed")
    return pytest.mark.parametrize(("kind", "name"), pairs, ids=[f"{k}-{n}" for k, n in pairs])


def check_recipe(name: str, *, registry: Registry | None = None) -> Report:
    """A recipe's components must all be registered and its loss spec must parse (torch-free)."""
    from ..config.lossspec import parse_loss_spec
    from ..plugin.manager import get_registry

    registry = registry or get_registry()
    try:
        recipe = registry.recipe(name)
    except GanzooError as exc:
        raise ConformanceError(str(exc)) from None
    where = f"recipe {name!r} ({recipe.source})"
    gen = recipe.component("gen")
    wanted = [("generator", gen), ("discriminator", recipe.component("disc") or gen),
              ("dataset", recipe.component("dataset"))]
    for kind, component in wanted:
        if not component or not registry.has(kind, component):
            raise ConformanceError(f"{where} names {kind} {component!r}, which is not registered")
    try:
        parse_loss_spec(recipe.component("loss") or "", registry)
    except GanzooError as exc:
        raise ConformanceError(f"{where}: {exc}") from None
    plugin = recipe.plugin.label if recipe.plugin else "user"
    return Report("recipe", name, plugin, checks=["components registered", "loss spec parses"])


def check_component(kind: str, name: str, **kwargs: object) -> Report:
    """Run the check for ``kind`` (`check_generator`, `check_loss`, ...) on ``name``.

    Keyword arguments go to that check. Under pytest a report that had to be
    skipped (a dataset whose files are absent) becomes ``pytest.skip``.
    """
    from .algorithms import check_algorithm
    from .datasets import check_dataset
    from .loggers import check_logger
    from .losses import check_loss
    from .metrics import check_metric
    from .models import check_discriminator, check_generator

    checks: dict[str, Callable[..., Report]] = {
        "generator": check_generator, "discriminator": check_discriminator, "loss": check_loss,
        "dataset": check_dataset, "algorithm": check_algorithm, "logger": check_logger, "metric": check_metric,
        "recipe": check_recipe}
    if kind not in checks:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(checks)}")
    report = checks[kind](name, **kwargs)
    if report.skipped and "pytest" in sys.modules:
        import pytest

        pytest.skip(str(report))
    return report
