"""Metrics are a plugin kind (issue 24, item 5): every registered metric against its declaration, `ganzoo list
--kind metric`, `ganzoo eval --metric` (only those keys; unknown names and metrics a source cannot serve refused in
one line before anything is computed), `train.metrics`, the report, plot and progress line reading the registry,
closed forms through the registered metrics, and a third party's metric from docs/plugins.md §12, installed by
entry point and run through the CLI."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from conftest import ROOT, fit, install_toy, make_dist, run_cli, tiny, toy_env
from ganzoo import hookimpl
from ganzoo.base.errors import UsageError
from ganzoo.plugin.manager import get_registry
from ganzoo.base.specs import MetricKey
from ganzoo.testing import check_metric

DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
METRICS = DOC[DOC.index("\n## 12. Metrics"):]
BLOCKS = re.findall(r"```python\n(.*?)```", METRICS, re.S)


def block(needle: str) -> str:
    found = [b for b in BLOCKS if needle in b]
    assert len(found) == 1, f"one python block of §12 holds {needle!r}"
    return found[0]


def builtin_metrics() -> list[str]:
    import ganzoo.plugin.manager as gp

    names = [s.name for s in gp.get_registry().metrics()]
    gp.reset()  # the fixtures build a fresh registry for every test
    return names


BUILTIN = builtin_metrics()


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No Inception weights anywhere and a private classifier cache, as in test_eval."""
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(tmp_path / "missing-inception.pth"))
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))


def main(capsys, *args: str) -> tuple[int, str, str]:
    from ganzoo.cli import main as cli_main

    with pytest.raises(SystemExit) as exc:
        cli_main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def points_file(tmp_path: Path, n: int = 600, labels: bool = False) -> Path:
    from ganzoo.components.build import build_dataset

    x, _ = build_dataset("gaussians", {"n": n, "seed": 3}).tensors()
    tensors = {"points": x, **({"labels": torch.zeros(n, dtype=torch.long)} if labels else {})}
    save_file(tensors, str(tmp_path / "p.safetensors"), metadata={"dataset": "gaussians"})
    return tmp_path / "p.safetensors"


# -- the contract of every registered metric ------------------------------------------------------------

