"""What a training run hands back: TrainResult, TrainingInterrupted, and the signal handling behind it."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterator, Mapping

from ..base.errors import GanzooError
from ..runs.rundir import read_metrics

if TYPE_CHECKING:  # pragma: no cover
    from ..config.runconfig import RunConfig


@dataclass
class TrainResult:
    """Where a run's files are and how it ended."""

    run_dir: Path
    step: int
    epoch: int
    checkpoint: Path | None
    last_grid: Path | None
    gif: Path | None
    metrics_path: Path
    final: dict[str, float] = field(default_factory=dict)  # the last metrics row (step, epoch, losses, speed...)
    images_per_sec: float = 0.0
    wall_time: float = 0.0
    interrupted: str | None = None  # "SIGINT" / "SIGTERM"
    world_size: int = 1
    config: RunConfig | None = None
    evaluation: Mapping[str, object] | None = None  # the last evaluation line of metrics.jsonl (``train.eval_every``)

    @property
    def sample_command(self) -> str:
        return f"ganzoo sample {self.run_dir} --out grid.png"

    def metrics(self) -> list[dict[str, object]]:
        return read_metrics(self.metrics_path) if self.metrics_path.exists() else []


class TrainingInterrupted(GanzooError):
    """SIGINT/SIGTERM: the step in progress finished and a checkpoint was written; exit code 128 + signal."""

    def __init__(self, signum: int, result: TrainResult):
        name = signal.Signals(signum).name
        where = f"checkpoint {result.checkpoint}" if result.checkpoint else "no checkpoint"
        super().__init__(f"interrupted by {name} at step {result.step} ({where})",
                         f"resume with: ganzoo run --resume {result.run_dir}")
        self.exit_code = 128 + signum
        self.signum = signum
        self.result = result


@contextmanager
def on_signals(callback: Callable[[int], None], enabled: bool = True) -> Iterator[None]:
    """Route SIGINT/SIGTERM to ``callback`` (main thread only); a second SIGINT interrupts at once."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if seen and signum == signal.SIGINT:
            raise KeyboardInterrupt  # checkpoints are written atomically, so this cannot corrupt one
        seen.append(signum)
        callback(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
