"""What rank 0 writes into a run folder besides checkpoints: config.toml, metrics.jsonl and the sample grids.

Evaluations during training (``train.eval_every``) are rank 0's too: a line
of metrics.jsonl each (`ganzoo.evaluation.periodic`).

Every grid is drawn from the same fixed noise (and, for points, the same
plot bounds), so that one after another they show the run's progress; the
GIF of them all is written once, when the run ends (finished, interrupted or
failed): rewriting it at each grid made a run quadratically slower.

Every write goes through `ganzoo.rundir` or `ganzoo.images`, which turn a
failed one (disk full, read-only) into one WriteError line; files already
written are replaced atomically or not at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TYPE_CHECKING
from collections.abc import Callable

import torch

from .config import config_toml
from .images import write_gif
from .errors import WriteError
from .rundir import MetricsLog, RunDir, make_parent, read_metrics, write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from .assemble import Parts
    from .config import RunConfig


class Outputs:
    """Opened at the run's first write to disk (`open`): nothing is written before."""

    def __init__(self, run: RunDir, config: RunConfig, parts: Parts):
        self.run, self.config, self.parts = run, config, parts
        self.metrics = MetricsLog(run.metrics)  # the file is opened at its first line
        self.frames: list[Path] = []
        self.gif_due = False  # a grid was drawn since the GIF was written
        self.last_grid: Path | None = None
        self.previous_time = 0.0
        self.last_eval: dict[str, Any] | None = None
        self.eval_seconds = 0.0

    def open(self, *, resume: bool, overwrite: bool, step: int) -> Outputs:
        """Write config.toml; on resume, cut metrics.jsonl back to ``step`` and pick up the run so far."""
        root = self.run.root
        make_parent(self.run.config)  # the run folder itself
        try:
            self.run.clean_stale()
            if overwrite and not resume:
                self.run.clear()
        except OSError as exc:
            raise WriteError.from_os(exc, root) from None
        write_atomic(self.run.config, config_toml(self.config.replace(out=None), self.parts.meta).encode())
        if resume:
            self.metrics.truncate_after(step)
            rows = read_metrics(self.run.metrics) if self.run.metrics.exists() else []
            self.previous_time = next((float(r["time"]) for r in reversed(rows) if "time" in r), 0.0)
            self.last_eval = next((r for r in reversed(rows) if "eval" in r), None)
        self.frames = self.run.grids()
        self.last_grid = self.frames[-1] if self.frames else None
        return self

    def grid(self, name: str, step: int) -> Path:
        """The algorithm's picture of progress (`ganzoo.algorithm.Algorithm.grid`) as samples/NAME."""
        path = self.parts.algorithm.grid(self.run.samples / name, step)
        self.frames = [f for f in self.frames if f != path] + [path]
        self.gif_due = True
        self.last_grid = path
        return path

    def write_gif(self) -> Path | None:
        """All grids so far as samples/progress.gif, when one was drawn since it was last written."""
        if self.gif_due:
            self.gif_due = False
            write_gif(self.frames, self.run.gif)
        return self.run.gif if self.run.gif.exists() else None

    def evaluate(self, step: int, epoch: int, device: torch.device, note: Callable[[str], None]) -> dict[str, Any]:
        from .evaluation.periodic import eval_row
        from .progress import describe_eval

        row = self.last_eval = eval_row(self.config, self.parts.algorithm, device, step, epoch, note)
        self.eval_seconds += row["eval_seconds"]
        self.metrics.write(row)
        note(f"eval (step {step}): {describe_eval(row)}")
        return row

    def close(self) -> None:
        """The run ends (whatever the reason): the GIF, if not written yet, and metrics.jsonl to disk."""
        try:
            self.write_gif()
        except WriteError:
            pass  # the run is failing already (this is the cleanup), or the grids themselves are all there
        finally:
            self.metrics.close()
