"""The run folder: its name, its layout, refusing to clobber a run, and metrics.jsonl."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CheckpointError, UsageError

ARTIFACTS = ("config.toml", "checkpoints", "samples", "metrics.jsonl")


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def latest(self) -> Path:
        return self.checkpoints / "latest.safetensors"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def gif(self) -> Path:
        return self.samples / "progress.gif"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    def kept(self, step: int) -> Path:
        return self.checkpoints / f"step-{step:06d}.safetensors"

    def grids(self) -> list[Path]:
        """Sample grids written so far (not `sample-*` from `ganzoo sample`), oldest first."""
        if not self.samples.is_dir():
            return []
        found = [p for p in self.samples.glob("*.png") if re.match(r"^(epoch|step)-\d+\.png$", p.name)]
        return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def holds_run(path: Path) -> bool:
    """Training happened here (a run that failed before its first step left only config.toml)."""
    return path.is_dir() and ((path / "checkpoints").exists() or (path / "metrics.jsonl").exists())


def default_name(base: str, parent: Path | str = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    parent = Path(parent)
    candidate = parent / f"{base}-{stamp}"
    n = 2
    while candidate.exists():
        candidate = parent / f"{base}-{stamp}-{n}"
        n += 1
    return candidate


def check_target(path: Path, *, resume: bool, overwrite: bool) -> None:
    """Raise before anything is written: an existing run needs --resume or --overwrite."""
    if resume:
        if not path.is_dir():
            raise UsageError(f"cannot resume: {path} is not a run folder")
        if not (path / "checkpoints" / "latest.safetensors").exists():
            raise CheckpointError(f"cannot resume: {path} holds no checkpoint (checkpoints/latest.safetensors)")
        return
    if path.exists() and not path.is_dir():
        raise UsageError(f"output {path} exists and is not a folder")
    if holds_run(path) and not overwrite:
        raise UsageError(f"{path} already holds a run", "pass --resume to continue it, --overwrite to replace it, "
                                                        "or choose another --out")


def clear(path: Path) -> None:
    """--overwrite: remove a previous run's artifacts (only those, never other files)."""
    for name in ARTIFACTS:
        p = path / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


class MetricsLog:
    """Appends one JSON object per logged step to metrics.jsonl (flushed each line)."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")

    def write(self, row: dict[str, Any]) -> None:
        if self._fh is None:
            self.open()
        self._fh.write(json.dumps({k: _clean(v) for k, v in row.items()}) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def truncate_after(self, step: int) -> None:
        """On resume: drop lines logged after the checkpoint's step (they will be logged again)."""
        if not self.path.exists():
            return
        keep = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if int(json.loads(line).get("step", 0)) <= step:
                    keep.append(line)
            except (ValueError, AttributeError):
                continue
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
        tmp.replace(self.path)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.jsonl"
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
