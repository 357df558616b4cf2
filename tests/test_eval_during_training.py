"""`train.eval_every` / `ganzoo run --eval-every`: evaluation lines in metrics.jsonl, the summary and TrainResult."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import fit, tiny, tiny_images

from ganzoo.config.runconfig import finalize
from ganzoo.base.errors import ConfigError, UsageError


def split(rows):
    """(loss lines, evaluation lines) of metrics.jsonl."""
    return [r for r in rows if "eval" not in r], [r for r in rows if "eval" in r]


def summary(result) -> str:
    from rich.console import Console

    from ganzoo.training.progress import print_summary

    buf = io.StringIO()
    print_summary(result, console=Console(file=buf, width=200), rich_output=False)
    return buf.getvalue()


def test_eval_lines_summary_and_result(toy):
    res = fit(tiny(steps=7, eval_every=3, eval_num=200))
    losses, evals = split(res.metrics())
    assert [r["step"] for r in losses] == list(range(1, 8))  # the loss lines are as without evaluation
    assert all("eval" not in r and "d_loss" in r and "time" in r for r in losses)
    assert [r["step"] for r in evals] == [3, 6, 7]  # every 3 steps, and the last step
    last = evals[-1]
    assert set(last) == {"step", "epoch", "eval", "feature_space", "eval_seconds"} and last["feature_space"] == "points"
    assert {"fd", "fd_floor", "kid", "precision", "recall", "num_compared"} <= set(last["eval"])
    assert all(isinstance(v, (int, float)) for v in last["eval"].values())
    assert last["eval"]["num_compared"] == 200 and last["epoch"] == 1
    assert res.evaluation == last
    line = next(x for x in summary(res).splitlines() if x.startswith("eval (step 7):"))
    assert f"FD {last['eval']['fd']:.3g} (floor {last['eval']['fd_floor']:.3g}) · precision" in line
    assert "recall" in line


def test_no_eval_by_default(toy):
    res = fit(tiny(steps=3))
    assert res.evaluation is None and all("eval" not in r for r in res.metrics())
    assert "eval" not in summary(res)


def test_resume_with_eval_matches_an_uninterrupted_run(toy):
    cfg = tiny(steps=12, eval_every=4, eval_num=100, ema=0.9)
    a = fit({**cfg, "out": "a"})
    fit({**cfg, "out": "b", "train": {**cfg["train"], "steps": 6}})
    b = fit({**cfg, "out": "b"}, resume=True)
    la, ea = split(a.metrics())
    lb, eb = split(b.metrics())
    keys = ("step", "d_loss", "g_loss", "d_real", "d_fake")
    assert [[r[k] for k in keys] for r in lb] == [[r[k] for k in keys] for r in la]
    assert [r["step"] for r in eb] == [4, 6, 8, 12]  # the first session evaluated its last step too
    assert [r["eval"] for r in eb if r["step"] in (4, 8, 12)] == [r["eval"] for r in ea]
    # the clock goes on from the first session although its metrics.jsonl ended with an evaluation line
    assert lb[6]["time"] >= lb[5]["time"]
    from safetensors.torch import load_file

    ta, tb = load_file(str(a.checkpoint)), load_file(str(b.checkpoint))
    assert ta.keys() == tb.keys() and all((ta[k] == tb[k]).all() for k in ta)
    assert b.evaluation == eb[-1]


def test_resume_with_nothing_left_reports_no_new_eval(toy):
    fit(tiny(steps=4, eval_every=2, eval_num=100))
    res = fit(tiny(steps=4, eval_every=2, eval_num=100), resume=True)
    assert res.step == 4 and len(split(res.metrics())[1]) == 2


def test_streaming_dataset_with_eval_fails_before_writing(toy):
    cfg = tiny_images(steps=3, eval_every=2)
    cfg["dataset"] = {"name": "toy-digits", "streaming": True}
    with pytest.raises(UsageError, match="in-memory dataset"):
        fit(cfg)
    assert not Path("run").exists()


def test_eval_num_is_validated():
    cfg = {"gen": {"name": "g"}, "loss": {"name": "l"}, "dataset": {"name": "d"}}
    assert finalize(cfg).train["eval_num"] == 2000 and finalize(cfg).train["eval_every"] == 0
    with pytest.raises(ConfigError, match="eval_num"):
        finalize({**cfg, "train": {"eval_num": 5}})


def test_describe_eval():
    from ganzoo.training.progress import describe_eval

    images = {"step": 9, "feature_space": "classifier",
              "eval": {"fd": 2.4012, "fd_floor": 0.0412, "precision": 0.451, "recall": 0.762, "classes_covered": 10,
                       "num_classes": 10}}
    assert describe_eval(images) == "FD 2.4 (floor 0.0412) · precision 0.45 · recall 0.76 · classes 10/10"
    points = {"step": 9, "feature_space": "points",
              "eval": {"fd": 0.5, "modes_covered": 8, "num_modes": 8, "high_quality_share": 0.781}}
    assert describe_eval(points) == "FD 0.5 · modes 8/8 · high-quality 0.78"


def _builtin(kind: str, name: str) -> bool:
    import ganzoo

    try:
        return ganzoo.get_registry().has(kind, name)
    except Exception:
        return False


@pytest.mark.skipif(not all(_builtin(k, n) for k, n in (("generator", "vanilla"), ("dataset", "gaussians"))),
                    reason="built-in vanilla/gaussians plugins not available")
def test_cli_eval_every_on_builtin_gaussians(capsys):
    from ganzoo.cli import cli

    cli.main(["run", "--gen", "vanilla", "--loss", "bce", "--dataset", "gaussians", "--steps", "4", "--batch-size",
              "64", "--device", "cpu", "--out", "r", "--eval-every", "2", "--eval-num", "400", "--quiet"],
             standalone_mode=False)
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in Path("r/metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval" in r]
    assert [r["step"] for r in evals] == [2, 4]
    m = evals[-1]["eval"]
    assert m["num_modes"] == 8 and 0 <= m["modes_covered"] <= 8 and 0 <= m["high_quality_share"] <= 1
    assert {"fd", "fd_floor", "precision", "recall", "modes_covered_floor"} <= set(m)
    line = next(x for x in out.splitlines() if x.startswith("eval (step 4):"))
    assert f"modes {m['modes_covered']}/8" in line and "high-quality" in line and "FD" in line
