"""The scripts behind docs/benchmarks.md and docs/zoo.md keep running (their timings are never asserted)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
          "<!-- begin generated: loggers -->\n<!-- end generated: loggers -->\n" \
          "<!-- begin generated: default_speed -->\n<!-- end generated: default_speed -->\n"
    out = render.render(doc, folder=tmp_path)
    assert "| 1.000 [0.960, 1.020] | 0.04% |" in out  # the median ratio and its range, the share in calls
    assert "typed" not in out and "old" not in out
    assert "| 1 | `ganzoo list` | 0.200 s | 0.10× |" in out  # medians 0.2 / 2.1
    assert out.index("`import torch`") < out.index("`ganzoo list`")  # the reference row first
    assert "No run of `benchmarks/overhead.py` is saved yet." in out
    assert "No run of `benchmarks/default_speed.py` is saved yet." in out
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


def test_default_speed_quick_run_trains_side_by_side_and_renders(tmp_path, monkeypatch):
    """benchmarks/default_speed.py --quick end to end: both parts, raw results in a scratch folder, rendered."""
    before = sorted((BENCHMARKS.parent / "docs" / "benchmarks" / "raw").iterdir())
    raw = tmp_path / "raw"
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "default_speed.py"), "--quick", "--contenders", "default",
                           "dcgan-mnist", "--raw-dir", str(raw)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted((BENCHMARKS.parent / "docs" / "benchmarks" / "raw").iterdir()) == before  # a smoke run stays out
    [saved] = raw.glob("default_speed-*.json")
    run = json.loads(saved.read_text())
    assert run["settings"]["quick"] and run["settings"]["order"] == ["default", "dcgan-mnist"]
    found = run["results"]["throughput"]
    for name in ("default", "dcgan-mnist"):  # the warm-up round and 2 timed rounds of 3 steps each
        c = found["contenders"][name]
        assert len(c["windows_s"]) == 3 and all(w > 0 for w in c["windows_s"]) and c["images_per_step"] == 64
    assert set(found["ratios"]) == {"dcgan-mnist"} and found["ratios"]["dcgan-mnist"][0] > 0
    quality = run["results"]["quality"]
    assert set(quality) == {"improved-dcgan-mnist", "dcgan-mnist"}
    for r in quality.values():  # 10 steps, evaluated every 5 on the held-out split
        assert [e["step"] for e in r["evals"]] == [5, 10] and r["met"] is None
        assert 0 < r["evals"][0]["train_s"] < r["evals"][1]["train_s"] <= r["loop_s"] < r["wall_s"]
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    render = load("render")
    doc = "".join(f"<!-- begin generated: {k} -->\n<!-- end generated: {k} -->\n" for k in render.SECTIONS)
    page = render.render(doc, folder=raw)
    assert "| 1 | the former default | `ganzoo run dcgan-mnist` |" in page
    assert "`improved-dcgan-mnist`: training min | FD | recall | classes | target" in page
    assert "is not met within the run (10 steps" in page and "A `--quick` smoke run, not a measurement" in page


def test_default_speed_training_clock_leaves_evaluations_out(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    speed = load("default_speed")
    scores = {"fd": 0.5, "precision": 0.7, "recall": 0.9, "classes_covered": 10, "num_classes": 10,
              "num_compared": 2000}
    rows = [{"step": 50, "epoch": 1, "time": 10.0}, {"step": 50, "epoch": 1, "eval": {**scores, "fd": 3.0},
                                                      "eval_seconds": 4.0},
            {"step": 100, "epoch": 1, "time": 24.0}, {"step": 100, "epoch": 1, "eval": scores, "eval_seconds": 5.0}]
    evals = speed.training_clock(rows)
    assert [e["train_s"] for e in evals] == [10.0, 20.0]  # the second loss line's time held the first evaluation
    target = {"fd": 0.6, "recall": 0.85, "classes": 10}
    assert [speed.meets(e, target) for e in evals] == [False, True]
    assert not speed.meets({**evals[1], "classes_covered": 9}, target)
    with pytest.raises(SystemExit, match="multiple of"):  # an evaluation between two loss lines
        speed.training_clock([{"step": 50, "epoch": 1, "time": 1.0}, {"step": 25, "epoch": 1, "eval": scores,
                                                                      "eval_seconds": 1.0}])


def test_default_speed_render_states_the_costs_and_when_the_target_is_met(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    results, render = load("results"), load("render")
    order = ["default", "default-compile", "default-no-mbd", "dcgan-mnist"]
    flags = {"default-compile": "--compile", "default-no-mbd": "--set disc.minibatch_features=0"}
    contenders = {n: {"recipe": "dcgan-mnist" if n == "dcgan-mnist" else "improved-dcgan-mnist", "label": n,
                      "flags": flags.get(n, "")} for n in order}
    speed = {"default": 300.0, "default-compile": 240.0, "default-no-mbd": 360.0, "dcgan-mnist": 450.0}
    found = {n: {"images_per_sec": v, "images_per_step": 64, "setup_s": 2.0, "threads": 2, "windows_s": [3.0] * 41,
                 "warmup_s": 62.7 if n == "default-compile" else 2.2, "warmup_steady_s": 2.7} for n, v in speed.items()}
    ratios = {n: [speed[n] / 300, speed[n] / 300 - 0.02, speed[n] / 300 + 0.02] for n in order[1:]}
    scores = {"precision": 0.7, "num_classes": 10, "num_compared": 2000, "eval_s": 3.0}
    good = {"step": 1500, "epoch": 12, "train_s": 330.0, "fd": 0.55, "recall": 0.86, "classes_covered": 10, **scores}
    early = {"step": 250, "epoch": 2, "train_s": 55.0, "fd": 4.0, "recall": 0.3, "classes_covered": 9, **scores}
    late = {"step": 250, "epoch": 2, "train_s": 40.0, "fd": 5.0, "recall": 0.2, "classes_covered": 10, **scores}
    quality = {"improved-dcgan-mnist": {"command": "ganzoo run improved-dcgan-mnist", "evals": [early, good],
                                        "wall_s": 420.0, "loop_s": 330.0, "eval_s": 6.0, "outside_loop_s": 84.0,
                                        "steps": 1500, "met": good, "best": good},
               "dcgan-mnist": {"command": "ganzoo run dcgan-mnist", "evals": [late], "wall_s": 60.0, "loop_s": 40.0,
                               "eval_s": 3.0, "outside_loop_s": 17.0, "steps": 250, "met": None, "best": late}}
    settings = {"quick": False, "default_recipe": "improved-dcgan-mnist", "order": order, "contenders": contenders,
                "window": 10, "rounds": 40, "warmup": 1, "threads": 2, "quality_recipes": list(quality),
                "quality_threads": 1, "eval_every": 250, "eval_num": 2000, "split": "heldout",
                "target": {"fd": 0.6, "recall": 0.85, "classes": 10, "seconds": 600}}
    results.save("default_speed", settings, {"throughput": {"contenders": found, "ratios": ratios},
                                             "quality": quality}, folder=tmp_path)
    page = "\n".join(render.default_speed(results.load("default_speed", tmp_path)))
    assert page.index("`ganzoo run` |") < page.index("`ganzoo run --compile` |") < page.index("`ganzoo run dcgan-mnist`")
    assert "| 1 | default-compile | `ganzoo run --compile` | 240 | 0.800 [0.780, 0.820]× | 62.7 s" in page
    assert "a step of the default takes 1.50× [1.48, 1.52] as long as one of the former default" in page
    assert "minibatch discrimination alone makes the default's step 1.20× [1.18, 1.22] as long (+20%)" in page
    assert "compiling took about 60 s" in page and "never paid back" in page
    assert "| 250 | 2 | 0.9 | 4 | 0.30 | 9/10 | no | 0.7 | 5 | 0.20 | 10/10 | no |" in page
    assert "| 1500 | 12 | 5.5 | 0.55 | 0.86 | 10/10 | **yes** | – | – | – | – | – |" in page
    assert "`improved-dcgan-mnist`: the target (FD ≤ 0.6, recall ≥ 0.85, 10/10 classes) is met first at step 1500 " \
           "(epoch 12), after 5.5 min of training" in page
    assert "`dcgan-mnist`: the target (FD ≤ 0.6, recall ≥ 0.85, 10/10 classes) is not met within the run (250 steps, " \
           "0.7 min of training); best FD 5 at 0.7 min" in page
    assert "held-out split, FD and precision/recall on 2000 of them" in page and "smoke" not in page
