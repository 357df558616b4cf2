"""What rank 0 writes into a run folder besides checkpoints: config.toml, metrics.jsonl and the sample grids.

Evaluations during training (``train.eval_every``) are rank 0's too: a line
of metrics.jsonl each (`ganzoo.training.periodic`).

So are the run's loggers (``train.loggers``, `ganzoo.loggers`): opened with the
run folder, they get each metrics line, grid and evaluation as it is written,
and the run's end; one that raises is reported and dropped, never the run.

Every grid is drawn from the same fixed noise (and, for points, the same
plot bounds), so that one after another they show the run's progress; the
GIF of them all is written once, when the run ends (finished, interrupted or
failed): rewriting it at each grid made a run quadratically slower.

Every write goes through `ganzoo.runs.rundir` or `ganzoo.images`, which turn a
failed one (disk full, read-only) into one WriteError line; files already
written are replaced atomically or not at all.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable, Mapping

import torch

from ..base.errors import WriteError
from ..config.runconfig import config_toml
from ..runs.images import write_gif
from ..runs.rundir import MetricsLog, RunDir, RunLock, check_target, make_parent, read_metrics, write_atomic
from .loggers import LoggerSet

if TYPE_CHECKING:  # pragma: no cover
    from ..config.runconfig import RunConfig
    from .assemble import Parts
    from .periodic import EvalRow


class Metrics(MetricsLog):
    """metrics.jsonl, whose loss lines go to the run's loggers too (evaluation lines: `Outputs.evaluate`)."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.loggers = LoggerSet()  # none until the run opens its folder

    def write(self, row: Mapping[str, object]) -> None:
        super().write(dict(row))
        if "eval" not in row:
            step = row["step"]
            assert isinstance(step, (int, float)), "a metrics line's step is the trainer's count"
            self.loggers.scalars(int(step), row)


class Outputs:
    """Opened at the run's first write to disk (`open`): nothing is written before."""

    def __init__(self, run: RunDir, config: RunConfig, parts: Parts):
        self.run, self.config, self.parts = run, config, parts
        self.metrics = Metrics(run.metrics)  # the file is opened at its first line
        self.lock = RunLock(run.root)  # held from `open` to `close`
        self.frames: list[Path] = []
        self.gif_due = False  # a grid was drawn since the GIF was written
        self.last_grid: Path | None = None
        self.previous_time = 0.0
        # the last evaluation line: this run's, or on resume the last one metrics.jsonl holds
        self.last_eval: Mapping[str, object] | None = None
        self.eval_seconds = 0.0

    def open(self, *, resume: bool, overwrite: bool, step: int,
             on_interrupt: Callable[[], None] | None = None) -> Outputs:
        """Write config.toml; on resume, cut metrics.jsonl back to ``step`` and pick up the run so far.

        ``on_interrupt``: what a Ctrl-C inside a logger calls (the trainer's stop request; see `ganzoo.loggers`).
        """
        root = self.run.root
        made = _missing_folders(root)
        make_parent(self.run.config)  # the run folder itself
        try:
            # one writer at a time; under the lock, the folder is checked again (another run may have started
            # or finished in it while this one was being built)
            self.lock.acquire(note=_note)
            check_target(root, resume=resume, overwrite=overwrite, locked=True)
            try:
                self.run.clean_stale()
                if overwrite and not resume:
                    self.run.clear()
            except OSError as exc:
                raise WriteError.from_os(exc, root) from None
            recorded = self.config.replace(out=None)
            write_atomic(self.run.config, config_toml(recorded, self.parts.meta).encode())
        except BaseException:  # refused or failed before the run began: leave no empty folder of ours behind
            self.lock.release()
            _remove_made(made, self.run.config)
            raise
        if resume:
            self.metrics.truncate_after(step)
            rows = read_metrics(self.run.metrics) if self.run.metrics.exists() else []
            self.previous_time = next((float(r["time"]) for r in reversed(rows) if "time" in r), 0.0)
            self.last_eval = next((r for r in reversed(rows) if "eval" in r), None)
        self.frames = self.run.grids()
        self.last_grid = self.frames[-1] if self.frames else None
        self.metrics.loggers = LoggerSet.open(self.parts.setup.composition.loggers, root, recorded.to_dict(),
                                              {**self.parts.meta, "start_step": step}, on_interrupt=on_interrupt)
        return self

    @property
    def loggers(self) -> LoggerSet:
        return self.metrics.loggers

    def grid(self, name: str, step: int) -> Path:
        """The algorithm's picture of progress (`ganzoo.algorithm.Algorithm.grid`) as samples/NAME."""
        path = self.parts.algorithm.grid(self.run.samples / name, step)
        self.frames = [f for f in self.frames if f != path] + [path]
        self.gif_due = True
        self.last_grid = path
        self.loggers.image("samples", step, path)
        return path

    def write_gif(self) -> Path | None:
        """All grids so far as samples/progress.gif, when one was drawn since it was last written."""
        if self.gif_due:
            self.gif_due = False
            write_gif(self.frames, self.run.gif)
        return self.run.gif if self.run.gif.exists() else None

    def evaluate(self, step: int, epoch: int, device: torch.device, note: Callable[[str], None]) -> EvalRow:
        from .periodic import eval_row
        from .progress import describe_eval

        row = self.last_eval = eval_row(self.config, self.parts.algorithm, device, step, epoch, note)
        self.eval_seconds += row["eval_seconds"]
        self.metrics.write(row)
        self.loggers.evaluation(step, row.get("eval", {}))
        note(f"eval (step {step}): {describe_eval(row)}")
        return row

    def close(self, status: str | None = None) -> None:
        """The run ends (whatever the reason): the GIF, if not written yet, metrics.jsonl to disk, and the
        loggers told how it ended (``status``; by default read from the exception on its way, if any)."""
        try:
            self.write_gif()
        except WriteError:
            pass  # the run is failing already (this is the cleanup), or the grids themselves are all there
        finally:
            try:
                self.metrics.close()
                self.loggers.close(status or _ending())
            finally:
                self.lock.release()


def _note(line: str) -> None:
    from ..base.console import err_console

    err_console.print(line, highlight=False, soft_wrap=True, markup=False)


def _missing_folders(root: Path) -> list[Path]:
    """``root`` and those of its parents that do not exist yet (what creating it makes), deepest first."""
    made = []
    for folder in (root, *root.parents):
        if folder.exists() or folder.is_symlink():
            break
        made.append(folder)
    return made


def _remove_made(made: list[Path], config: Path) -> None:
    """Undo creating the folders ``made`` (config.toml in the run folder written just now included); best effort."""
    if not made:
        return
    try:
        if config.parent == made[0]:
            config.unlink(missing_ok=True)
        for folder in made:
            folder.rmdir()  # only an empty folder: nothing of anyone else's goes
    except OSError:
        pass


def _ending() -> str:
    """How the run ends, as `ganzoo.loggers.Logger.close` says it, seen from a ``finally`` block."""
    from .results import TrainingInterrupted

    exc = sys.exc_info()[1]
    if exc is None:
        return "finished"
    return "interrupted" if isinstance(exc, (TrainingInterrupted, KeyboardInterrupt)) else "failed"
