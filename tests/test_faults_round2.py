"""Issue 23, part A ("Nothing lost, round two"): the command line and file-system faults an outside tester found.

Each test drives the command line as a user would (``ganzoo.cli.main`` in-process, or a subprocess where a second
process is the point) and reads the exit code, stderr and the files left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import digest, install_toy, toy_env

from ganzoo import hookimpl
from ganzoo.errors import ComponentError, UsageError, WriteError
from ganzoo.loggers import Logger

TOY_RUN = ["--gen", "toy-mlp", "--loss", "toy-bce", "--dataset", "toy-blobs", "--batch-size", "32",
           "--latent-dim", "4", "--device", "cpu", "--set", "train.log_every=1"]


def ganzoo(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`ganzoo ARGS` in this process: (exit code, stdout, stderr)."""
    from ganzoo.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    code = exit_.value.code
    return (code if isinstance(code, int) else 1), out, err


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- 1. a plugin that calls sys.exit() -------------------------------------------------------------------

class ExitingLogger(Logger):
    """Ends the process from its second metrics line (or raises ``error`` there)."""

    def __init__(self, run_dir: Path, error: BaseException):
        self.lines, self.error = 0, error

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self.lines += 1
        if self.lines == 2:
            raise self.error


def _exit(code: int) -> object:
    raise SystemExit(code)


class ExitGen(torch.nn.Module):
    """A generator whose third training forward pass (not the probe's) calls sys.exit(9)."""

    def __init__(self, data, latent_dim=100):
        super().__init__()
        self.data, self.calls = data, 0
        self.net = torch.nn.Linear(latent_dim, data.numel)

    def forward(self, z, labels=None):
        self.calls += self.training
        if self.calls == 3:
            sys.exit(9)
        return self.net(z).view(len(z), *self.data.shape)


class ExitLoss:
    """A loss term whose discriminator side calls sys.exit(9)."""

    def d_loss(self, inputs):
        sys.exit(9)

    def g_loss(self, inputs):
        return inputs.d_fake.mean()


class ExitingPlugin:
    @hookimpl
    def ganzoo_register_components(self, register):
        register.generator("exits-forward", ExitGen)
        register.loss("exits-loss", ExitLoss, role="adversarial")
        register.logger("exits-in-scalars", lambda run_dir: ExitingLogger(run_dir, SystemExit(3)))
        register.logger("exits-in-factory", lambda run_dir: _exit(4))
        register.logger("ctrl-c-in-scalars", lambda run_dir: ExitingLogger(run_dir, KeyboardInterrupt()))
        register.generator("exits-gen", lambda data, latent_dim=100: _exit(7))
        register.dataset("exits-data", lambda: _exit(7))


@pytest.fixture
def exiting(add_plugin, toy):
    return add_plugin(ExitingPlugin(), "exiting", dist="ganzoo-exiting", version="1.0")


@pytest.mark.parametrize("logger, method, status", [("exits-in-scalars", "scalars", 3), ("exits-in-factory", "start", 4)])
def test_a_logger_calling_sys_exit_is_dropped_and_the_run_goes_on(exiting, capsys, logger, method, status):
    code, _out, err = ganzoo(capsys, "run", *TOY_RUN, "--steps", "4", "--out", "r", "--logger", logger, "--quiet")
    assert code == 0, err
    assert lines(err) == [f"warning: logger {logger!r} from plugin 'exiting' (ganzoo-exiting 1.0) failed in "
                          f"{method} and is off for the rest of the run: it called sys.exit({status})"]
    from ganzoo import checkpoint

    assert checkpoint.load("r/checkpoints/latest.safetensors").step == 4


def test_a_ctrl_c_inside_a_logger_stops_the_run_with_a_checkpoint(exiting, capsys):
    code, _out, err = ganzoo(capsys, "run", *TOY_RUN, "--steps", "50", "--out", "r", "--logger", "ctrl-c-in-scalars",
                            "--quiet")
    assert code == 130, err
    assert lines(err) == ["error: interrupted by SIGINT at step 2 (checkpoint r/checkpoints/latest.safetensors) "
                          "(resume with: ganzoo run --resume r)"]
    from ganzoo import checkpoint

    assert checkpoint.load("r/checkpoints/latest.safetensors").step == 2


