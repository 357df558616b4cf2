"""Loggers (experiment trackers): the `tensorboard` built-in read back with TensorBoard's own reader,
failure isolation, `--logger` names, the missing-extra hint and the conformance check."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import fit, make_dist, run_cli, tiny, tiny_images

from ganzoo.base.errors import UnknownNameError
from ganzoo.training.loggers import Logger, LoggerSet, check_loggers

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.api_pb2 import Status
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

EXTRA_HINT = 'pip install "ganzoo[tensorboard]"'


def events(run_dir: Path) -> EventAccumulator:
    """Every event file of the run's tensorboard/ folder, read as TensorBoard reads them (nothing sampled away)."""
    return EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0}).Reload()


def hparams(acc: EventAccumulator) -> tuple[dict, int]:
    """The hyper-parameters (name -> number, text or bool) and the session's end status."""
    content = acc.PluginTagToContent("hparams")
    start = HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    end = HParamsPluginData.FromString(content["_hparams_/session_end_info"]).session_end_info
    values = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    return values, end.status


def steps(acc: EventAccumulator, tag: str) -> list[int]:
    return [e.step for e in acc.Scalars(tag)]


# -- a real run, through the command line -----------------------------------------------------------

BOOM_INIT = textwrap.dedent('''
    from ganzoo import hookimpl

    @hookimpl
    def ganzoo_register_components(register):
        register.logger("boom", "boomlog.impl:Boom")
''')
BOOM_IMPL = textwrap.dedent('''
    from ganzoo.training.loggers import Logger

    class Boom(Logger):
        """Raises at its second metrics line."""
        def __init__(self, run_dir):
            self.lines = 0
        def scalars(self, step, values):
            self.lines += 1
            if self.lines == 2:
                raise RuntimeError("tracker server unreachable")
''')


def test_run_writes_tensorboard_events_and_survives_a_raising_logger(dist_site, tmp_path):
    make_dist(dist_site, "ganzoo-boomlog", "0.3", {"boomlog/__init__.py": BOOM_INIT, "boomlog/impl.py": BOOM_IMPL},
              {"boomlog": "boomlog"})
    r = run_cli("run", "--gen", "vanilla", "--loss", "bce", "--dataset", "gaussians", "--steps", "4",
                "--batch-size", "64", "--latent-dim", "4", "--device", "cpu", "--out", "r", "--sample-every", "2",
                "--eval-every", "4", "--eval-num", "64", "--set", "train.log_every=1",
                "--logger", "tensorboard", "--logger", "boom", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if "boom" in line]
    assert warnings == [line for line in r.stderr.splitlines() if line.strip()]  # nothing else on stderr
    assert len(warnings) == 1, r.stderr
    assert ("warning: logger 'boom' from plugin 'boomlog' (ganzoo-boomlog 0.3) failed in scalars and is off for "
            "the rest of the run: RuntimeError: tracker server unreachable") == warnings[0]

    run = tmp_path / "r"
    acc = events(run)
    assert {"d_loss", "g_loss", "images_per_sec", "eval/fd"} <= set(acc.Tags()["scalars"])
    assert steps(acc, "d_loss") == steps(acc, "g_loss") == [1, 2, 3, 4]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = {row["step"]: row["d_loss"] for row in rows if "d_loss" in row}
    assert [e.value for e in acc.Scalars("d_loss")] == pytest.approx([losses[s] for s in (1, 2, 3, 4)])
    fd = next(row["eval"]["fd"] for row in rows if "eval" in row)
    assert [(e.step, e.value) for e in acc.Scalars("eval/fd")] == [(4, pytest.approx(fd))]
    grids = acc.Images("samples")
    assert [e.step for e in grids] == [2, 4]
    assert grids[-1].encoded_image_string == (run / "samples" / "step-000004.png").read_bytes()
    values, status = hparams(acc)
    assert values["gen.name"] == "vanilla" and values["dataset.name"] == "gaussians"
    assert values["train.batch_size"] == 64 and values["train.loggers"] == "tensorboard, boom"
    assert status == Status.Value("STATUS_SUCCESS")


