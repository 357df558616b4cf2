"""Logger overhead: the same short run with and without ``--logger`` (default: tensorboard), side by side.

Each round trains two fresh runs of vanilla on gaussians at the default log
interval (``train.log_every`` 50), one with the logger and one without, in
alternating order (A B, then B A, ...), so that the drift of a shared machine
falls on both alike. A run's cost is the CPU time of this process (every
thread: the logger's own writer thread too) from its first step to its end,
its log lines and a grid every epoch included, start-up left out; one
checkpoint, at the end. CPU time, not wall time: on a shared machine the
wall time of the same run varies by a third with the other processes' load.
Printed:

* **with/without**: the median over rounds of the speed ratio (CPU time per
  step without the logger over with it), with the rounds' range. 1.00 is no
  measurable overhead.
* **in logger calls**: the share of the logging runs' loop wall time spent
  inside the logger calls themselves (timed around `ganzoo.training.loggers.LoggerSet`'s
  calls): what the training loop waits for.

    python benchmarks/loggers.py [--rounds 4] [--steps 600] [--logger tensorboard] [--threads 1] [--save]

``--save`` keeps the raw rounds in docs/benchmarks/raw/ (see results.py), from which render.py writes
the table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from ganzoo.training.loggers import LoggerSet
from ganzoo.training.trainer import Trainer


class CallTimer:
    """Adds up the wall time spent inside LoggerSet's calls (every logger method goes through ``_call``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._call = LoggerSet._call

    def __enter__(self) -> CallTimer:
        timer, call = self, self._call

        def timed(loggers: LoggerSet, method: str, *args: Any) -> None:
            t0 = time.perf_counter()
            try:
                call(loggers, method, *args)
            finally:
                timer.seconds += time.perf_counter() - t0

        LoggerSet._call = timed  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        LoggerSet._call = self._call  # type: ignore[method-assign]


def config(out: Path, steps: int, batch_size: int, loggers: list[str]) -> dict[str, Any]:
    return {"gen": {"name": "vanilla"}, "loss": {"name": "bce"}, "dataset": {"name": "gaussians"},
            "train": {"steps": steps, "batch_size": batch_size, "device": "cpu", "latent_dim": 16,
                      "checkpoint_every": steps, "loggers": loggers}, "out": str(out)}


def run(out: Path, steps: int, batch_size: int, loggers: list[str]) -> tuple[float, float]:
    """(CPU seconds per step, wall seconds of the loop) of one fresh run."""
    first: list[float] = []

    def at_step(step: int) -> None:
        if step == 1:
            first.append(time.process_time())

    result = Trainer(config(out, steps, batch_size, loggers), progress="quiet", before_step=at_step).fit()
    return (time.process_time() - first[0]) / steps, result.wall_time


def main() -> None:
    parser = argparse.ArgumentParser(description="ganzoo logger overhead: runs with and without a logger")
    parser.add_argument("--rounds", type=int, default=4, help="pairs of runs (with, without)")
    parser.add_argument("--steps", type=int, default=600, help="generator steps per run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--logger", action="append", dest="loggers", help="logger to measure (repeatable; "
                        "default: tensorboard)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--save", action="store_true", help="save the raw rounds for docs/benchmarks.md")
    args = parser.parse_args()
    loggers = args.loggers or ["tensorboard"]
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"vanilla on gaussians, {args.steps} steps of batch {args.batch_size}, log_every 50, "
          f"{torch.get_num_threads()} threads; logger: {', '.join(loggers)}", flush=True)
    ratios, logged_wall, rounds = [], 0.0, []
    with tempfile.TemporaryDirectory(prefix="ganzoo-loggers-") as tmp, CallTimer() as timer:
        run(Path(tmp) / "warm-up", min(args.steps, 100), args.batch_size, loggers)
        timer.seconds = 0.0
        for i in range(args.rounds):
            cost: dict[bool, float] = {}
            for with_logger in ((True, False) if i % 2 == 0 else (False, True)):
                cost[with_logger], wall = run(Path(tmp) / f"r{i}-{int(with_logger)}", args.steps, args.batch_size,
                                              loggers if with_logger else [])
                logged_wall += wall if with_logger else 0.0
            ratios.append(cost[False] / cost[True])
            rounds.append({"with": cost[True], "without": cost[False]})
            print(f"  round {i + 1}: {1e3 * cost[True]:.3f} vs {1e3 * cost[False]:.3f} CPU ms per step, "
                  f"ratio {ratios[-1]:.3f}", flush=True)
    print(f"with/without      {statistics.median(ratios):.3f}  [{min(ratios):.3f}, {max(ratios):.3f}] "
          f"({len(ratios)} rounds)")
    print(f"in logger calls   {100 * timer.seconds / logged_wall:.3f}% of the logging runs' loop time")
    if args.save:
        import results

        settings = {"rounds": args.rounds, "steps": args.steps, "batch_size": args.batch_size, "loggers": loggers,
                    "log_every": 50, "threads": torch.get_num_threads()}
        results.save("loggers", settings, {"rounds": rounds, "ratios": ratios,
                                           "in_logger_calls": timer.seconds / logged_wall})


if __name__ == "__main__":
    main()
