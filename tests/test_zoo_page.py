"""docs/zoo.md as benchmarks/zoo.py renders it: issue 22's targets, rows trained with older settings, the grids."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def zoo():
    spec = importlib.util.spec_from_file_location("bench_zoo_page", ROOT / "benchmarks" / "zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mnist_row(fd: float, recall: float, classes: int = 10, wall: float | None = 300.0, train: float = 290.0,
              conditional: float | None = None) -> dict:
    m = {"dataset": "mnist-10k", "fd": fd, "recall": recall, "classes_covered": classes, "num_classes": 10}
    if conditional is not None:
        m["conditional_accuracy"] = conditional
    return {"protocol": "heldout", "metrics": m, "wall_time_s": wall, "train_time_s": train, "threads": 2,
            "images_per_sec": 100.0}


@pytest.mark.parametrize(("row", "expected"), [
    (mnist_row(0.97, 0.61, wall=3590), "yes"),
    (mnist_row(0.99, 0.61), "no: FD"),
    (mnist_row(0.97, 0.59), "no: recall"),
    (mnist_row(0.97, 0.61, classes=9), "no: classes"),
    (mnist_row(0.97, 0.61, wall=3610), "no: time"),
    (mnist_row(0.97, 0.61, wall=None, train=3590), "yes"),  # a reused run: its training time counts
    (mnist_row(0.97, 0.61, wall=None, train=3610), "no: time"),
    (mnist_row(0.99, 0.59), "no: FD, recall"),
])
def test_an_architecture_meets_its_target_just_below_the_bars_and_misses_it_just_above(zoo, row, expected):
    current = {"improved-dcgan-mnist": mnist_row(0.98, 0.9), "sngan-mnist": row}
    assert zoo.verdict(row, zoo.TARGETS["sngan-mnist"], current) == expected
    # the bar is the FD measured for improved-dcgan-mnist: without that row, FD cannot be met
    assert zoo.verdict(row, zoo.TARGETS["sngan-mnist"], {"sngan-mnist": row}).startswith("no: FD")
    lines = zoo.targets_section(current)
    assert next(line for line in lines if line.startswith("| `sngan-mnist`")).endswith(f"| {expected} |")
    assert any("FD ≤ 0.98 (`improved-dcgan-mnist`'s" in line for line in lines)


@pytest.mark.parametrize(("reference", "bar"), [(1.03, 0.98), (0.98, 0.98), (0.9, 0.9)])
def test_the_architectures_fd_bar_follows_the_default_down_never_up(zoo, reference, bar):
    """Issue 22: FD at most improved-dcgan-mnist's (0.98 when the targets were set); a re-measured default that
    got worse must not relax the bar, one that got better raises it."""
    current = {"improved-dcgan-mnist": mnist_row(reference, 0.9)}
    assert zoo.fd_bar(zoo.TARGETS["sngan-mnist"], current) == bar
    assert zoo.verdict(mnist_row(bar + 0.005, 0.7), zoo.TARGETS["sngan-mnist"], current) == "no: FD"
    assert zoo.verdict(mnist_row(bar - 0.005, 0.7), zoo.TARGETS["sngan-mnist"], current) == "yes"


@pytest.mark.parametrize(("row", "expected"), [
    (mnist_row(0.59, 0.86, wall=590), "yes"),
    (mnist_row(0.61, 0.86, wall=590), "no: FD"),
    (mnist_row(0.59, 0.84, wall=590), "no: recall"),
    (mnist_row(0.59, 0.86, wall=610), "no: time"),
    (mnist_row(0.59, 0.86, classes=9, wall=590), "no: classes"),
])
def test_the_default_recipe_target_is_fd_0_6_and_recall_0_85_in_10_minutes(zoo, row, expected):
    current = {"improved-dcgan-mnist": row}
    assert zoo.verdict(row, zoo.DEFAULT_TARGET, current) == expected
    lines = zoo.default_section(current, "improved-dcgan-mnist")
    assert "FD ≤ 0.6, recall ≥ 0.85, 10/10 classes, ≤ 10 min" in "\n".join(lines)
    assert next(line for line in lines if line.startswith("| `improved-dcgan-mnist`")).endswith(f"| {expected} |")


@pytest.mark.parametrize(("name", "row", "expected"), [
    ("biggan-mnist", mnist_row(0.6, 0.61, conditional=0.996), "yes"),
    ("biggan-mnist", mnist_row(0.6, 0.61, conditional=0.994), "no: asked digit"),
    ("biggan-mnist", mnist_row(0.6, 0.59, conditional=0.996), "no: recall"),
    ("cdcgan-mnist", mnist_row(0.4, 0.1, conditional=0.995), "yes"),  # asked only the digit
    ("cdcgan-mnist", mnist_row(0.4, 0.7, conditional=0.9948), "no: asked digit"),
])
def test_conditional_targets_ask_for_the_digit_99_5_percent_of_the_time(zoo, name, row, expected):
    assert zoo.verdict(row, zoo.TARGETS[name], {name: row}) == expected


def settings_of(recipe: dict) -> dict:
    """What a run of ``recipe`` records as its settings: its tables, [train] completed as config.toml writes it."""
    from ganzoo.config.settings import TrainSettings

    train = {k: v for k, v in TrainSettings.from_table(recipe.get("train", {})).to_table().items() if v is not None}
    return {**{t: recipe[t] for t in ("gen", "disc", "loss", "dataset") if t in recipe}, "train": train}


CATALOGUE = {"r": {"doc": "a recipe", "gen": {"name": "dcgan", "ngf": 32}, "disc": {"name": "dcgan"},
                   "loss": {"name": "bce"}, "dataset": {"name": "mnist-10k", "split": "train"},
                   "train": {"epochs": 40, "lr": 2e-4, "ema_kimg": 20, "ema_rampup": 0.05}}}


def test_a_row_trained_with_other_settings_than_its_recipe_today_is_flagged(zoo):
    row = {**mnist_row(1.0, 0.8), "recipe": "r", "settings": settings_of(CATALOGUE["r"]), "grid": "zoo/r.png"}
    assert zoo.stale("r", row, CATALOGUE) == []
    page = zoo.render({"r": row}, CATALOGUE)
    assert "trained with older settings:" not in page and "Trained with older settings" not in page
    # a setting ganzoo added after the run: absent from its config.toml, it trained as the default
    newer = {**row, "settings": {**row["settings"], "train": dict(row["settings"]["train"])}}
    del newer["settings"]["train"]["ema_rampup"]
    assert zoo.stale("r", newer, CATALOGUE) == []
    # the recipe moved from a fixed decay to the half-life EMA since the run, and widened its generator
    before = {**CATALOGUE["r"], "gen": {"name": "dcgan", "ngf": 16},
              "train": {"epochs": 40, "lr": 2e-4, "ema": 0.999}}
    old = {**row, "settings": settings_of(before)}
    assert zoo.stale("r", old, CATALOGUE) == ["gen", "train.ema", "train.ema_kimg"]
    page = zoo.render({"r": old}, CATALOGUE)
    assert "`r` *(trained with older settings: gen, train.ema, train.ema_kimg)*" in page
    assert "re-measure with `python benchmarks/zoo.py --recipes r`" in page
    assert "Every recipe that samples from an EMA of its generator (`r`)" in page


def test_an_ablation_row_is_compared_with_its_recipe_and_its_override(zoo):
    base = {"gen": {"name": "unet"}, "disc": {"name": "patchgan"}, "loss": {"name": "bce+100*l1"},
            "dataset": {"name": "mnist-edges", "split": "train"}, "train": {"epochs": 5, "batch_size": 32}}
    catalogue = {"pix2pix-mnist-edges": base}
    row = {"settings": settings_of({**base, "loss": {"name": "l1"}})}
    assert zoo.stale("pix2pix-mnist-edges+l1", row, catalogue) == []
    assert zoo.stale("pix2pix-mnist-edges+bce", row, catalogue) == ["loss"]


def test_each_row_of_the_real_page_shows_a_grid_that_exists(zoo):
    results = json.loads((ROOT / "docs" / "zoo" / "results.json").read_text())
    registry = tomllib.loads((ROOT / "registry.toml").read_text())
    page = zoo.render(results, registry["recipes"], registry.get("default"))
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    current = [k for k, r in results.items() if r.get("protocol") == zoo.PROTOCOL and "error" not in r]
    shown = {}
    for line in rows:
        match = re.search(r'<img src="([^"]+)" width="120">', line)
        if match:
            shown[re.match(r"\| `([^`]+)`", line).group(1)] = match.group(1)
    assert set(shown) == set(current)
    for name, src in shown.items():
        assert src == f"zoo/{name}.png" and (ROOT / "docs" / src).is_file(), name


def test_regrids_redraws_a_shipped_recipe_from_its_shipped_file(zoo, tmp_path):
    (tmp_path / "zoo").mkdir()
    shutil.copyfile(ROOT / "docs" / "zoo" / "results.json", tmp_path / "zoo" / "results.json")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "zoo.py"), "--regrids", "--recipes",
                           "vanilla-gaussians", "--docs", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "zoo" / "vanilla-gaussians.png").stat().st_size > 0
    results = json.loads((tmp_path / "zoo" / "results.json").read_text())
    assert results["vanilla-gaussians"]["grid_from"] == "shipped"
    assert "Drawn from the shipped generator: `ganzoo sample vanilla-gaussians --seed 0`." in \
        (tmp_path / "zoo.md").read_text()


def test_the_tables_name_their_columns_and_keep_history_by_the_registered_metrics(zoo, monkeypatch):
    """The labels are the metrics' own (`MetricKey.label`, as `ganzoo eval` shows them), and a superseded row keeps
    every registered metric's numbers: a metric a plugin adds is kept without an edit to the page's script."""
    from dataclasses import replace

    from ganzoo.base.specs import MetricKey

    keys = dict(zoo.metric_keys())
    keys["fd"] = replace(keys["fd"], label="Fréchet")
    keys["sharpness"] = MetricKey("sharpness", label="sharpness", floor=True)
    monkeypatch.setattr(zoo, "metric_keys", lambda: keys)
    row = mnist_row(0.97, 0.61)
    row["metrics"].update(sharpness=0.5, sharpness_floor=0.7, class_counts=[1] * 10)
    page = zoo.render({"r": row}, {"r": {"gen": {"name": "g"}}})
    assert "| recipe | samples | composition | Fréchet (floor) |" in page and "| FD (floor) |" not in page
    kept = zoo.headline(row)
    assert (kept["sharpness"], kept["sharpness_floor"], kept["fd"], kept["recall"]) == (0.5, 0.7, 0.97, 0.61)
    assert "class_counts" not in kept  # a list of counts is not a headline number
