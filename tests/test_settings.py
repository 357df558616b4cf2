"""The [train] schema (ganzoo.config.settings): one declaration behind the flags, the checks, config.toml and the docs."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from ganzoo.cli.commands.run_cmd import _flag_layer, run_cmd
from ganzoo.config.runconfig import config_toml, finalize, resolve
from ganzoo.base.errors import ConfigError
from ganzoo.config.settings import SETTINGS, TRAIN_DEFAULTS, TrainSettings, check_device, markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"

# The defaults as they were before the schema existed (configlayers.TRAIN_DEFAULTS): the schema must keep them.
BEFORE = {
    "epochs": None, "steps": None, "batch_size": 64, "lr": 2e-4, "betas": [0.5, 0.999], "latent_dim": 100,
    "seed": 0, "device": "auto", "amp": True, "ema": 0.0, "sample_every": 0, "checkpoint_every": 0,
    "keep_every": 0, "log_every": 50, "eval_every": 0, "eval_num": 2000, "compile": False, "channels_last": "auto",
}
# Settings added since, each off by default: a config without them trains as before (ema_rampup acts only
# with ema_kimg, which is off).
ADDED = {"lr_d": None, "betas_d": None, "loggers": [], "init": None, "ema_kimg": 0.0, "ema_rampup": 0.05,
         "metrics": []}
NAMES = {"gen": {"name": "g"}, "loss": {"name": "l"}, "dataset": {"name": "d"}}


def test_every_key_and_default_is_kept():
    assert TRAIN_DEFAULTS == {**BEFORE, **ADDED}
    assert [k for k in TRAIN_DEFAULTS if k in BEFORE] == list(BEFORE)
    assert finalize(dict(NAMES)).train == {**BEFORE, **ADDED, "epochs": 1}  # neither epochs nor steps: one epoch


def test_docs_table_is_generated_from_the_schema():
    assert DOCS.read_text(encoding="utf-8") == markdown(), \
        "docs/settings.md is stale: python -m ganzoo.config.settings > docs/settings.md"
    for s in SETTINGS:
        assert f"| `{s.name}` |" in markdown()


def parse_run(*args: str) -> dict:
    """The config layer `ganzoo run ARGS` makes of its flags (click parses, nothing trains)."""
    ctx = run_cmd.make_context("run", list(args))
    return _flag_layer(dict(ctx.params))


def test_flags_come_from_the_schema_with_their_defaults_in_the_help():
    flagged = [s for s in SETTINGS if s.flag]
    options = {opt for p in run_cmd.params for opt in p.opts}
    assert {s.flag for s in flagged} <= options
    help_text = run_cmd.get_help(run_cmd.make_context("run", []))
    for s in flagged:
        if s.kind != "bool" and not s.optional:
            assert f"[default: {s.default_text}]" in " ".join(help_text.split()), s.name
    assert parse_run() == {}  # a flag not given is no layer at all
    assert parse_run("--batch-size", "8", "--lr", "1e-3", "--no-amp", "--compile", "--ema", "0.9",
                     "--device", "cuda:1") == {
        "train": {"batch_size": 8, "lr": 1e-3, "amp": False, "compile": True, "ema": 0.9, "device": "cuda:1"}}


def test_device_is_checked_the_same_everywhere():
    for ok in ("auto", "cpu", "cuda", "cuda:1", "cuda:12", "mps"):
        assert check_device(ok) == ok
        assert finalize({**NAMES, "train": {"device": ok}}).train["device"] == ok
    for bad in ("tpu", "cuda:", "cuda:x", "cuda:\u0661", "CPU", "cpu ", 1):  # \u0661: an Arabic-Indic 1
        with pytest.raises(ConfigError, match=r"train\.device must be auto, cpu, cuda, cuda:N or mps"):
            check_device(bad)
    # `ganzoo run --device cuda:1` gets past the flag (click.Choice refused it) into the config
    assert resolve(flags=parse_run("--device", "cuda:1", "--gen", "g", "--loss", "l", "--dataset", "d")
                   ).train["device"] == "cuda:1"


def test_epochs_with_steps_is_refused_in_one_place_for_every_layer(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        resolve(flags=parse_run("--epochs", "1", "--steps", "2", "--gen", "g", "--loss", "l", "--dataset", "d"))
    with pytest.raises(ConfigError, match="not both"):
        finalize({**NAMES, "train": {"epochs": 1, "steps": 2}})
    f = tmp_path / "c.toml"
    f.write_text("[train]\nepochs = 1\nsteps = 2\n")
    with pytest.raises(ConfigError, match="not both"):
        resolve(config_file=f, flags=dict(NAMES))
    # across layers the later one wins instead
    f.write_text("[train]\nepochs = 4\n")
    cfg = resolve(config_file=f, flags={**NAMES, "train": {"steps": 2}})
    assert cfg.train["epochs"] is None and cfg.train["steps"] == 2


def test_cli_epochs_with_steps_is_one_line_exit_2(cli, tmp_path):
    r = cli("run", "--epochs", "1", "--steps", "2", "--gen", "vanilla", "--dataset", "gaussians", "--loss", "bce",
            "--out", "r", cwd=tmp_path)
    assert r.returncode == 2 and "not both" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("key, bad", [
    ("epochs", 0), ("epochs", 1.5), ("epochs", True), ("steps", -1), ("batch_size", 0), ("latent_dim", "8"),
    ("seed", -1), ("log_every", 0), ("eval_num", 9), ("sample_every", -1), ("checkpoint_every", 0.5),
    ("keep_every", None), ("eval_every", "x"),
    ("lr", 0.0), ("lr", -1e-4), ("lr", math.inf), ("lr", math.nan), ("lr", True), ("lr", "2e-4"),
    ("ema", 1.0), ("ema", -0.1), ("ema", "on"),
    ("betas", [0.5]), ("betas", [0.5, 1.0]), ("betas", [-0.1, 0.9]), ("betas", "0.5,0.9"), ("betas", [True, 0.9]),
    ("amp", "yes"), ("amp", 1), ("compile", None), ("channels_last", "yes"), ("channels_last", 1),
])
def test_bad_values_name_the_key_and_what_it_accepts(key, bad):
    with pytest.raises(ConfigError, match=rf"train\.{key} must be .*, not "):
        TrainSettings.from_table({key: bad})


@pytest.mark.parametrize("key, given, stored", [
    ("epochs", 1, 1), ("steps", 5, 5), ("seed", 0, 0), ("eval_num", 10, 10), ("log_every", 1, 1),
    ("lr", 1, 1.0), ("lr", 5e-324, 5e-324), ("ema", 0, 0.0), ("ema", 0.999, 0.999), ("ema", "off", 0.0),
    ("ema", None, 0.0), ("ema", False, 0.0), ("ema", "none", 0.0), ("betas", [0, 0.9], [0.0, 0.9]),
    ("channels_last", True, True), ("channels_last", "auto", "auto"), ("amp", False, False),
])
def test_good_values_are_stored_as_a_run_reads_them(key, given, stored):
    table = TrainSettings.from_table({key: given}).to_table()
    assert table[key] == stored and type(table[key]) is type(stored)


def test_config_toml_train_table_is_the_schema(tmp_path):
    cfg = finalize({**NAMES, "train": {"steps": 3, "ema": 0.5}})
    written = tomllib.loads(config_toml(cfg))["train"]
    assert written == {k: v for k, v in cfg.settings.to_table().items() if v is not None}
    assert "epochs" not in written and written["betas"] == [0.5, 0.999]
    assert cfg.settings == TrainSettings.from_table(written)


def test_train_table_is_read_only():
    cfg = finalize(dict(NAMES))
    with pytest.raises(TypeError):
        cfg.train["lr"] = 1.0  # type: ignore[index]
    assert cfg.train["lr"] == cfg.settings.lr == 2e-4


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_sample_and_eval_take_devices_as_run_does(command, tmp_path):
    import importlib

    cmd = getattr(importlib.import_module(f"ganzoo.cli.commands.{command}_cmd"), f"{command}_cmd")
    run = str(tmp_path)  # parsing only: nothing is sampled or evaluated
    assert cmd.make_context(command, [run, "--device", "cuda:1"]).params["device"] == "cuda:1"
    assert cmd.make_context(command, [run]).params["device"] == "cpu"
    with pytest.raises(ConfigError, match="--device must be auto, cpu, cuda, cuda:N or mps, not 'tpu'"):
        cmd.make_context(command, [run, "--device", "tpu"])
