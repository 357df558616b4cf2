"""Evaluation during training (``train.eval_every``): score the generator, hand back a metrics.jsonl line.

Only rank 0 calls this. It holds no collective, so under torchrun the other
ranks need not take part: they go on and wait for rank 0 in the next step's
all-reduce.
"""

from __future__ import annotations

import time
from typing import Any, TYPE_CHECKING
from collections.abc import Callable

import torch

from ..config import RunConfig
from .scoring import evaluate_generator

if TYPE_CHECKING:  # pragma: no cover
    from ..assemble import Parts

# ints and floats the line leaves out: how it was drawn, not how it scored
_SETTINGS = ("seed", "num")


def eval_row(config: RunConfig, parts: Parts, device: torch.device, step: int, epoch: int,
             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score the EMA generator (else G): ``{"step", "epoch", "eval": {metric: number}, "feature_space",
    "eval_seconds"}``."""
    t, t0 = config.train, time.perf_counter()
    model = parts.ema if parts.ema is not None else parts.G
    # evaluate_generator leaves the global RNG alone, but a plugin's forward (noise inputs) may not, and a
    # resumed run must stay bit-identical to an uninterrupted one
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        out = evaluate_generator(model, parts.dataset, parts.info, num=t["eval_num"], device=device,
                                 conditional=parts.g_cond, seed=t["seed"], dataset_name=config.dataset["name"],
                                 dataset_params=RunConfig.params(config.dataset),
                                 latent_dim=t["latent_dim"], inception=False, log=log)
    numbers = {k: v for k, v in out.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in _SETTINGS}
    return {"step": step, "epoch": epoch, "eval": numbers, "feature_space": out.get("feature_space"),
            "eval_seconds": round(time.perf_counter() - t0, 3)}
