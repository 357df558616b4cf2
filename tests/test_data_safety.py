"""Nothing a user has is lost (issue 12): run folders, sample outputs, checkpoints and the run record.

Each test reproduces a case found by bad-input testing; the folders are compared
byte for byte (``digest``) before and after the refused command.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import digest, fit, one_line, tiny, tiny_images
from safetensors.torch import load_file, save

from ganzoo.runs import checkpoint
from ganzoo.runs import header as ckpt_header
from ganzoo.cli.commands.sample_cmd import sample_to_file
from ganzoo.base.errors import CheckpointError, TrainingError, UsageError


# -- `ganzoo sample --out` ------------------------------------------------------------------------

def test_sample_never_replaces_a_file_of_a_run(toy):
    fit(tiny(steps=2, sample_every=1))
    before = digest(Path("run"))
    for out in ("run/checkpoints/latest.safetensors", "run/checkpoints/new.safetensors",
                "run/samples/step-000002.png"):
        with pytest.raises(UsageError, match="would replace a file of the run") as err:
            sample_to_file("run", out, force=True)
        one_line(err)
    assert digest(Path("run")) == before
    assert checkpoint.load("run/checkpoints/latest.safetensors").step == 2


def test_sample_refuses_an_existing_file_unless_forced(toy):
    fit(tiny(steps=2))
    Path("mine.png").write_bytes(b"my picture")
    with pytest.raises(UsageError, match=r"exists.*--force"):
        sample_to_file("run", "mine.png")
    assert Path("mine.png").read_bytes() == b"my picture"
    assert sample_to_file("run", "mine.png", force=True).out == Path("mine.png")
    assert Path("mine.png").read_bytes()[:4] == b"\x89PNG"


def test_default_sample_output_takes_a_fresh_name(toy):
    fit(tiny(steps=2))
    first = sample_to_file("run", seed=3).out
    mine = first.read_bytes()
    second = sample_to_file("run", seed=3).out
    assert (first.name, second.name) == ("sample-3.png", "sample-3-2.png")
    assert first.read_bytes() == mine


def test_sample_num_beyond_memory_is_one_line(toy):
    fit(tiny(steps=2))
    with pytest.raises(UsageError, match=r"--num 100000000000: the samples need about .* of memory") as err:
        sample_to_file("run", "x.safetensors", num=100_000_000_000)
    one_line(err)
    assert not Path("x.safetensors").exists()


# -- `ganzoo run --out` ---------------------------------------------------------------------------

@pytest.mark.parametrize("files", [{"config.toml": "[mine]\nkeep = true\n"},
                                   {"samples/progress.gif": "GIF89a mine"},
                                   {"notes.txt": "mine"}])
def test_run_refuses_a_folder_that_is_not_a_run(toy, files):
    for name, text in files.items():
        Path("run", name).parent.mkdir(parents=True, exist_ok=True)
        Path("run", name).write_text(text)
    before = digest(Path("run"))
    for overwrite in (False, True):
        with pytest.raises(UsageError, match="is not empty and holds no ganzoo run") as err:
            fit(tiny(steps=1), overwrite=overwrite)
        assert err.value.exit_code == 2 and one_line(err)
    assert digest(Path("run")) == before


def test_overwrite_removes_only_what_ganzoo_wrote(toy):
    fit(tiny(steps=4, sample_every=1, checkpoint_every=2, keep_every=1))
    sample_to_file("run")
    mine = {"notes.txt": "a", "samples/mine.png": "b", "samples/step-final.png": "c", "checkpoints/README": "d"}
    for name, text in mine.items():
        Path("run", name).write_text(text)
    res = fit(tiny(steps=2, sample_every=1), overwrite=True)
    assert res.step == 2
    names = set(digest(Path("run")))
    assert {"samples/step-000003.png", "samples/step-000004.png", "samples/sample-0.png",
            "checkpoints/step-000002.safetensors"}.isdisjoint(names)  # the old run's, by name
    assert {"samples/step-000001.png", "samples/step-000002.png", "samples/progress.gif",
            "checkpoints/latest.safetensors", "config.toml", "metrics.jsonl"} <= names
    for name, text in mine.items():
        assert Path("run", name).read_text() == text


@pytest.mark.parametrize("out, match", [("/", "filesystem root"), ("", "--out is empty")])
def test_out_root_or_empty_is_refused(toy, monkeypatch, out, match):
    import ganzoo.training.outputs

    def no_writes(self, **kw):  # should the check ever break, this test must not write into /
        raise AssertionError(f"the run would be written to {self.run.root}")

    monkeypatch.setattr(ganzoo.training.outputs.Outputs, "open", no_writes)
    cfg = tiny(steps=1)
    cfg["out"] = out
    with pytest.raises(UsageError, match=match):
        fit(cfg)


def test_a_run_that_stopped_before_its_first_checkpoint_says_overwrite(toy, monkeypatch):
    from ganzoo_plugins.gan.algorithm import GAN

    real = GAN.step

    def breaks_at_3(self, next_batch, step, total):
        if step == 3:
            raise RuntimeError("boom")
        return real(self, next_batch, step, total)

    with monkeypatch.context() as m:
        m.setattr(GAN, "step", breaks_at_3)
        with pytest.raises(RuntimeError, match="boom"):
            fit(tiny(steps=6, checkpoint_every=5))
    assert Path("run/metrics.jsonl").exists() and not Path("run/checkpoints/latest.safetensors").exists()
    with pytest.raises(UsageError, match=r"stopped before its first checkpoint.*--overwrite") as err:
        fit(tiny(steps=6))
    one_line(err)
    with pytest.raises(CheckpointError, match=r"holds no checkpoint.*--overwrite") as err:
        fit(tiny(steps=6), resume=True)
    one_line(err)
    assert fit(tiny(steps=2), overwrite=True).step == 2


# -- checkpoints: never non-finite, stale temp files --------------------------------------------------

def test_no_checkpoint_is_written_with_non_finite_weights(toy):
    # lr 1e12: the losses of a step stay finite while its update already makes Adam's moments inf
    with pytest.raises(TrainingError, match=r"the weights became non-finite \(.*\) at step 1") as err:
        fit(tiny(steps=6, lr=1e12, checkpoint_every=1))
    assert "no checkpoint was written" in one_line(err)
    assert not Path("run/checkpoints/latest.safetensors").exists()


def test_checkpoints_before_a_blow_up_stay_good(toy):
    fit(tiny(steps=2))
    with pytest.raises(TrainingError, match=r"non-finite .* at step 3.*last good checkpoint .*\(step 2\) is kept"):
        fit(tiny(steps=6, lr=1e12, checkpoint_every=1), resume=True)
    ck = checkpoint.load("run/checkpoints/latest.safetensors")
    assert ck.step == 2 and all(t.isfinite().all() for t in ck.tensors.values() if t.is_floating_point())


def test_stale_temp_files_are_removed_at_the_next_start(toy):
    fit(tiny(steps=2))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = Path(f"run/checkpoints/.latest.safetensors.tmp-{dead.pid}")
    stale.write_bytes(b"x" * 1000)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        busy = Path(f"run/checkpoints/.latest.safetensors.tmp-{live.pid}")  # another process still writing
        busy.write_bytes(b"y")
        fit(tiny(steps=3), resume=True)
        assert not stale.exists() and busy.exists()
    finally:
        live.kill()
        live.wait()


# -- resume records what ran ----------------------------------------------------------------------

def test_resume_with_a_new_lr_applies_it(toy):
    fit(tiny(steps=2, lr=2e-4))
    fit(tiny(steps=4, lr=0.5), resume=True)
    ck = checkpoint.load("run/checkpoints/latest.safetensors")
    groups = ck.json("opt_g")["param_groups"] + ck.json("opt_d")["param_groups"]
    assert [g["lr"] for g in groups] == [0.5, 0.5]
    assert ck.config["train"]["lr"] == 0.5 and "lr = 0.5" in Path("run/config.toml").read_text()


def test_cli_resume_starts_from_the_checkpoint_and_stays_in_place(toy, capsys):
    from ganzoo.cli import main

    fit(tiny(steps=2, batch_size=16))
    fit({**tiny(steps=2, batch_size=8), "out": "other"})
    other = digest(Path("other"))
    Path("run/config.toml").write_text("# ganzoo run config. edited by hand\n[train]\nbatch_size = 999\n")
    for extra in (["--set", "out=other"], ["--out", "other"]):
        with pytest.raises(SystemExit) as code:
            main(["run", "--resume", "run", "--steps", "3", "--quiet", *extra])
        assert code.value.code == 2 and "in place" in capsys.readouterr().err
    assert digest(Path("other")) == other  # not trained on with run's config
    with pytest.raises(SystemExit) as code:
        main(["run", "--resume", "run", "--steps", "3", "--quiet"])
    assert code.value.code == 0
    assert checkpoint.load("run/checkpoints/latest.safetensors").config["train"]["batch_size"] == 16


# -- crafted checkpoints ------------------------------------------------------------------------------

def _raw(header: bytes) -> bytes:
    return struct.pack("<Q", len(header)) + header


@pytest.mark.parametrize("header", [b"[]", b"[" * 100_000 + b"]" * 100_000, b'{"__metadata__": []}',
                                    b'{"__metadata__": {"format": 5}}', b"5", b'"text"'])
def test_crafted_headers_are_one_line(tmp_path, header):
    path = tmp_path / "c.safetensors"
    path.write_bytes(_raw(header))
    with pytest.raises(CheckpointError, match=r"c\.safetensors") as err:
        checkpoint.load(path)
    one_line(err)
    with pytest.raises(CheckpointError):
        ckpt_header.read_metadata(path)


@pytest.mark.parametrize("key, value", [("config", "[1, 2]"), ("config", "5"), ("meta", '"x"'),
                                        ("config", "[" * 100_000), ("step", "four")])
def test_crafted_metadata_is_one_line(toy, key, value):
    fit(tiny(steps=1))
    tensors = load_file("run/checkpoints/latest.safetensors")
    meta = ckpt_header.read_metadata("run/checkpoints/latest.safetensors")
    Path("bad.safetensors").write_bytes(save(tensors, {**meta, key: value}))
    with pytest.raises(CheckpointError, match=r"bad\.safetensors") as err:
        sample_to_file("bad.safetensors", "x.png")
    one_line(err)


@pytest.mark.parametrize("spoil, match", [(lambda t: t.to(torch.int8), "holds torch.int8 weights"),
                                          (lambda t: torch.full_like(t, float("nan")), "non-finite")])
def test_int8_or_nan_weights_are_refused(toy, spoil, match):
    cfg = tiny_images(steps=1, ema=0.9)
    fit(cfg)
    tensors = load_file("run/checkpoints/latest.safetensors")
    meta = ckpt_header.read_metadata("run/checkpoints/latest.safetensors")
    for k in [k for k in tensors if k.startswith(("generator.", "ema.")) and k.endswith("weight")]:
        tensors[k] = spoil(tensors[k])
    Path("bad.safetensors").write_bytes(save(tensors, meta))
    for use_ema in (True, False):
        with pytest.raises(CheckpointError, match=match) as err:
            sample_to_file("bad.safetensors", "x.png", use_ema=use_ema)
        one_line(err)
    assert not Path("x.png").exists()


# -- the progress GIF ---------------------------------------------------------------------------------

def test_the_gif_is_written_once_per_run(toy, monkeypatch):
    import ganzoo.training.outputs

    calls = []
    real = ganzoo.training.outputs.write_gif
    monkeypatch.setattr(ganzoo.training.outputs, "write_gif", lambda frames, path: calls.append(len(frames)) or real(frames, path))
    res = fit(tiny(steps=8, sample_every=1))
    assert calls == [8] and res.gif is not None and res.gif.exists()
    fit(tiny(steps=10, sample_every=1), resume=True)
    assert calls == [8, 10]


def test_metrics_with_bytes_that_are_not_utf8_resume(toy):
    fit(tiny(steps=2))
    with open("run/metrics.jsonl", "ab") as fh:
        fh.write(b'\xff\xfe{"step": 1}\n')  # a damaged line: not UTF-8, not JSON
    res = fit(tiny(steps=3), resume=True)
    assert [r["step"] for r in res.metrics()] == [1, 2, 3]
    assert json.loads(Path("run/metrics.jsonl").read_text().splitlines()[-1])["step"] == 3