@pytest.mark.parametrize("flags, who", [(["--gen", "exits-gen", "--disc", "toy-mlp"], "generator 'exits-gen'"),
                                        (["--dataset", "exits-data"], "dataset 'exits-data'")])
def test_a_component_factory_calling_sys_exit_is_a_plugin_error(exiting, capsys, flags, who):
    code, _out, err = ganzoo(capsys, "run", *TOY_RUN, *flags, "--steps", "2", "--out", "r")
    assert code == ComponentError.exit_code, err
    assert lines(err) == [f"error: {who} from plugin 'exiting' (ganzoo-exiting 1.0) failed to build: it called "
                          f"sys.exit(7) (a plugin must raise an exception, not end the process; report it to the "
                          f"plugin's authors)"]
    assert not Path("r").exists()


def test_a_loss_calling_sys_exit_while_training_is_a_plugin_error(exiting, capsys):
    code, _out, err = ganzoo(capsys, "run", *TOY_RUN, "--loss", "exits-loss", "--steps", "3", "--out", "r")
    assert code == ComponentError.exit_code, err
    assert lines(err) == ["error: loss 'exits-loss' from plugin 'exiting' (ganzoo-exiting 1.0) failed in d_loss: it "
                          "called sys.exit(9) (a plugin must raise an exception, not end the process; report it to the "
                          "plugin's authors)"]


def test_a_model_calling_sys_exit_while_training_names_it_and_keeps_the_checkpoint(exiting, capsys):
    code, _out, err = ganzoo(capsys, "run", *TOY_RUN, "--gen", "exits-forward", "--disc", "toy-mlp", "--steps", "5",
                            "--out", "r", "--set", "train.checkpoint_every=1")
    assert code == ComponentError.exit_code, err
    assert lines(err) == ["error: generator 'exits-forward' from plugin 'exiting' (ganzoo-exiting 1.0) called "
                          "sys.exit(9) at step 2; training stopped (the last good checkpoint "
                          "r/checkpoints/latest.safetensors (step 1) is kept) (a plugin must raise an exception, not "
                          "end the process; report it to the plugin's authors)"]
    from ganzoo import checkpoint

    assert checkpoint.load("r/checkpoints/latest.safetensors").step == 1


# -- 2. one writer per run folder ---------------------------------------------------------------------------

def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"training exited early: {proc.communicate()}")
        if path.exists() and len(path.read_text().splitlines()) >= 2:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear")


def test_a_run_folder_has_one_writer_and_a_dead_ones_lock_is_taken_over(toy, tmp_path, capsys):
    site = install_toy(tmp_path / "site")
    env = {**os.environ, "OMP_NUM_THREADS": "1", **toy_env(site)}
    args = ["run", *TOY_RUN, "--set", "train.checkpoint_every=1", "--out", "r"]
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", *args, "--steps", "100000", "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(Path("r/metrics.jsonl"), proc)
        for extra in (["--resume", "r"], ["--out", "r", "--overwrite"], ["--out", "r"]):
            before = len(Path("r/metrics.jsonl").read_text().splitlines())
            code, _out, err = ganzoo(capsys, "run", *TOY_RUN, *extra, "--steps", "3", "--quiet")
            assert code == UsageError.exit_code, err
            assert len(lines(err)) == 1 and err.startswith(f"error: r is in use: ganzoo process {proc.pid} on "), err
            assert "is writing it (a run folder has one writer at a time" in err
            assert len(Path("r/metrics.jsonl").read_text().splitlines()) >= before  # its metrics were not cut back
        assert proc.poll() is None  # and the run itself goes on
    finally:
        proc.kill()  # a crash: the lock file stays, its flock goes with the process
        proc.wait(timeout=60)
    assert Path("r/.ganzoo.lock").read_text().split()[0] == str(proc.pid)
    from ganzoo import checkpoint

    step = checkpoint.load("r/checkpoints/latest.safetensors").step
    code, _out, err = ganzoo(capsys, "run", "--resume", "r", "--steps", str(step + 2), "--quiet")
    assert code == 0, err
    assert lines(err) == [line for line in lines(err) if line.startswith(f"note: r: took over the lock of ganzoo "
                                                                       f"process {proc.pid} on ")]
    assert len(lines(err)) == 1 and err.rstrip().endswith("which ended without releasing it")
    assert checkpoint.load("r/checkpoints/latest.safetensors").step == step + 2
    assert not Path("r/.ganzoo.lock").exists()  # released at the end
