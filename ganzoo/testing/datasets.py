"""Conformance checks for datasets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..base.errors import PLUGIN_FAULTS, DataError, GanzooError
from ..base.specs import ComponentSpec
from ..components.contract import info_problem, item_problem, tensors_problem
from ._common import Report, error_text, fail, lookup, new_report, who

if TYPE_CHECKING:  # pragma: no cover
    from ..plugin.registry import Registry


def _check(spec: ComponentSpec, problem: str | None) -> None:
    if problem:
        raise fail(spec, problem)


def check_dataset(name: str, params: Mapping[str, object] | None = None, *, items: int = 4,
                  registry: Registry | None = None) -> Report:
    """Check a registered dataset against ganzoo's contract.

    It is built through ``ganzoo.components.build.build_dataset`` with ``params``; a
    ``DataError`` (files absent, no network) marks the report skipped rather
    than failed. ``info`` must be a consistent ``DataInfo``; an in-memory
    dataset's ``tensors()`` must give ``info.size`` samples of ``info.shape``
    (uint8 images, as the Dataset interface says, or finite float points) and int64 labels in
    [0, num_classes) exactly when ``num_classes`` is set; ``torch_dataset()``
    must give ``(x, label)`` items in model range (its first ``items`` are
    read). These are the checks `ganzoo.components.build` makes before training
    (`ganzoo.components.contract`). Raises ``ConformanceError``.
    """
    from ..components.build import build_dataset

    spec = lookup("dataset", name, registry)
    report = new_report(spec)
    try:
        ds = build_dataset(name, params, registry, check=False)  # checked below, one finding at a time
    except DataError as exc:
        report.skipped = f"its data is not available here: {exc}"
        return report
    except GanzooError as exc:
        raise fail(spec, f"ganzoo.components.build rejected it: {str(exc).removeprefix(who(spec)).lstrip(': ')}") from exc
    info = ds.info
    _check(spec, info_problem(info))
    report.passed("info")
    if not ds.streaming:
        try:
            x, labels = ds.tensors()
        except PLUGIN_FAULTS as exc:
            raise fail(spec, f"tensors() raised {error_text(exc)} (set streaming = True if it cannot hold its "
                       f"data in memory)") from exc
        _check(spec, tensors_problem(info, x, labels))
        report.passed("tensors")
    try:
        tds = ds.torch_dataset()
        size = len(tds)  # type: ignore[arg-type]  # a map-style dataset has a length; not in its type
        batch = [tds[i] for i in range(min(items, size))]
    except PLUGIN_FAULTS as exc:
        raise fail(spec, f"torch_dataset() failed: {error_text(exc)}") from exc
    if size != info.size:
        raise fail(spec, f"torch_dataset() has {size} items but info.size is {info.size}")
    for item in batch:
        _check(spec, item_problem(info, item))
    report.passed("torch_dataset")
    report.supported.append(info.shape)
    return report
