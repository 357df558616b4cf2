"""Raw benchmark results: what each script measured, saved beside the docs that show it.

Every script in this folder that reports numbers saves its raw measurements
(all pairs and windows, not just the medians) with the machine they were
taken on, as ``docs/benchmarks/raw/<kind>-<time>.json``; `render.py` writes
docs/benchmarks.md from those files alone. So every figure in the docs can be
traced to one run of one script, and nothing in them is typed by hand.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "docs" / "benchmarks" / "raw"


def machine(device: str = "cpu") -> dict[str, Any]:
    """What the numbers depend on, read at run time."""
    info: dict[str, Any] = {
        "platform": platform.platform(), "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        import torch

        info.update(torch=torch.__version__, threads=torch.get_num_threads())
        if device.startswith("cuda") and torch.cuda.is_available():
            info["device_name"] = torch.cuda.get_device_name()
    except ImportError:  # startup.py measures torch from outside and need not import it
        pass
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                        text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = None
    return info


def save(kind: str, settings: dict[str, Any], results: dict[str, Any], device: str = "cpu",
         folder: Path = RAW) -> Path:
    """Write one run's raw results; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"{kind}-{stamp}.json"
    from ganzoo.pretrained import portable

    # a folder given on the command line (--keep) is named, not located: the record is published in docs/
    record = {"kind": kind, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": portable(" ".join(sys.argv)),
              "machine": machine(device), "settings": settings, "results": results}
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"raw results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def load(kind: str, folder: Path = RAW) -> list[dict[str, Any]]:
    """Every saved run of ``kind``, oldest first."""
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob(f"{kind}-*.json"))]
    return sorted(runs, key=lambda r: r["time"])
