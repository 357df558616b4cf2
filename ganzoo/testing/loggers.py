"""Conformance checks for loggers (experiment trackers)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..base.errors import PLUGIN_FAULTS, GanzooError
from ._common import Report, error_text, fail, lookup, new_report

if TYPE_CHECKING:  # pragma: no cover
    from ..plugin.registry import Registry

#: what a run tells a logger, in the shapes it tells it (see `ganzoo.loggers.Logger`)
CONFIG: dict[str, object] = {
    "gen": {"name": "dcgan", "ngf": 32}, "disc": {"name": "dcgan"}, "loss": {"name": "hinge+10*r1", "r1": {"gamma": 1.0}},
    "dataset": {"name": "mnist-10k"},
    "train": {"steps": 2, "batch_size": 8, "lr": 2e-4, "betas": [0.5, 0.999], "lr_d": None, "amp": True,
              "device": "cpu", "eval_every": 2, "loggers": ["x"]},
}
META: dict[str, object] = {"ganzoo_version": "0", "recipe": None, "world_size": 1, "device": "cpu",
                        "data": {"shape": [1, 28, 28], "size": 10000, "modality": "image"}, "start_step": 0}


def check_logger(name: str, *, registry: Registry | None = None) -> Report:
    """Check a registered logger: built with a run folder, it takes a whole (short) run's calls.

    Its factory is called with a fresh temporary run folder; a ganzoo error from it (an optional
    package that is not installed: its message says which) marks the report skipped. The object
    must have the `ganzoo.loggers.Logger` methods, and ``start``, ``scalars``, ``image`` (a PNG
    grid), ``evaluation`` and ``close("finished")`` must each return without raising. Raises
    ``ConformanceError``.
    """
    from PIL import Image

    spec = lookup("logger", name, registry)
    report = new_report(spec)
    try:
        factory = spec.load_factory()
    except PLUGIN_FAULTS as exc:
        raise fail(spec, f"its factory {spec.target} cannot be imported: {error_text(exc)}") from exc
    with tempfile.TemporaryDirectory(prefix="ganzoo-logger-") as tmp:
        run_dir = Path(tmp) / "run"
        run_dir.mkdir()
        try:
            logger = factory(run_dir)
        except GanzooError as exc:
            report.skipped = str(exc)
            return report
        except PLUGIN_FAULTS as exc:
            raise fail(spec, f"factory raised {error_text(exc)}") from exc
        missing = [m for m in ("start", "scalars", "image", "evaluation", "close")
                   if not callable(getattr(logger, m, None))]
        if missing:
            raise fail(spec, f"factory returned {type(logger).__name__}, which has no {', '.join(missing)} "
                             f"(subclass ganzoo.loggers.Logger)")
        report.passed("builds")
        grid = run_dir / "samples" / "step-000002.png"
        grid.parent.mkdir()
        Image.new("L", (62, 62), 128).save(grid)
        calls: list[tuple[str, tuple[object, ...]]] = [
            ("start", (CONFIG, META)),
            ("scalars", (1, {"d_loss": 1.2, "g_loss": 0.7, "d/hinge": 1.1, "images_per_sec": 900.0, "epoch": 1.0})),
            ("scalars", (2, {"d_loss": 1.1, "g_loss": 0.8, "d/hinge": 1.0, "images_per_sec": 950.0, "epoch": 1.0})),
            ("image", ("samples", 2, grid)),
            ("evaluation", (2, {"fd": 12.5, "precision": 0.6, "recall": 0.4})),
            ("close", ("finished",)),
        ]
        for method, args in calls:
            try:
                getattr(logger, method)(*args)
            except PLUGIN_FAULTS as exc:
                raise fail(spec, f"{method}() raised {error_text(exc)}") from exc
            report.passed(method)
    return report
