"""Experiment trackers, the ``logger`` plugin kind: what a run reports beside its own metrics.jsonl.

A logger is registered like any component (``register.logger(name, "module:Class")``) and chosen
per run with ``ganzoo run --logger NAME`` (repeatable; ``train.loggers`` in a config). Its factory
is called as ``factory(run_dir)`` when the run opens its folder, and the object it returns (a
`Logger`) is told about the run as it goes: its config at the start, the scalars of each metrics
line, each sample grid, each evaluation, and the end.

metrics.jsonl is not a logger of this kind: it is the run's own record (``--resume`` cuts it back,
``ganzoo plot`` and ``compare`` read it), always written, and a failed write of it stops the run
(a WriteError) instead of being switched off.

The core talks to loggers through a `LoggerSet`, and only on rank 0 (it lives in
`ganzoo.training.outputs.Outputs`). The set isolates them: a logger whose factory or method raises (or
calls ``sys.exit()``) is reported once, in one line on stderr naming it and its plugin, and left
out for the rest of the run; the run goes on. A KeyboardInterrupt inside one is the user's Ctrl-C:
the run stops at the end of the step and writes its checkpoint, as for a Ctrl-C between steps. Loggers are called where the trainer reads its losses anyway (every
``train.log_every`` steps), never inside a training step.

Torch-free: `check_loggers` is what the torch-free composition step calls, so that
``--logger nosuch`` fails at once with a suggestion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import PLUGIN_FAULTS, GanzooError, describe
from ..base.specs import ComponentSpec
from ..plugin.registry import Registry

__all__ = ["Logger", "LoggerSet", "check_loggers", "STATUSES"]

#: how a run can end, as `Logger.close` is told
STATUSES = ("finished", "interrupted", "failed")


class Logger:
    """Base class of an experiment tracker. Override the methods you need; each does nothing here.

    Every method is called on rank 0 only, from the training loop's thread, at log steps, grids and
    evaluations: keep them quick (hand slow uploads to a thread of your own, as wandb and TensorBoard's
    writer do). Whatever a method raises (``sys.exit()`` too) is caught, reported once and the logger switched off.
    """

    def start(self, config: dict[str, object], meta: dict[str, object]) -> None:
        """The run starts. ``config``: its tables as config.toml holds them (``gen``, ``disc``, ``loss``,
        ``dataset``, ``train``, ...); ``meta``: config.toml's ``[meta]`` (versions, device, data, the
        components and their plugins) plus ``start_step``: 0, or the checkpoint's step when resumed."""

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """One metrics line: ``d_loss``, ``g_loss``, each term (``d/bce``, ...), ``images_per_sec``, ``epoch``..."""

    def image(self, tag: str, step: int, path: Path) -> None:
        """A sample grid was written to ``path`` (a PNG in the run's samples/ folder)."""

    def evaluation(self, step: int, values: dict[str, float]) -> None:
        """An evaluation during training (``train.eval_every``): ``fd``, ``precision``, ``recall``, ..."""

    def close(self, status: str) -> None:
        """The run ends: ``status`` is "finished", "interrupted" (Ctrl-C, SIGTERM) or "failed"."""


def check_loggers(names: Iterable[str], registry: Registry) -> tuple[ComponentSpec, ...]:
    """The registered loggers ``names`` stand for, in order, each once (an alias and its name are one).

    UnknownNameError (exit 2, with a suggestion) for a name no plugin registers. Torch-free.
    """
    specs: dict[tuple[str, str], ComponentSpec] = {}
    for name in names:
        spec = registry.get("logger", name)
        specs.setdefault((spec.plugin.name, spec.name), spec)
    return tuple(specs.values())