def test_unknown_logger_fails_in_one_line_before_anything_is_written(tmp_path):
    r = run_cli("run", "--gen", "vanilla", "--loss", "bce", "--dataset", "gaussians", "--logger", "tensorbord",
                "--out", "r", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == "error: unknown logger 'tensorbord' (did you mean tensorboard?)"
    assert not (tmp_path / "r").exists()


def test_check_loggers_looks_names_up_torch_free():
    import ganzoo

    registry = ganzoo.get_registry()
    (spec,) = check_loggers(["tensorboard", "tensorboard"], registry)
    assert spec.name == "tensorboard" and spec.plugin.name == "loggers"
    with pytest.raises(UnknownNameError, match=r"unknown logger 'tensorbaord' \(did you mean tensorboard\?\)"):
        check_loggers(["tensorboard", "tensorbaord"], registry)
    with pytest.raises(UnknownNameError, match="'bce' is a loss, not a logger"):
        check_loggers(["bce"], registry)


# -- in process: isolation, resume, the missing extra ------------------------------------------------

class Recorder(Logger):
    """Records every call; ``fail`` names a method that raises from its second call on."""

    instances: ClassVar[list[Recorder]] = []

    def __init__(self, run_dir, fail=None):
        self.run_dir, self.fail, self.calls = run_dir, fail, []
        Recorder.instances.append(self)

    def _note(self, method, *args):
        self.calls.append((method, *args))
        if method == self.fail and sum(c[0] == method for c in self.calls) >= 2:
            raise ValueError("bad value\nsecond line of the message")

    def start(self, config, meta):
        self._note("start", config, meta)

    def scalars(self, step, values):
        self._note("scalars", step, values)

    def image(self, tag, step, path):
        self._note("image", tag, step, path)

    def evaluation(self, step, values):
        self._note("evaluation", step, values)

    def close(self, status):
        self._note("close", status)


class RecorderPlugin:
    from ganzoo import hookimpl

    @hookimpl
    def ganzoo_register_components(self, register):
        register.logger("recorder", Recorder)
        register.logger("flaky", lambda run_dir: Recorder(run_dir, fail="scalars"))
        register.logger("broken", lambda run_dir: 1 / 0)


@pytest.fixture
def recorder(add_plugin, toy):
    Recorder.instances = []
    return add_plugin(RecorderPlugin(), "recorder", dist="ganzoo-recorder", version="2.0")


def test_loggers_see_the_whole_run_and_a_raising_one_is_dropped_once(recorder, capsys):
    res = fit(tiny_images(steps=4, sample_every=2, loggers=["flaky", "broken", "recorder"]))
    assert res.step == 4
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err == [
        "warning: logger 'broken' from plugin 'recorder' (ganzoo-recorder 2.0) failed in start and is off for the "
        "rest of the run: ZeroDivisionError: division by zero",
        "warning: logger 'flaky' from plugin 'recorder' (ganzoo-recorder 2.0) failed in scalars and is off for the "
        "rest of the run: ValueError: bad value"]
    flaky, healthy = Recorder.instances
    assert [c[0] for c in flaky.calls] == ["start", "scalars", "scalars", "close"]
    assert flaky.calls[-1] == ("close", "failed")  # released when it was dropped, and never called again

    calls = healthy.calls
    (start,), closes = [c for c in calls if c[0] == "start"], [c for c in calls if c[0] == "close"]
    assert calls[0] == start and calls[-1] == closes[0] == ("close", "finished") and len(closes) == 1
    config, meta = start[1], start[2]
    assert config["gen"]["name"] == "toy-mlp" and config["train"]["loggers"] == ["flaky", "broken", "recorder"]
    assert meta["start_step"] == 0 and meta["components"]["generator"]["name"] == "toy-mlp"
    scalars = [c for c in calls if c[0] == "scalars"]
    assert [c[1] for c in scalars] == [1, 2, 3, 4]
    assert {"d_loss", "g_loss", "images_per_sec"} <= set(scalars[0][2]) and "step" not in scalars[0][2]
    assert all(isinstance(v, float) for v in scalars[0][2].values())
    rows = res.metrics()
    assert [c[2]["d_loss"] for c in scalars] == [r["d_loss"] for r in rows]
    images = [c[1:] for c in calls if c[0] == "image"]
    assert [(tag, step, path.name) for tag, step, path in images] == [("samples", 2, "step-000002.png"),
                                                                      ("samples", 4, "step-000004.png")]


def test_interrupted_and_failed_runs_close_with_their_status(recorder, monkeypatch):
    from ganzoo.base.errors import TrainingError
    from ganzoo.training.results import TrainingInterrupted
    from ganzoo.training.trainer import Trainer

    def stop_at_2(step):
        if step == 2:
            trainer._request_stop(2)  # as SIGINT does

    trainer = Trainer(tiny(steps=5, loggers=["recorder"]), progress="quiet", before_step=stop_at_2)
    with pytest.raises(TrainingInterrupted):
        trainer.fit()
    assert Recorder.instances[-1].calls[-1] == ("close", "interrupted")

    def diverge(step):
        if step == 3:
            raise TrainingError("the loss became nan")

    trainer = Trainer({**tiny(steps=5, loggers=["recorder"]), "out": "again"}, progress="quiet",
                      before_step=diverge)
    with pytest.raises(TrainingError):
        trainer.fit()
    assert Recorder.instances[-1].calls[-1] == ("close", "failed")


def test_resumed_run_continues_the_event_files(toy):
    fit(tiny(steps=4, loggers=["tensorboard"], checkpoint_every=2))
    fit(tiny(steps=6, loggers=["tensorboard"], checkpoint_every=2), resume=True)
    acc = events(Path("run"))
    assert steps(acc, "d_loss") == [1, 2, 3, 4, 5, 6]
    rows = {r["step"]: r["d_loss"] for r in (json.loads(line) for line in Path("run/metrics.jsonl").open())}
    assert [e.value for e in acc.Scalars("d_loss")] == pytest.approx([rows[s] for s in range(1, 7)])


def test_resume_hides_what_was_logged_after_the_checkpoint(tmp_path):
    """Steps 3 and 4 of the first session are logged again after resuming from step 2: TensorBoard shows the new ones."""
    import ganzoo

    (spec,) = check_loggers(["tensorboard"], ganzoo.get_registry())
    first = LoggerSet.open([spec], tmp_path, {"train": {"lr": 0.1}}, {"start_step": 0})
    for step in (1, 2, 3, 4):
        first.scalars(step, {"d_loss": float(step)})
    first.close("interrupted")
    again = LoggerSet.open([spec], tmp_path, {"train": {"lr": 0.1}}, {"start_step": 2})
    for step in (3, 4, 5):
        again.scalars(step, {"d_loss": -float(step)})
    again.close("finished")
    acc = events(tmp_path)
    assert [(e.step, e.value) for e in acc.Scalars("d_loss")] == [(1, 1.0), (2, 2.0), (3, -3.0), (4, -4.0), (5, -5.0)]
    assert hparams(acc)[1] == Status.Value("STATUS_SUCCESS")


def test_missing_tensorboard_package_is_one_line_naming_the_extra(toy, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # what `import` finds when it is not installed
    res = fit(tiny(steps=2, loggers=["tensorboard"]))
    assert res.step == 2 and res.metrics()
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and EXTRA_HINT in err[0] and "logger 'tensorboard' from plugin 'loggers'" in err[0], err
    assert not Path("run/tensorboard").exists()


def test_logger_set_passes_finite_numbers_and_checks_the_status(tmp_path):
    seen = []

    class Keep(Logger):
        def scalars(self, step, values):
            seen.append((step, values))

    from ganzoo.base.specs import ComponentSpec, PluginInfo

    spec = ComponentSpec("logger", "keep", Keep, PluginInfo("p"))
    loggers = LoggerSet([(spec, Keep())])
    loggers.scalars(3, {"step": 3, "d_loss": 1, "ok": True, "bad": float("nan"), "note": "x", "nested": {"a": 1}})
    assert seen == [(3, {"d_loss": 1.0})]
    with pytest.raises(ValueError, match="status must be one of finished, interrupted, failed"):
        loggers.close("done")


# -- the settings and the flag ------------------------------------------------------------------------

def test_logger_flag_repeats_into_train_loggers():
    from ganzoo.cli.commands.run_cmd import _flag_layer, run_cmd
    from ganzoo.base.errors import ConfigError
    from ganzoo.config.settings import TrainSettings

    def parse(*args):
        return _flag_layer(dict(run_cmd.make_context("run", list(args)).params))

    assert parse() == {}
    assert parse("--logger", "tensorboard", "--logger", "wandb") == {"train": {"loggers": ["tensorboard", "wandb"]}}
    assert TrainSettings.from_table({}).loggers == ()
    assert TrainSettings.from_table({"loggers": "tensorboard"}).to_table()["loggers"] == ["tensorboard"]
    for bad in (["TensorBoard"], 3, [1], ["a b"]):
        with pytest.raises(ConfigError, match=r"train\.loggers must be a list of names, not "):
            TrainSettings.from_table({"loggers": bad})


# -- the conformance suite ------------------------------------------------------------------------------

class NoMethods:
    def __init__(self, run_dir):
        pass


class BadImage(Logger):
    def __init__(self, run_dir):
        pass

    def image(self, tag, step, path):
        raise OSError(f"cannot read {path}")


@pytest.mark.parametrize(("factory", "message"), [
    (NoMethods, "factory returned NoMethods, which has no start, scalars, image, evaluation, close"),
    (BadImage, r"image\(\) raised OSError: cannot read .*step-000002\.png"),
    (lambda run_dir: 1 / 0, "factory raised ZeroDivisionError"),
])
def test_conformance_catches_broken_loggers(add_plugin, factory, message):
    from ganzoo import hookimpl
    from ganzoo.testing import ConformanceError, check_component

    class One:
        @hookimpl
        def ganzoo_register_components(self, register):
            register.logger("broken-thing", factory)

    add_plugin(One(), "broken", dist="ganzoo-broken", version="0.2.0")
    with pytest.raises(ConformanceError, match=message) as info:
        check_component("logger", "broken-thing")
    assert "logger 'broken-thing' from plugin 'broken' (ganzoo-broken 0.2.0)" in str(info.value)


def test_conformance_skips_a_logger_whose_extra_is_missing(monkeypatch):
    from ganzoo.testing import check_logger

    assert check_logger("tensorboard").checks == ["builds", "start", "scalars", "image", "evaluation", "close"]
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    report = check_logger("tensorboard")
    assert report.skipped and EXTRA_HINT in report.skipped
