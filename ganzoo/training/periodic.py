"""Evaluation during training (``train.eval_every``): the algorithm scores its models, this hands back a
metrics.jsonl line.

Only rank 0 calls this. It holds no collective, so under torchrun the other
ranks need not take part: they go on and wait for rank 0 in the next step's
all-reduce.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypedDict
from collections.abc import Callable

import torch

from ..config.runconfig import RunConfig

if TYPE_CHECKING:  # pragma: no cover
    from .algorithm import Algorithm

# ints and floats the line leaves out: how it was drawn, not how it scored
_SETTINGS = ("seed", "num")


class EvalRow(TypedDict):
    """An evaluation line of metrics.jsonl, as `eval_row` makes it."""

    step: int
    epoch: int
    eval: dict[str, float]  # each number by metric key (ints stay ints)
    feature_space: str | None  # the space the metrics compared in ("classifier", "pixels", ...), None when none
    eval_seconds: float


def eval_row(config: RunConfig, algorithm: Algorithm, device: torch.device, step: int, epoch: int,
             log: Callable[[str], None] | None = None) -> EvalRow:
    """`Algorithm.evaluate` now: ``{"step", "epoch", "eval": {metric: number}, "feature_space",
    "eval_seconds"}``."""
    t, t0 = config.settings, time.perf_counter()
    # the scoring leaves the global RNG alone, but a plugin's forward (noise inputs) may not, and a
    # resumed run must stay bit-identical to an uninterrupted one
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        out = algorithm.evaluate(t.eval_num, device, log)
    numbers: dict[str, float] = {k: v for k, v in out.items()
                                 if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in _SETTINGS}
    return {"step": step, "epoch": epoch, "eval": numbers, "feature_space": out.get("feature_space"),
            "eval_seconds": round(time.perf_counter() - t0, 3)}
