"""Conformance checks for training algorithms: a few real steps through the shared trainer.

An algorithm is checked the way the trainer uses it: built from a run
config (a registered recipe that names it, or the ``config`` given), trained
for three steps on the CPU, then trained again and interrupted after two steps
(as Ctrl-C would), then resumed for the third. The checks: the factory gives an `Algorithm` with a
"generator" module and optimizers; every step's values are finite 0-dim
tensors named as the trainer logs them; a grid is written; and the resumed
run ends bit for bit where the straight run did (modules, optimizers and the
algorithm's own `state`).
"""

from __future__ import annotations

import copy
import signal
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import DataError, GanzooError
from ._common import Report, fail, lookup, new_report


def _recipes_for(name: str, registry: Any) -> list[dict[str, Any]]:
    """Configs of the registered recipes that train with algorithm ``name`` (the default one: those naming none)."""
    found = []
    for recipe in registry.recipes():
        algo = (recipe.config.get("algo") or {}).get("name") or registry.default_algorithm
        if algo == name:
            found.append({**copy.deepcopy(recipe.config), "recipe": recipe.name})
    return found


def _tiny(config: dict[str, Any], out: Path, steps: int, batch_size: int) -> dict[str, Any]:
    config = {k: v for k, v in config.items() if k not in ("doc", "summary")}
    train = {k: v for k, v in config.get("train", {}).items() if k not in ("epochs", "steps")}
    train.update(steps=steps, batch_size=batch_size, device="cpu", amp=False, compile=False, log_every=1,
                 sample_every=steps, checkpoint_every=steps, eval_every=0, ema=train.get("ema", 0.0))
    return {**config, "train": train, "out": str(out)}


def check_algorithm(name: str, config: dict[str, Any] | None = None, *, batch_size: int = 4,
                    registry: Any = None) -> Report:
    """Check algorithm ``name``; ``config``: the run config to check it with, positional or keyword (default: a
    recipe naming it, the first whose data is on disk)."""
    from ..plugin_manager import get_registry

    registry = registry or get_registry()
    spec = lookup("algorithm", name, registry)
    report = new_report(spec)
    candidates = [config] if config is not None else _recipes_for(name, registry)
    if not candidates:
        report.skipped = (f"no recipe trains with algorithm {name!r}; pass config= a run config for it "
                          f"(algo, gen, disc, loss, dataset tables)")
        return report
    for base in candidates:
        base = {**base, "algo": {**(base.get("algo") or {}), "name": name}}
        with tempfile.TemporaryDirectory() as tmp:
            try:
                return _check_run(spec, base, Path(tmp), batch_size, registry, report)
            except DataError as exc:  # this recipe's data is not on disk: try the next
                report.unsupported[()] = str(exc)
            except GanzooError as exc:
                raise fail(spec, f"a run of {base.get('recipe') or 'the given config'!r} failed: {exc}") from exc
    report.skipped = "; ".join(report.unsupported.values())
    return report


def _check_run(spec: Any, base: dict[str, Any], tmp: Path, batch_size: int, registry: Any, report: Report) -> Report:
    from ..checkpoint import load
    from ..trainer import Trainer, TrainingInterrupted

    seen: list[dict[str, torch.Tensor]] = []

    def trainer(out: str, steps: int, resume: bool = False, stop_after: int | None = None) -> Trainer:
        def before(step: int) -> None:  # interrupted as Ctrl-C would: after this step, with a checkpoint
            if step == stop_after:
                t._request_stop(signal.SIGINT)

        t = Trainer(_tiny(base, tmp / out, steps, batch_size), progress="quiet", registry=registry,
                    handle_signals=False, resume=resume, before_step=before)
        return t

    straight = trainer("straight", 3)
    result = _fit_watching(straight, seen)
    algo = straight.parts.algorithm
    if "generator" not in algo.modules or not algo.optimizers:
        raise fail(spec, "keeps no 'generator' module or no optimizers")
    report.passed("modules and optimizers")
    for values in seen:
        if not isinstance(values, dict) or not values:
            raise fail(spec, f"step returned {type(values).__name__}, not a dict of scalars")
        for key, v in values.items():
            if not (isinstance(v, torch.Tensor) and v.dim() == 0 and bool(torch.isfinite(v))):
                raise fail(spec, f"step value {key!r} is not a finite 0-dim tensor: {v!r}")
    report.passed("finite step values")
    if result.last_grid is None or not Path(result.last_grid).exists():
        raise fail(spec, "wrote no grid (Algorithm.grid)")
    report.passed("grid")
    try:
        trainer("resumed", 3, stop_after=2).fit()
    except TrainingInterrupted:
        pass
    trainer("resumed", 3, resume=True).fit()
    a, b = load(tmp / "straight" / "checkpoints" / "latest.safetensors"), load(
        tmp / "resumed" / "checkpoints" / "latest.safetensors")
    differ = sorted(k for k in a.tensors if k not in b.tensors or not torch.equal(a.tensors[k], b.tensors[k]))
    if differ:
        raise fail(spec, f"a run resumed at step 2 is not bit-identical at step 3 to one that ran straight "
                         f"({', '.join(differ[:4])}{' ...' if len(differ) > 4 else ''}); save what a resume needs "
                         f"in Algorithm.state")
    report.passed("bit-exact resume")
    _check_read_back(spec, tmp / "straight", registry)
    report.passed("read back: sample and export")
    report.supported.append(tuple(straight.parts.info.shape))
    return report


def _check_read_back(spec: Any, run: Path, registry: Any) -> None:
    """The run read back by the algorithm's reader (`register.algorithm(..., trained=...)`) draws what
    `ganzoo sample` writes, and its pretrained export reads back to the same drawing."""
    from ..errors import GanzooError
    from ..pretrained import export
    from ..trained import Drawing, load

    def drawn(target: Path) -> Drawing:
        loaded = load(target, registry=registry)
        drawing = loaded.draw(None, 0, {})
        if not isinstance(drawing, Drawing) or not drawing.tensors or drawing.count < 1:
            raise fail(spec, f"its reader's draw returned {type(drawing).__name__}, not a Drawing with tensors")
        return drawing

    try:
        first = drawn(run)
        export(run / "checkpoints" / "latest.safetensors", run / "exported.safetensors", name="check")
        again = drawn(run / "exported.safetensors")
    except GanzooError as exc:
        raise fail(spec, f"its run cannot be read back: {exc}") from exc
    if set(first.tensors) != set(again.tensors) or any(
            first.tensors[k].shape != again.tensors[k].shape for k in first.tensors):
        raise fail(spec, "its pretrained export draws other tensors than its run (Trained.shipped keeps too little?)")


def _fit_watching(trainer: Any, seen: list[dict[str, torch.Tensor]]) -> Any:
    """Fit, recording what every `Algorithm.step` returns (the step is wrapped once the trainer built it)."""
    build = trainer._build

    def build_and_watch() -> None:
        build()
        algo = trainer.parts.algorithm
        step = algo.step

        def watched(*args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
            values = step(*args, **kwargs)
            seen.append(values)
            return values

        algo.step = watched

    trainer._build = build_and_watch
    return trainer.fit()
