"""`ganzoo plot` and `ganzoo compare`: the pictures hold the run's numbers, and the files are where a user looks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import run_cli
from ganzoo.base.errors import UsageError
from ganzoo.runs.plotting import Curves, compare_figure, run_figure

pytest.importorskip("matplotlib")


def fake_run(root: Path, fd: tuple[float, float] = (9.0, 4.0), d_loss: float = 1.3) -> Path:
    rows = [
        {"step": 10, "epoch": 1, "d_loss": d_loss, "g_loss": 0.7, "d_real": 0.5, "d_fake": -0.5, "d/bce": d_loss},
        {"step": 20, "epoch": 1, "eval": {"fd": fd[0], "fd_floor": 0.05, "precision": 0.4, "recall": 0.1}},
        {"step": 20, "epoch": 1, "d_loss": d_loss - 0.2, "g_loss": 0.9, "d_real": 0.4, "d_fake": -0.2,
         "d/bce": d_loss - 0.2, "time": 1.0},
        {"step": 40, "epoch": 2, "eval": {"fd": fd[1], "fd_floor": 0.05, "precision": 0.6, "recall": None}},
    ]
    root.mkdir(parents=True)
    (root / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "samples").mkdir()
    Image.new("L", (64, 64), 200).save(root / "samples" / "epoch-002.png")
    return root


def test_curves_read_losses_evaluations_and_floors(tmp_path):
    from ganzoo.runs.rundir import read_metrics

    curves = Curves.from_rows("r", read_metrics(fake_run(tmp_path / "r")))
    assert curves.losses["d_loss"] == ([10, 20], [1.3, pytest.approx(1.1)])
    assert curves.losses["d/bce"][0] == [10, 20]
    assert curves.evals["fd"] == ([20, 40], [9.0, 4.0])
    assert curves.evals["recall"] == ([20], [0.1])  # a null is a gap, not a zero
    assert curves.floors == {"fd": 0.05} and curves.final["fd"] == 4.0
    assert "fd_floor" not in curves.evals and "epoch" not in curves.losses


def test_run_figure_draws_the_numbers_and_the_grid(tmp_path):
    from ganzoo.runs.rundir import read_metrics

    run = fake_run(tmp_path / "r")
    fig = run_figure(Curves.from_rows("r", read_metrics(run)), run / "samples" / "epoch-002.png")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles[:3] == ["losses", "D's mean raw score", "fd"] and titles[-1] == "epoch-002.png"
    fd_ax = fig.axes[2]
    lines = {line.get_label(): line for line in fd_ax.get_lines()}
    assert list(lines["fd"].get_ydata()) == [9.0, 4.0]
    assert list(lines["real-vs-real floor"].get_ydata()) == [0.05, 0.05]
    assert len([ax for ax in fig.axes if ax.get_visible()][-1].get_images()) == 1


def test_plot_command_writes_curves_into_the_run(tmp_path):
    run = fake_run(tmp_path / "r")
    proc = run_cli("plot", str(run))
    assert proc.returncode == 0, proc.stderr
    out = run / "curves.png"
    assert str(out) in proc.stdout
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width > 400 and img.height > 300


def test_plot_refuses_to_replace_a_users_file(tmp_path):
    run = fake_run(tmp_path / "r")
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"my own picture")
    proc = run_cli("plot", str(run), "--out", str(mine))
    assert proc.returncode == 2 and "--force" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert mine.read_bytes() == b"my own picture"
    assert run_cli("plot", str(run), "--out", str(mine), "--force").returncode == 0


def test_plot_of_a_folder_that_is_not_a_run(tmp_path):
    proc = run_cli("plot", str(tmp_path))
    assert proc.returncode == 2 and "metrics.jsonl" in proc.stderr and "Traceback" not in proc.stderr


def test_compare_overlays_runs_and_tables_their_last_evaluation(tmp_path):
    a, b = fake_run(tmp_path / "a"), fake_run(tmp_path / "b", fd=(8.0, 2.5), d_loss=1.0)
    out = tmp_path / "ab.png"
    proc = run_cli("compare", str(a), str(b), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and "2.5" in proc.stdout and "4" in proc.stdout
    from ganzoo.runs.rundir import read_metrics

    fig = compare_figure([Curves.from_rows(r.name, read_metrics(r)) for r in (a, b)])
    fd_ax = next(ax for ax in fig.axes if ax.get_title() == "fd")
    assert {line.get_label(): list(line.get_ydata())[-1] for line in fd_ax.get_lines()} == {"a": 4.0, "b": 2.5}


def test_missing_matplotlib_is_one_line_naming_the_extra(monkeypatch):
    from ganzoo.runs import plotting

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(UsageError, match=r"ganzoo\[plot\]"):
        plotting.pyplot()
