"""One line instead of a traceback (issue 12): failed writes, bytes that are not UTF-8, odd consoles, Ctrl-C at exit.

A failed write names the path and the OS reason (`ganzoo.base.errors.WriteError`)
and leaves what was saved before intact. Real full and read-only filesystems
are small tmpfs mounts (root only: skipped elsewhere); a full disk is also
simulated, so that the mapping is tested everywhere.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import digest, fit, install_toy, one_line, tiny, tiny_images, toy_env

from ganzoo.runs import checkpoint
from ganzoo.cli.commands.sample_cmd import sample_to_file
from ganzoo.base.errors import ConfigError, WriteError


@pytest.fixture
def mount(tmp_path):
    """mount(options) -> a fresh tmpfs folder; skipped where mounting is not allowed."""
    mounted: list[Path] = []

    def _mount(options: str) -> Path:
        target = tmp_path / f"mnt{len(mounted)}"
        target.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
        mounted.append(target)
        return target

    yield _mount
    for target in mounted:
        subprocess.run(["umount", str(target)], capture_output=True)


def _big_images(**train) -> dict:
    cfg = tiny_images(**train)  # ~3.4 MB checkpoints (G's 4096 hidden units, with Adam's moments)
    cfg["gen"] = {"name": "toy-mlp", "hidden": 4096}
    return cfg


# -- disk full ---------------------------------------------------------------------------------------

def test_disk_full_during_a_checkpoint_is_one_line_and_keeps_the_rest(toy, mount):
    small = mount("size=2m")
    cfg = _big_images(steps=2)
    cfg["out"] = str(small / "run")
    with pytest.raises(WriteError, match=r"cannot write .*latest\.safetensors: No space left on device") as err:
        fit(cfg)
    one_line(err)
    left = sorted(p.name for p in (small / "run").rglob("*") if p.is_file())
    assert "config.toml" in left and "metrics.jsonl" in left
    assert not [n for n in left if ".tmp-" in n]  # the half-written temp file is gone


def test_simulated_disk_full_keeps_the_last_checkpoint(toy, monkeypatch):
    fit(tiny(steps=2))
    before = digest(Path("run/checkpoints"))
    real = os.fsync

    def full(fd):
        if ".safetensors.tmp-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match=r"latest\.safetensors: No space left on device \(free some space") as err:
        fit(tiny(steps=4), resume=True)
    one_line(err)
    assert digest(Path("run/checkpoints")) == before
    assert checkpoint.load("run/checkpoints/latest.safetensors").step == 2


def test_sample_to_a_full_disk(toy, mount):
    fit(tiny_images(steps=1))
    small = mount("size=1m")
    with pytest.raises(WriteError, match="No space left on device") as err:
        sample_to_file("run", small / "many.safetensors", num=40_000)  # 2.5 MB of 8x8 images
    one_line(err)
    assert list(small.iterdir()) == []


# -- read-only, a file in the way, /proc -------------------------------------------------------------

def test_read_only_folder(toy, mount):
    ro = mount("size=1m,ro")
    cfg = tiny(steps=1)
    cfg["out"] = str(ro / "run")
    with pytest.raises(WriteError, match="read-only") as err:
        fit(cfg)
    one_line(err)
    fit(tiny(steps=1))
    with pytest.raises(WriteError, match="Read-only file system") as err:
        sample_to_file("run", ro / "x.png")
    one_line(err)


def test_out_below_a_file(toy):
    Path("afile").write_text("mine")
    cfg = tiny(steps=1)
    cfg["out"] = "afile/run"
    with pytest.raises(WriteError, match="afile is a file") as err:
        fit(cfg)
    one_line(err)
    fit(tiny(steps=1))
    with pytest.raises(WriteError, match=r"cannot write afile/x\.png: afile is a file") as err:
        sample_to_file("run", "afile/x.png")
    one_line(err)
    assert Path("afile").read_text() == "mine"


def test_out_in_proc(toy):
    cfg = tiny(steps=1)
    cfg["out"] = "/proc/ganzoo-run"
    with pytest.raises(WriteError, match="/proc/ganzoo-run") as err:
        fit(cfg)
    one_line(err)


# -- the CLI: one line on stderr ------------------------------------------------------------------------

@pytest.fixture
def toy_site(tmp_path):
    return install_toy(tmp_path / "site")


def _one_error_line(r: subprocess.CompletedProcess, code: int, *words: str) -> None:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code and len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for w in words:
        assert w in lines[0], r.stderr


def test_cli_write_errors_are_one_line(tmp_path, toy_site, cli):
    env = toy_env(toy_site)
    run = ["run", "--gen", "toy-mlp", "--loss", "toy-bce", "--dataset", "toy-blobs", "--steps", "2",
           "--batch-size", "32", "--latent-dim", "4", "--device", "cpu", "--quiet"]
    (tmp_path / "afile").write_text("mine")
    _one_error_line(cli(*run, "--out", "afile/r", env=env, cwd=tmp_path), WriteError.exit_code, "afile")
    _one_error_line(cli(*run, "--out", "/proc/x", env=env, cwd=tmp_path), WriteError.exit_code, "/proc/x")
    assert cli(*run, "--out", "r", env=env, cwd=tmp_path).returncode == 0
    _one_error_line(cli("sample", "r", "--out", "/proc/x.png", env=env, cwd=tmp_path), WriteError.exit_code,
                    "/proc/x.png")
    _one_error_line(cli("sample", "r", "--out", "r/checkpoints/latest.safetensors", env=env, cwd=tmp_path), 2,
                    "would replace a file of the run")


def _no_traceback(r: subprocess.CompletedProcess, code: int, word: str) -> None:
    # recipe files: the registry warns when it skips one, then the command fails on it (two lines, no traceback)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code and "Traceback" not in r.stderr and lines, r.stderr
    assert lines[-1].startswith("error: ") and word in lines[-1] and "UTF-8" in lines[-1], r.stderr


def test_cli_bytes_that_are_not_utf8_are_one_line(tmp_path, cli):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"[recipes.x]\ndoc = \"\xff\xfe\"\n")
    _one_error_line(cli("run", "--config", str(bad), cwd=tmp_path), ConfigError.exit_code, "bad.toml", "UTF-8")
    _no_traceback(cli("--registry", str(bad), "list", cwd=tmp_path), ConfigError.exit_code, "bad.toml")
    _no_traceback(cli("list", env={"GANZOO_REGISTRY": str(bad)}, cwd=tmp_path), ConfigError.exit_code, "bad.toml")
    (tmp_path / "registry.toml").write_bytes(b"[recipes.x]\ndoc = \"\xff\"\n")
    _no_traceback(cli("list", cwd=tmp_path), ConfigError.exit_code, "registry.toml")


def test_cli_on_a_latin1_console(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "ganzoo", "list"], capture_output=True, env=env, cwd=tmp_path,
                       timeout=300)
    assert r.returncode == 0 and r.stderr == b"", r.stderr.decode("latin-1")
    assert b"wgan-gp" in r.stdout  # the whole table came out, its 'λ' as '?'


def test_ctrl_c_while_python_exits_is_one_line(tmp_path):
    """A second Ctrl-C that lands in the interpreter's exit (atexit handlers) is one line, exit 130."""
    code = ("import atexit, sys, time\n"
            "from ganzoo.cli import main\n"
            "atexit.register(lambda: (print('exiting', flush=True), time.sleep(60)))\n"
            "sys.argv = ['ganzoo', '--version']\n"
            "main()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        end = time.monotonic() + 120
        while time.monotonic() < end and "exiting" not in proc.stdout.readline():
            pass
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and err.strip().splitlines() == ["error: interrupted"], err


def test_a_second_ctrl_c_during_the_final_checkpoint_is_one_line(toy, monkeypatch, capsys):
    """The trainer's handler raises KeyboardInterrupt on a second Ctrl-C; click turns it into Abort."""
    from ganzoo.cli import main
    from ganzoo.training.trainer import Trainer

    def second_ctrl_c(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "fit", second_ctrl_c)
    with pytest.raises(SystemExit) as code:
        main(["run", "--gen", "toy-mlp", "--loss", "toy-bce", "--dataset", "toy-blobs", "--steps", "1", "--quiet"])
    assert code.value.code == 130
    assert capsys.readouterr().err.strip().splitlines() == ["error: interrupted"]
