"""What an evaluation scores (`Samples`), and what a safetensors file's header says it is.

The bottom of ganzoo eval's sources: `ganzoo.evaluation.runs` draws `Samples` from a generator and
`ganzoo.evaluation.sources` reads them from a file or hands a run folder or checkpoint to `runs`; both
tell a checkpoint from a samples file by its header, here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from torch import Tensor


@dataclass
class Samples:
    x: Tensor  # uint8 images (N, C, H, W) or float points (N, D), on the CPU
    labels: Tensor | None
    dataset: str
    dataset_params: dict[str, object] = field(default_factory=dict)
    source: str = ""  # "samples", "run" or "checkpoint"
    notes: list[str] = field(default_factory=list)

    def as_tuple(self) -> tuple[Tensor, Tensor | None, str, dict[str, object]]:
        return self.x, self.labels, self.dataset, self.dataset_params


def _header_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})


def _is_checkpoint(meta: dict[str, str]) -> bool:
    return str(meta.get("format", "")).startswith("ganzoo.checkpoint")
