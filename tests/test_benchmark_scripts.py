"""The scripts behind docs/benchmarks.md and docs/zoo.md keep running (their timings are never asserted)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_overhead_script_pairs_ganzoo_windows_with_hand_windows(tmp_path):
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "overhead.py"), "--models", "dcgan", "--width", "8",
                           "--rounds", "1", "--steps", "40", "--window", "5", "--no-tutorial", "--no-save"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ratios = dict(re.findall(r"ganzoo/(hand\S*)\s+(\d+\.\d+)\s+\[", proc.stdout))
    assert set(ratios) == {"hand", "hand-fused", "hand-reuse"}, proc.stdout
    # 40 steps in windows of 5: 7 pairs after the warm-up window, shared out among the three hand loops
    counts = [int(n) for n in re.findall(r"\((\d+) pairs\)", proc.stdout)]
    assert sum(counts) == 7 and all(float(r) > 0 for r in ratios.values())


def test_zoo_keeps_the_numbers_a_new_run_replaces():
    zoo = load("zoo")
    first = {"recipe": "r", "measured": "day 1", "metrics": {"fd": 5.9, "precision": 0.7, "recall": 0.02,
                                                          "classes_covered": 10, "num_classes": 10}}
    failed = {"recipe": "r", "error": ["boom"]}
    second = {"recipe": "r", "measured": "day 3", "metrics": {"fd": 7.6, "classes_covered": 8, "num_classes": 10}}
    row = zoo.with_history(second, zoo.with_history(failed, first))  # a failed run in between is not history
    assert [e["measured"] for e in row["earlier"]] == ["day 1"] and row["metrics"]["fd"] == 7.6
    assert "FD 5.9" in zoo.describe_earlier(row) and "10/10 classes" in zoo.describe_earlier(row)
    assert zoo.with_history(first, None) == first and zoo.describe_earlier(first) == ""


def test_benchmarks_doc_is_what_the_raw_results_give():
    """docs/benchmarks.md's tables are rendered from docs/benchmarks/raw; a hand edit or a stale page fails."""
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "render.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_render_shows_each_saved_run_and_its_machine(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    results = load("results")
    render = load("render")
    results.save("startup", {"repeats": 3}, {"times": {"import torch": [2.0, 2.2, 2.1], "ganzoo list": [0.2, 0.3, 0.1]}},
                 folder=tmp_path)
    results.save("loggers", {"rounds": 2, "steps": 10, "batch_size": 64, "loggers": ["tensorboard"], "log_every": 50,
                             "threads": 1}, {"rounds": [], "ratios": [1.02, 0.96, 1.0], "in_logger_calls": 0.0004},
                 folder=tmp_path)
    doc = "x\n<!-- begin generated: overhead -->\nold\n<!-- end generated: overhead -->\n" \
          "<!-- begin generated: startup -->\n| typed | by hand |\n<!-- end generated: startup -->\n" \
          "<!-- begin generated: loggers -->\n<!-- end generated: loggers -->\n"
    out = render.render(doc, folder=tmp_path)
    assert "| 1.000 [0.960, 1.020] | 0.04% |" in out  # the median ratio and its range, the share in calls
    assert "typed" not in out and "old" not in out
    assert "| 1 | `ganzoo list` | 0.200 s | 0.10× |" in out  # medians 0.2 / 2.1
    assert out.index("`import torch`") < out.index("`ganzoo list`")  # the reference row first
    assert "No run of `benchmarks/overhead.py` is saved yet." in out
    assert "CPUs" in out and "python" in out


def test_zoo_marks_earlier_measurements_taken_with_other_settings():
    zoo = load("zoo")
    old = {"recipe": "r", "measured": "day 1", "protocol": zoo.PROTOCOL, "settings": {"gen": {"name": "g"}},
           "metrics": {"fd": 40.0, "classes_covered": 1, "num_classes": 10}}
    same = {**old, "measured": "day 2", "metrics": {"fd": 3.0, "classes_covered": 10, "num_classes": 10}}
    changed = {**same, "settings": {"gen": {"name": "g", "batchnorm": True}}}
    assert "settings of that day" not in zoo.describe_earlier(zoo.with_history(same, old))
    assert "FD 40," in zoo.describe_earlier(zoo.with_history(changed, old))
    assert "with the settings of that day" in zoo.describe_earlier(zoo.with_history(changed, old))
