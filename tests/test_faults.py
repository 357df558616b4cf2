"""Faults: signals, resume, NaN losses, bad checkpoints, clobbering a run.

In-process tests use the toy plugin through ``add_plugin``; subprocess tests
install the same toy plugin as a real distribution (an entry point under
tmp_path, on PYTHONPATH) so `python -m ganzoo` finds it the normal way.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import fit, install_toy, tiny, tiny_images, toy_env

from ganzoo.base.errors import CheckpointError, TrainingError, UsageError


def losses(rows):
    return [(r["step"], r["d_loss"], r["g_loss"], r["d_real"], r["d_fake"]) for r in rows]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- resume -----------------------------------------------------------------------------------------

def _resume_config(kind: str) -> dict:
    if kind == "points":
        return tiny(steps=20, log_every=1)
    # conditional images, EMA, five critic steps per step (epochs of 3 steps: 16 batches / 5)
    cfg = tiny_images(steps=20, log_every=1, batch_size=16, ema=0.9)
    cfg["gen"], cfg["disc"], cfg["loss"] = {"name": "toy-cmlp"}, {"name": "toy-cmlp"}, {"name": "toy-critic"}
    return cfg


@pytest.mark.parametrize("kind", ["points", "conditional-critic-ema"])
def test_resume_matches_an_uninterrupted_run(toy, kind):
    cfg = _resume_config(kind)
    a = fit({**cfg, "out": "a"})
    b1 = fit({**cfg, "out": "b", "train": {**cfg["train"], "steps": 10}})
    assert b1.step == 10
    b = fit({**cfg, "out": "b"}, resume=True)
    assert b.step == 20
    assert losses(b.metrics()) == losses(a.metrics())
    from safetensors.torch import load_file

    ta, tb = load_file(str(a.checkpoint)), load_file(str(b.checkpoint))
    assert ta.keys() == tb.keys()
    for k in ta:
        assert (ta[k] == tb[k]).all(), k


def test_fused_adam_checkpoint_resumes_on_the_plain_kernel(toy, monkeypatch):
    """A run saved where Adam is fused (CPU, CUDA) resumes where it is not (older torch, other devices)."""
    import torch

    import ganzoo.training.algorithm

    cfg = tiny(steps=20, log_every=1)
    a = fit({**cfg, "out": "a"})
    fit({**cfg, "out": "b", "train": {**cfg["train"], "steps": 10}})
    made = []

    def plain_adam(params, lr, betas):
        made.append(torch.optim.Adam(list(params), lr=lr, betas=betas))
        return made[-1]

    monkeypatch.setattr(ganzoo.training.algorithm, "adam", plain_adam)
    b = fit({**cfg, "out": "b"}, resume=True)
    assert len(made) == 2 and not any(o.defaults["fused"] for o in made)
    assert all(len(o.state) for o in made)  # the saved moments were loaded, not started afresh
    ra, rb = losses(a.metrics()), losses(b.metrics())
    assert [r[0] for r in ra] == [r[0] for r in rb]
    # the two kernels agree to float rounding, which ten more GAN steps may grow but not beyond this
    assert ra[:10] == rb[:10] and max(abs(x - y) for p, q in zip(ra, rb) for x, y in zip(p[1:], q[1:])) < 1e-3


def test_resume_with_nothing_left_to_do(toy):
    fit(tiny(steps=3))
    before = digest(Path("run"))
    res = fit(tiny(steps=3), resume=True)
    assert res.step == 3 and digest(Path("run")) == before


def test_resume_needs_a_checkpoint(toy):
    Path("run").mkdir()
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        fit(tiny(), resume=True)


# -- NaN -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("log_every, checkpoint_every, kept", [(1, 2, 2), (100, 3, 3)])
def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(toy, log_every, checkpoint_every, kept):
    from ganzoo.runs import checkpoint

    cfg = tiny(steps=10, log_every=log_every, checkpoint_every=checkpoint_every)
    cfg["loss"] = {"name": "toy-bce+toy-boom", "toy-boom": {"after": 3}}
    with pytest.raises(TrainingError) as err:
        fit(cfg)
    msg = str(err.value)
    assert "'toy-boom' (discriminator side) became nan at step 4" in msg
    assert f"(step {kept}) is kept" in msg and "\n" not in msg
    ck = checkpoint.load("run/checkpoints/latest.safetensors")
    assert ck.step == kept
    assert all(t.isfinite().all() for k, t in ck.tensors.items() if k.startswith("generator."))
    metrics = Path("run/metrics.jsonl")
    rows = [json.loads(line)["step"] for line in metrics.read_text().splitlines()] if metrics.exists() else []
    assert all(s < 4 for s in rows)  # no line with a non-finite loss


# -- bad checkpoints ----------------------------------------------------------------------------------

def test_truncated_or_corrupt_checkpoint(toy):
    fit(tiny(steps=2))
    latest = Path("run/checkpoints/latest.safetensors")
    data = latest.read_bytes()
    for broken in (data[: len(data) // 2], data[:5], b"\x00" * 64, data[:8] + b"{not json" + data[17:]):
        latest.write_bytes(broken)
        before = digest(Path("run"))
        with pytest.raises(CheckpointError) as err:
            fit(tiny(steps=4), resume=True)
        assert "latest.safetensors" in str(err.value) and "\n" not in str(err.value)
        assert digest(Path("run")) == before


def test_checkpoint_from_another_composition(toy):
    fit(tiny(steps=2))
    before = digest(Path("run"))
    other = tiny(steps=4)
    other["gen"] = {"name": "toy-mlp", "hidden": 32}
    with pytest.raises(CheckpointError, match=r"does not match this run's generator 'toy-mlp': net\.0\.weight"):
        fit(other, resume=True)
    other["gen"] = {"name": "toy-cmlp"}
    other["disc"] = {"name": "toy-mlp"}
    with pytest.raises(CheckpointError, match="was written by generator 'toy-mlp', this run builds 'toy-cmlp'"):
        fit(other, resume=True)
    assert digest(Path("run")) == before


# -- clobbering ---------------------------------------------------------------------------------------

def test_existing_run_is_refused_unless_overwrite(toy):
    fit(tiny(steps=2))
    Path("run/notes.txt").write_text("mine")
    before = digest(Path("run"))
    with pytest.raises(UsageError, match="already holds a run") as err:
        fit(tiny(steps=3))
    assert err.value.exit_code == 2 and digest(Path("run")) == before
    res = fit(tiny(steps=3), overwrite=True)
    assert res.step == 3 and Path("run/notes.txt").read_text() == "mine"
    assert [r["step"] for r in res.metrics()] == [1, 2, 3]


def test_a_run_that_failed_before_its_first_step_can_be_rerun(toy, monkeypatch):
    from ganzoo_plugins.gan.algorithm import GAN

    def broken(self, next_batch, step, total):
        raise RuntimeError("boom")

    with monkeypatch.context() as m:
        m.setattr(GAN, "step", broken)
        with pytest.raises(RuntimeError, match="boom"):
            fit(tiny(steps=2))
    assert sorted(p.name for p in Path("run").iterdir()) == ["config.toml"]
    assert fit(tiny(steps=2)).step == 2  # no --overwrite needed: nothing was trained


def test_empty_existing_folder_is_fine(toy):
    Path("run").mkdir()
    assert fit(tiny(steps=1)).step == 1


# -- subprocess: signals, and the CLI's one-line errors ----------------------------------------------------

@pytest.fixture
def toy_site(tmp_path):
    return install_toy(tmp_path / "site")


def _run_args(out: str, steps: int, *extra: str) -> list[str]:
    return ["run", "--gen", "toy-mlp", "--loss", "toy-bce", "--dataset", "toy-blobs", "--steps", str(steps),
            "--batch-size", "32", "--latent-dim", "4", "--device", "cpu", "--out", out,
            "--set", "train.log_every=1", *extra]


def _wait_for_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"training exited early: {proc.communicate()}")
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("no metrics appeared")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_checkpoints_and_exits(tmp_path, toy_site, sig, code, cli):
    from ganzoo.runs import checkpoint
    from ganzoo.runs.rundir import read_metrics

    env = {**os.environ, "OMP_NUM_THREADS": "1", **toy_env(toy_site)}
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", *_run_args("r", 100000)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_lines(tmp_path / "r" / "metrics.jsonl", 3, proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert f"interrupted by {sig.name} at step" in err and len(err.strip().splitlines()) == 1
    assert "resume with" in out
    ck = checkpoint.load(tmp_path / "r" / "checkpoints" / "latest.safetensors")
    rows = read_metrics(tmp_path / "r")
    assert ck.step >= 3 and rows[-1]["step"] == ck.step
    if sig == signal.SIGINT:  # and it resumes from there, --steps being the total
        r = cli(*_run_args("r", ck.step + 2, "--resume", "r", "--quiet"), env=toy_env(toy_site), cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert [row["step"] for row in read_metrics(tmp_path / "r")][-3:] == [ck.step, ck.step + 1, ck.step + 2]


def test_cli_errors_are_one_line(tmp_path, toy_site, cli):
    env = toy_env(toy_site)
    r = cli(*_run_args("r", 10, "--loss", "toy-bce+toy-boom", "--set", "loss.toy-boom.after=2",
                       "--set", "train.checkpoint_every=1"), env=env, cwd=tmp_path)
    assert r.returncode == TrainingError.exit_code
    assert r.stderr.strip().splitlines() == [
        "error: loss term 'toy-boom' (discriminator side) became nan at step 3; training stopped "
        f"(the last good checkpoint {Path('r/checkpoints/latest.safetensors')} (step 2) is kept)"]
    r = cli(*_run_args("r", 10), env=env, cwd=tmp_path)
    assert r.returncode == 2 and "already holds a run" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    (tmp_path / "r" / "checkpoints" / "latest.safetensors").write_bytes(b"garbage!")
    r = cli(*_run_args("r", 10, "--resume", "r"), env=env, cwd=tmp_path)
    assert r.returncode == CheckpointError.exit_code and "truncated" in r.stderr and len(r.stderr.strip().splitlines()) == 1