def numbers(values: Mapping[str, object], skip: Iterable[str] = ()) -> dict[str, float]:
    """The finite numbers of a metrics row (bools, strings, tables and ``skip`` left out), as floats."""
    left_out = set(skip)
    return {k: float(v) for k, v in values.items()
            if k not in left_out and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def _warn(line: str) -> None:
    from ..base.console import err_console

    err_console.print(line, highlight=False, soft_wrap=True, markup=False)


@dataclass
class _Member:
    spec: ComponentSpec
    logger: Logger


class LoggerSet:
    """The loggers of one run, as the core calls them: each call goes to every logger still on.

    Built with `open`. ``warn`` prints one line (stderr by default); it is called once per logger
    that fails, which is then dropped.
    """

    def __init__(self, members: Iterable[tuple[ComponentSpec, Logger]] = (), warn: Callable[[str], None] = _warn):
        self._members = [_Member(spec, logger) for spec, logger in members]
        self._warn = warn
        #: what a KeyboardInterrupt inside a logger calls (the trainer's stop request, so that the run ends with a
        #: checkpoint as for a Ctrl-C between steps); None: it is raised on
        self.on_interrupt: Callable[[], None] | None = None
        self.failed: list[str] = []  # the names of the loggers switched off

    @classmethod
    def open(cls, specs: Iterable[ComponentSpec], run_dir: Path, config: dict[str, object], meta: dict[str, object],
             warn: Callable[[str], None] = _warn, on_interrupt: Callable[[], None] | None = None) -> LoggerSet:
        """Build each logger (``factory(run_dir)``) and start it; one that fails to is reported and left out."""
        found = cls(warn=warn)
        found.on_interrupt = on_interrupt
        for spec in specs:
            try:
                logger = spec.load_factory()(run_dir)
            except PLUGIN_FAULTS as exc:  # a logger never stops the run (sys.exit() neither): left out, and said so
                found._report(spec, "start", exc)
                continue
            except KeyboardInterrupt:  # the user's Ctrl-C: the run stops, as for one between steps
                found._interrupted()
                continue
            found._members.append(_Member(spec, logger))
        found._call("start", config, meta)
        return found

    @property
    def names(self) -> list[str]:
        """The loggers still on."""
        return [m.spec.name for m in self._members]

    def __bool__(self) -> bool:
        return bool(self._members)

    def scalars(self, step: int, values: Mapping[str, object]) -> None:
        """A metrics row: its numbers (not ``step``) go to every logger."""
        if self._members:
            self._call("scalars", step, numbers(values, skip=("step",)))

    def image(self, tag: str, step: int, path: Path) -> None:
        self._call("image", tag, step, path)

    def evaluation(self, step: int, values: Mapping[str, object]) -> None:
        """An evaluation's numbers (its ``eval`` table)."""
        if self._members:
            self._call("evaluation", step, numbers(values))

    def close(self, status: str) -> None:
        """Tell every logger the run ended; after this the set is empty."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        self._call("close", status)
        self._members = []

    def _call(self, method: str, *args: object) -> None:
        for member in list(self._members):
            try:
                getattr(member.logger, method)(*args)
            except PLUGIN_FAULTS as exc:  # a logger never stops the run (sys.exit() neither): switched off, said so
                self._members.remove(member)
                self._report(member.spec, method, exc)
                if method != "close":
                    self._close_quietly(member)
            except KeyboardInterrupt:  # the user's Ctrl-C: the run stops at the end of this step, checkpointed
                self._interrupted()

    def _interrupted(self) -> None:
        if self.on_interrupt is None:  # nobody to hand it to (a LoggerSet used on its own): Ctrl-C as usual
            raise KeyboardInterrupt
        self.on_interrupt()

    @staticmethod
    def _close_quietly(member: _Member) -> None:
        # release its files and threads; it failed once already and has been reported
        try:
            member.logger.close("failed")
        except PLUGIN_FAULTS:
            pass

    def _report(self, spec: ComponentSpec, method: str, exc: BaseException) -> None:
        self.failed.append(spec.name)
        # a GanzooError is a message written for the user (a missing extra, say)
        why = str(exc) if isinstance(exc, GanzooError) else describe(exc)
        off = "" if method == "close" else " and is off for the rest of the run"
        self._warn(f"warning: {spec.who} failed in {method}{off}: {why}")