def test_the_builtin_metrics_are_registered_through_the_metrics_entry_point():
    assert {"fd", "kid", "precision-recall", "coverage", "conditional-accuracy", "modes", "memorization", "fid",
            "l1-psnr-ssim", "digit-kept", "cycle-digit-kept"} <= set(BUILTIN)
    registry = get_registry()
    assert {registry.get("metric", n).plugin.name for n in BUILTIN} == {"metrics"}
    assert all(registry.get("metric", n).plugin.dist == "ganzoo" for n in BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
def test_every_registered_metric_keeps_its_declaration(name):
    """Needs that exist, a factory that builds, only the keys it declares (floors beside them), finite numbers
    on a tiny evaluation, the same twice."""
    report = check_metric(name)
    if name == "fid":  # no Inception weights here (see `offline`): it says so and computes nothing
        assert report.skipped and "Inception" in report.skipped
    else:
        assert report.ok and "builds" in report.checks and any(c.startswith("numbers of") for c in report.checks)


def test_a_metric_returning_an_undeclared_key_or_a_missing_floor_or_reading_an_undeclared_input_fails(add_plugin):
    from ganzoo.evaluation.metric import Metric
    from ganzoo.testing import ConformanceError

    class Extra(Metric):
        def __call__(self, ev):
            return {"spread": 1.0, "spread_floor": 1.0, "surprise": 2.0}

    class NoFloor(Metric):
        def __call__(self, ev):
            return {"spread": 1.0}

    class Sneaky(Metric):  # reads class probabilities, declares only features
        def __call__(self, ev):
            return {"spread": float(ev.probs().mean()), "spread_floor": 1.0}

    class Plugin:
        @hookimpl
        def ganzoo_register_components(self, register):
            key = (MetricKey("spread", "spread", floor=True),)
            register.metric("extra", lambda: Extra(), needs=("features",), keys=key)
            register.metric("no-floor", lambda: NoFloor(), needs=("features",), keys=key)
            register.metric("sneaky", lambda: Sneaky(), needs=("features",), keys=key)

    add_plugin(Plugin(), "bad-metrics")
    with pytest.raises(ConformanceError, match=r"returned 'surprise', which it does not declare"):
        check_metric("extra")
    with pytest.raises(ConformanceError, match=r"without spread_floor"):
        check_metric("no-floor")
    with pytest.raises(ConformanceError, match=r"reads the samples' class probabilities without declaring it "
                                               r"needs classes"):
        check_metric("sneaky")


def test_a_wrong_declaration_fails_on_the_line_that_made_it(add_plugin):
    from ganzoo.plugin.registry import ComponentRegistrar, Registry
    from ganzoo.base.specs import PluginInfo

    register = ComponentRegistrar(Registry(), PluginInfo("p"))
    with pytest.raises(ValueError, match="needs must be one of"):
        register.metric("m", "x:Y", needs=("lables",), keys=(MetricKey("m"),))
    with pytest.raises(ValueError, match="tuple of names"):
        register.metric("m", "x:Y", needs="labels", keys=(MetricKey("m"),))
    with pytest.raises(ValueError, match="declare the numbers"):
        register.metric("m", "x:Y")
    with pytest.raises(ValueError, match="better must be one of"):
        register.metric("m", "x:Y", keys=(MetricKey("m", better="smaller"),))
    with pytest.raises(ValueError, match="counts out of 'total'"):
        register.metric("m", "x:Y", keys=(MetricKey("m", total="total"),))


# -- listing without torch ----------------------------------------------------------------------------

def test_list_kind_metric_shows_every_metric_and_what_it_declares(capsys):
    code, out, _ = main(capsys, "list", "--kind", "metric", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == set(BUILTIN) and all(r["kind"] == "metric" for r in rows.values())
    assert rows["conditional-accuracy"]["needs"] == ["labels", "classes"] and rows["fd"]["takes"] == ["noise", "image"]
    assert rows["l1-psnr-ssim"]["keys"] == ["l1", "psnr", "ssim"] and rows["fd"]["default"] is True
    code, out, _ = main(capsys, "list", "--kind", "metric")
    assert code == 0 and "precision-recall" in out and "(default)" not in out  # default set, not the default recipe


def test_list_and_info_of_metrics_import_no_torch():
    code = ("import sys\nfrom ganzoo.cli import main\n"
            "for args in (['list', '--kind', 'metric'], ['info', 'fd'], ['info', 'memorization', '--json']):\n"
            "    try:\n        main(args)\n    except SystemExit as exc:\n        assert not exc.code, args\n"
            "print('LOADED', [m for m in sys.modules if m == 'torch' or m.startswith('ganzoo.evaluation')])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "LOADED []" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "needs features" in proc.stdout and "fd_floor" in proc.stdout and '"heldout"' in proc.stdout


# -- ganzoo eval --metric -----------------------------------------------------------------------------

def test_eval_metric_computes_those_alone_with_the_numbers_of_the_default_set(tmp_path, capsys):
    path = points_file(tmp_path)
    code, out, _ = main(capsys, "eval", str(path), "--metric", "fd", "--metric", "modes", "--json")
    assert code == 0
    chosen = json.loads(out)
    numbers = {k for k, v in chosen.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    assert numbers == {"num", "num_compared", "seed", "fd", "fd_floor", "modes_covered", "num_modes",
                       "high_quality_share", "modes_covered_floor", "high_quality_share_floor"}
    code, out, _ = main(capsys, "eval", str(path), "--json")
    every = json.loads(out)
    assert {"kid", "precision", "recall", "memorized"} <= set(every) - set(chosen)  # the default set
    assert {k: every[k] for k in numbers} == {k: chosen[k] for k in numbers}  # the same numbers either way
    code, out, _ = main(capsys, "eval", str(path), "--metric", "fd")
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["metric", "value"])
    labels = [line.split()[0] for line in lines[header + 1:] if line and not line[0].isspace()]
    assert code == 0 and labels[:2] == ["FD", "real"]  # one row, then the footer's "real vs real"
    assert "precision" not in out and "modes" not in out


def test_an_unknown_metric_is_one_line_with_a_suggestion(tmp_path, capsys):
    path = points_file(tmp_path)
    code, out, err = main(capsys, "eval", str(path), "--metric", "fdd")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "unknown metric 'fdd'" in err and "did you mean fd?" in err
    with pytest.raises(UsageError, match="unknown metric 'precision'"):
        __import__("ganzoo").evaluate(path, metrics=["precision"])


@pytest.mark.parametrize("metric,message", [
    ("conditional-accuracy", "needs the class each sample was drawn for"),
    ("l1-psnr-ssim", "measures translations of images"),
    ("cycle-digit-kept", "measures translations of images"),
])
def test_a_metric_the_samples_cannot_serve_is_refused_in_one_line(tmp_path, capsys, metric, message):
    code, out, err = main(capsys, "eval", str(points_file(tmp_path)), "--metric", metric)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_a_run_is_refused_before_any_sample_is_drawn(toy, tmp_path, monkeypatch):
    import ganzoo
    import ganzoo.evaluation.runs as runs

    cfg = tiny(steps=2)
    cfg["out"] = str(tmp_path / "run")
    fit(cfg)

    def drawn(*args, **kwargs):
        raise AssertionError("samples were drawn before the metrics were checked")

    monkeypatch.setattr(runs, "sample_generator", drawn)
    with pytest.raises(UsageError, match=r"metric 'conditional-accuracy' needs .*: generator 'toy-mlp' is "
                                         r"unconditional"):
        ganzoo.evaluate(tmp_path / "run", metrics=["conditional-accuracy"])
    with pytest.raises(UsageError, match="declares no held-out split"):
        ganzoo.evaluate(tmp_path / "run", metrics=["memorization"])


# -- during training -----------------------------------------------------------------------------------

def test_train_metrics_choose_what_training_evaluates(toy):
    res = fit(tiny(steps=4, eval_every=2, eval_num=200, metrics=["precision-recall"]))
    evals = [r for r in res.metrics() if "eval" in r]
    assert [r["step"] for r in evals] == [2, 4]
    assert set(evals[-1]["eval"]) == {"precision", "recall", "precision_floor", "recall_floor", "num_compared"}


def test_train_metrics_a_run_cannot_serve_are_refused_before_it_starts(toy, tmp_path):
    cfg = tiny(steps=2, eval_every=1, metrics=["conditional-accuracy"])
    cfg["out"] = str(tmp_path / "run")
    with pytest.raises(UsageError, match="toy-mlp' is unconditional"):
        fit(cfg)
    assert not (tmp_path / "run").exists()
    cfg["train"]["metrics"] = ["fdd"]
    with pytest.raises(UsageError, match="unknown metric 'fdd'"):
        fit(cfg)


# -- report, plot and progress read the registry -----------------------------------------------------

@pytest.fixture
def sharp(add_plugin):
    """A plugin's metric, declared in the registry alone (the report, plot and progress never build it)."""

    class Plugin:
        @hookimpl
        def ganzoo_register_components(self, register):
            register.metric("sharpness", lambda: None, needs=("images",), keys=(
                MetricKey("sharpness", "sharpness", "{:.1f}", "higher", floor=True, brief="sharp",
                          brief_fmt="{:.1f}", brief_floor=True, hint="edges per image"),))

    return add_plugin(Plugin(), "sharp")


def test_report_rows_are_the_registered_keys_in_registration_order(sharp):
    from ganzoo.evaluation.report import rows

    result = {"feature_space": "pixels", "fd": 2.0, "fd_floor": 0.5, "sharpness": 3.25, "sharpness_floor": 4.0,
              "precision": 0.5, "unknown_key": 1.0}
    assert rows(result) == [
        ("FD-pixels", "2.000", "0.500", "lower is better; near the floor = as good as this many samples can tell"),
        ("precision", "0.500", "-", "fidelity: share of samples on the real data's manifold"),
        ("sharpness", "3.2", "4.0", "edges per image"),
    ]
    translated = rows({"task": "translation", "feature_space": "classifier", "fd": 1.0, "fd_floor": 1.0})
    assert translated == [("FD-classifier", "1.000", "1.000",
                           "outputs vs real target images; lower is better, the floor is the best")]


def test_the_progress_line_takes_names_and_formats_from_the_registry(sharp):
    from ganzoo.training.progress import describe_eval

    row = {"feature_space": "pixels", "eval": {"fd": 1.2345, "fd_floor": 0.5, "kid": 0.1, "sharpness": 3.25,
                                               "sharpness_floor": 4.0, "classes_covered": 7, "num_classes": 10}}
    assert describe_eval(row) == "FD-pixels 1.23 (floor 0.5) · classes 7/10 · sharp 3.2 (floor 4.0)"


def test_plot_panels_follow_the_registry_and_say_which_way_is_better(sharp):
    pytest.importorskip("matplotlib")
    from ganzoo.runs.plotting import Curves, run_figure

    rows = [{"step": 1, "d_loss": 1.0, "g_loss": 1.0},
            {"step": 1, "eval": {"sharpness": 2.0, "memorized": 0.1, "fd": 3.0, "modes_covered": 8, "num_modes": 8,
                                 "num_compared": 50, "old": 1.0}}]
    fig = run_figure(Curves.from_rows("r", rows))
    panels = {ax.get_title(): ax.get_ylabel() for ax in fig.axes if ax.get_visible()}
    # registration order (modes before memorization, a plugin's after ganzoo's), then keys no metric declares
    assert list(panels) == ["losses", "fd", "modes_covered", "memorized", "sharpness", "old"]
    assert panels["fd"] == "lower is better" and panels["sharpness"] == "higher is better" and panels["old"] == ""


# -- closed forms through the registered metrics ------------------------------------------------------

def _evaluation(samples, heldout, train, takes="noise", targets=None):
    """An evaluation of ``samples`` against real points: the points' own space, no classifier."""
    from ganzoo.evaluation.features import FeatureSpace
    from ganzoo.evaluation.metric import Evaluation
    from ganzoo.evaluation.reference import Reference
    from ganzoo.base.specs import DataInfo

    class Data:
        info = DataInfo(tuple(train.shape[1:]), None, len(train), "points" if train.dim() == 2 else "image")

    ref = Reference("closed-form", {}, Data(), train, None, heldout, None)
    space = FeatureSpace("points", lambda x: (x.double().flatten(1), None), {})
    return Evaluation(samples, takes, None, targets, ref, space, min(len(samples), len(heldout), len(train)), 0)


def _run(name, ev):
    from ganzoo.evaluation.metric import score

    return score(ev, [get_registry().get("metric", name)])


def test_fd_of_the_heldout_points_themselves_is_zero_and_precision_recall_one():
    g = torch.Generator().manual_seed(0)
    held, train = torch.randn(300, 3, generator=g), torch.randn(400, 3, generator=g) * 2 + 1
    ev = _evaluation(held.clone(), held, train)  # every held-out point, in another order: the same set
    assert _run("fd", ev)["fd"] == pytest.approx(0.0, abs=1e-6)
    pr = _run("precision-recall", ev)
    assert pr["precision"] == pr["recall"] == 1.0
    # the floor: train ~ N(1, 4 I) against held-out ~ N(0, I) in 3-d: |mu|^2 + tr(S1 + S2 - 2 sqrt(S1 S2)) = 3 + 3
    assert _run("fd", ev)["fd_floor"] == pytest.approx(6.0, rel=0.25)


def test_copies_of_training_points_are_memorized():
    g = torch.Generator().manual_seed(1)
    held, train = torch.randn(400, 2, generator=g), torch.randn(500, 2, generator=g)
    numbers = _run("memorization", _evaluation(train[:300].clone(), held, train))
    assert numbers["memorized"] == 1.0 and numbers["memorized_floor"] == pytest.approx(0.05, abs=0.05)


def test_psnr_of_a_known_mse_through_the_registered_metric():
    targets = torch.full((4, 1, 16, 16), 100, dtype=torch.uint8)
    outputs = targets + 10  # MSE on [0, 1] pixels: (10/255)^2
    ev = _evaluation(outputs, targets, targets, takes="image", targets=targets)
    numbers = _run("l1-psnr-ssim", ev)
    assert numbers["psnr"] == pytest.approx(10 * math.log10(255 ** 2 / 100), rel=1e-5)
    assert numbers["l1"] == pytest.approx(2 * 10 / 255, rel=1e-6)


# -- a third party's metric, by entry point, through the command line ----------------------------------

@pytest.fixture
def acme(tmp_path):
    """docs/plugins.md §12's metric as an installed distribution, with the toy plugin beside it."""
    site = install_toy(tmp_path / "site")
    make_dist(site, "ganzoo-acme", "0.1.0", {"ganzoo_acme/__init__.py": block("register.metric("),
                                             "ganzoo_acme/spread.py": block("class Spread(Metric)")},
              {"acme": "ganzoo_acme"})
    return toy_env(site)


def test_a_third_party_metric_from_the_docs_runs_by_name_through_the_cli(acme, toy, tmp_path):
    cfg = tiny(steps=3)
    cfg["out"] = str(tmp_path / "run")
    fit(cfg)
    listed = run_cli("list", "--kind", "metric", "--json", env=acme)
    row = next(r for r in json.loads(listed.stdout) if r["name"] == "acme-spread")
    assert row["distribution"] == "ganzoo-acme" and row["default"] is False and row["keys"] == ["spread"]
    proc = run_cli("eval", str(tmp_path / "run"), "--metric", "acme-spread", "--num", "300", "--json", env=acme)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    numbers = {k for k, v in result.items() if isinstance(v, float)}
    assert numbers == {"spread", "spread_floor"} and 0 < result["spread"] and 0.5 < result["spread_floor"] < 2
    table = run_cli("eval", str(tmp_path / "run"), "--metric", "acme-spread", "--metric", "fd", "--num", "300",
                    env=acme)
    assert table.returncode == 0 and "feature spread" in table.stdout and "FD " in table.stdout
    plain = run_cli("eval", str(tmp_path / "run"), "--num", "300", "--json", env=acme)
    assert plain.returncode == 0 and "spread" not in json.loads(plain.stdout)  # not default: named only
    bad = run_cli("eval", str(tmp_path / "run"), "--metric", "acme-spred", env=acme)
    assert bad.returncode == 2 and "did you mean acme-spread?" in bad.stderr and bad.stderr.count("\n") == 1
