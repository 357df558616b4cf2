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
from conftest import install_toy, toy_env

from ganzoo import hookimpl
from ganzoo.base.errors import ComponentError, UsageError, WriteError
from ganzoo.interfaces import LossTerm
from ganzoo.training.loggers import Logger

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


class ExitLoss(LossTerm):
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
    from ganzoo.runs import checkpoint

    assert checkpoint.load("r/checkpoints/latest.safetensors").step == 4


def test_a_ctrl_c_inside_a_logger_stops_the_run_with_a_checkpoint(exiting, capsys):
    code, _out, err = ganzoo(capsys, "run", *TOY_RUN, "--steps", "50", "--out", "r", "--logger", "ctrl-c-in-scalars",
                            "--quiet")
    assert code == 130, err
    assert lines(err) == ["error: interrupted by SIGINT at step 2 (checkpoint r/checkpoints/latest.safetensors) "
                          "(resume with: ganzoo run --resume r)"]
    from ganzoo.runs import checkpoint

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
    from ganzoo.runs import checkpoint

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
    from ganzoo.runs import checkpoint

    step = checkpoint.load("r/checkpoints/latest.safetensors").step
    code, _out, err = ganzoo(capsys, "run", "--resume", "r", "--steps", str(step + 2), "--quiet")
    assert code == 0, err
    assert lines(err) == [line for line in lines(err) if line.startswith(f"note: r: took over the lock of ganzoo "
                                                                       f"process {proc.pid} on ")]
    assert len(lines(err)) == 1 and err.rstrip().endswith("which ended without releasing it")
    assert checkpoint.load("r/checkpoints/latest.safetensors").step == step + 2
    assert not Path("r/.ganzoo.lock").exists()  # released at the end


# -- 3, 9. pictures a user gives: 16-bit greyscale, and ones too large to read -------------------------------

def _ramp16(path: Path) -> Path:
    """A 16-bit greyscale PNG, a horizontal ramp 0..65535: its 8-bit mean is 127.5."""
    import numpy as np
    from PIL import Image

    Image.fromarray(np.tile(np.linspace(0, 65535, 256).round().astype(np.uint16), (256, 1))).save(path)
    assert Image.open(path).mode.startswith("I")
    return path


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory) -> Path:
    """A 95-megapixel PNG (1-bit, so it is quick to write): above the limit, and above Pillow's warning's."""
    from PIL import Image

    path = tmp_path_factory.mktemp("huge") / "huge.png"
    Image.new("1", (10_000, 9_500)).save(path)
    return path


def _inputs_mean(capsys, source: Path) -> float:
    from safetensors.torch import load_file

    code, _out, err = ganzoo(capsys, "sample", "pix2pix-mnist-edges", "--input", str(source), "--out", "x.safetensors")
    assert code == 0 and err == "", err
    return load_file("x.safetensors")["inputs"].float().mean().item()


def test_a_16_bit_input_is_scaled_not_clipped(capsys, tmp_path):
    assert 120 < _inputs_mean(capsys, _ramp16(tmp_path / "ramp.png")) < 135


def test_the_folder_dataset_scales_16_bit_pictures_alike(tmp_path):
    import ganzoo

    for i in range(2):
        _ramp16(tmp_path / f"ramp{i}.png")
    x, _labels = ganzoo.create("dataset", "folder", root=str(tmp_path), image_size=16, channels=1,
                               split="all").tensors()
    assert 120 < x.float().mean().item() < 135  # uint8: the ramp's mean grey, not nearly white


def test_a_huge_input_is_refused_in_one_line_naming_the_limit(cli, tmp_path, huge_png):
    r = cli("sample", "pix2pix-mnist-edges", "--input", str(huge_png), "--out", "x.png", cwd=tmp_path)
    assert r.returncode == UsageError.exit_code
    assert lines(r.stderr) == [f"error: --input {huge_png}: no readable images; skipped 1 file: 1 above the 80-megapixel "
                          f"limit (e.g. huge.png) (scale the pictures down to at most 80 megapixels)"]
    assert not (tmp_path / "x.png").exists()


def test_the_folder_dataset_refuses_huge_pictures_alike(capsys, tmp_path, huge_png):
    (tmp_path / "data").mkdir()
    os.symlink(huge_png, tmp_path / "data" / "huge.png")
    code, _out, err = ganzoo(capsys, "run", "--dataset", "folder", "--data-root", str(tmp_path / "data"), "--gen",
                             "vanilla", "--image-size", "8", "--steps", "1", "--out", "r", "--device", "cpu")
    assert code == 3, err
    assert lines(err) == [f"error: folder: no readable images under {tmp_path / 'data'} (looked for jpg, jpeg, png, "
                          f"webp, bmp, in sub-folders too); skipped 1 image above the 80-megapixel limit (e.g. "
                          f"huge.png) (scale the pictures down to at most 80 megapixels)"]
    assert not Path("r").exists()


# -- 4. names that are not UTF-8 ---------------------------------------------------------------------------

def _png(path: Path, size: int = 32) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.linear_gradient("L").resize((size, size)).save(path)


def test_an_input_folder_whose_name_is_not_utf8_is_recorded_readably(capsys, tmp_path):
    from safetensors import safe_open

    folder = os.fsdecode(b"in-\xff")
    _png(Path(folder) / "a.png")
    code, _out, err = ganzoo(capsys, "sample", "pix2pix-mnist-edges", "--input", folder, "--out", "x.safetensors")
    assert code == 0 and err == "", err
    with safe_open("x.safetensors", framework="pt") as fh:
        assert fh.metadata()["inputs"] == "in-\\xff"


def test_a_data_root_and_classes_whose_names_are_not_utf8_train_and_resume(capsys):
    import tomllib

    from ganzoo.runs import checkpoint

    root = os.fsdecode(b"fo-\xff")
    for cls in (b"c\xfe", b"plain"):
        for i in range(4):
            _png(Path(root) / os.fsdecode(cls) / f"{i}.png")
    args = ["--dataset", "folder", "--data-root", root, "--gen", "vanilla", "--image-size", "8", "--batch-size", "4",
            "--set", "dataset.channels=1", "--set", "dataset.split=all", "--device", "cpu", "--quiet"]
    code, _out, err = ganzoo(capsys, "run", *args, "--steps", "1", "--out", "r")
    assert code == 0, err
    written = tomllib.loads(Path("r/config.toml").read_text(encoding="utf-8"))  # valid UTF-8 TOML
    assert written["dataset"]["root"] == "fo-\\xff"
    assert "c\\xfe" in written["meta"]["data"]["class_names"]
    ck = checkpoint.load("r/checkpoints/latest.safetensors")
    assert ck.config["dataset"]["root"] == root  # the exact name, which --resume reads
    code, _out, err = ganzoo(capsys, "run", "--resume", "r", "--steps", "2", "--quiet")
    assert code == 0, err
    assert checkpoint.load("r/checkpoints/latest.safetensors").step == 2


def test_a_run_refused_as_it_opens_its_folder_leaves_no_folder_behind(toy, capsys, monkeypatch):
    import errno

    from ganzoo.training import outputs

    def full(path, data):
        raise WriteError.from_os(OSError(errno.ENOSPC, "No space left on device"), path)

    monkeypatch.setattr(outputs, "write_atomic", full)
    code, _out, err = ganzoo(capsys, "run", *TOY_RUN, "--steps", "2", "--out", "runs/new/r")
    assert code == WriteError.exit_code
    assert lines(err) == ["error: cannot write runs/new/r/config.toml: No space left on device (free some space or "
                          "choose another place)"]
    assert not Path("runs").exists()


# -- 5. an --out that is a symbolic-link loop ----------------------------------------------------------------

@pytest.mark.parametrize("args, out", [(["sample", "vanilla-gaussians"], "loop.png"),
                                       (["sample", "vanilla-gaussians"], "loop/x.png"),
                                       (["run", *TOY_RUN, "--steps", "1"], "loop"),
                                       (["run", *TOY_RUN, "--steps", "1"], "loop/run")])
def test_an_out_through_a_symlink_loop_is_one_line(toy, capsys, args, out):
    os.symlink("loop", "loop")
    os.symlink("loop.png", "loop.png")
    code, _out, err = ganzoo(capsys, *args, "--out", out)
    assert code == WriteError.exit_code
    assert lines(err) == [f"error: cannot write --out {out}: a symbolic link loop is in the way (remove the link, or "
                          f"choose another place)"]
    assert sorted(os.listdir(".")) == ["loop", "loop.png"]


# -- 6. ganzoo plot: --out's suffix, and a grid that is not a picture ------------------------------------------

def _plot_run(root: Path) -> Path:
    root.mkdir()
    (root / "metrics.jsonl").write_text('{"step": 1, "epoch": 1, "d_loss": 1.3, "g_loss": 0.7}\n'
                                        '{"step": 2, "epoch": 1, "d_loss": 1.2, "g_loss": 0.8}\n')
    return root


@pytest.mark.parametrize("command", ["plot", "compare"])
def test_plot_refuses_a_suffix_it_cannot_draw_and_names_the_ones_it_can(capsys, command):
    pytest.importorskip("matplotlib")
    run = _plot_run(Path("r"))
    code, _out, err = ganzoo(capsys, command, str(run), "--out", "curves.txt")
    assert code == UsageError.exit_code, err
    assert len(lines(err)) == 1 and err.startswith("error: --out curves.txt: cannot draw a .txt file (use one of ")
    assert ".pdf" in err and ".png" in err and ".svg" in err
    assert not Path("curves.txt").exists()


@pytest.mark.parametrize("command", ["plot", "compare"])
def test_plot_says_the_file_it_really_wrote(capsys, command):
    pytest.importorskip("matplotlib")
    run = _plot_run(Path("r"))
    code, out, err = ganzoo(capsys, command, str(run), "--out", "curves")
    assert code == 0, err
    assert Path("curves.png").is_file() and not Path("curves").exists()
    assert lines(out)[-1] == "wrote curves.png"
    Path("curves").write_text("mine")  # and it is curves.png whose replacing needs --force
    code, out, err = ganzoo(capsys, command, str(run), "--out", "curves")
    assert code == UsageError.exit_code and lines(err) == ["error: curves.png exists (pass --force to replace it, or "
                                                           "choose another --out)"]


def test_plot_leaves_out_a_grid_that_is_not_a_picture_with_a_note(capsys):
    pytest.importorskip("matplotlib")
    run = _plot_run(Path("r"))
    (run / "samples").mkdir()
    (run / "samples" / "step-000002.png").write_bytes(b"not a png at all")
    code, _out, err = ganzoo(capsys, "plot", str(run))
    assert code == 0, err
    assert lines(err) == ["warning: r/samples/step-000002.png is not a readable picture (UnidentifiedImageError: "
                          "cannot identify image file 'r/samples/step-000002.png'); plotted without it"]
    assert Path("r/curves.png").is_file()


# -- 7, 8. registry.toml: text that is not markup, headers TOML allows, prose on several lines -----------------

FACES = '''
[ recipes.my-faces ]
doc = "DCGAN on your own faces, cropped to [/data/faces] and [bold]64 px[/bold]."
data = """
Download the aligned faces,
then pass --data-root [/data/faces].
"""
gen = { name = "dcgan" }
loss = { name = "bce" }
dataset = { name = "folder", image_size = 64 }
'''


def test_a_recipe_header_with_spaces_is_read_and_its_text_is_never_markup(capsys):
    Path("registry.toml").write_text(FACES)
    code, out, err = ganzoo(capsys, "list", "--kind", "recipe")
    assert code == 0 and err == "", err
    text = "".join(out.split())  # the summary column folds at the terminal's width
    assert "my-faces" in text and "[/data/faces]and[bold]64px[/bold]" in text
    code, out, err = ganzoo(capsys, "info", "my-faces")
    assert code == 0 and err == "", err
    text = " ".join(out.split())
    assert "cropped to [/data/faces] and [bold]64 px[/bold]." in text
    assert "then pass --data-root [/data/faces]." in text


def test_a_recipes_multi_line_data_text_is_one_line_of_error(capsys):
    Path("registry.toml").write_text(FACES)
    code, _out, err = ganzoo(capsys, "run", "my-faces", "--steps", "1")
    assert code == UsageError.exit_code
    assert lines(err) == ["error: recipe 'my-faces' trains on a folder of your own images: pass --data-root DIR "
                          "(Download the aligned faces, then pass --data-root [/data/faces].)"]
    assert not Path("runs").exists()


def test_plugin_text_in_ganzoo_plugins_and_paths_in_sample_are_not_markup(add_plugin, capsys):
    class Broken:
        @hookimpl
        def ganzoo_register_components(self, register):
            raise RuntimeError("cannot read [/etc/ganzoo] or [red]this[/red]")

    add_plugin(Broken(), "brackets")
    code, out, err = ganzoo(capsys, "plugins")
    assert code == 0
    assert "cannot read [/etc/ganzoo] or [red]this[/red]" in " ".join(out.split())
    code, out, err = ganzoo(capsys, "sample", "vanilla-gaussians", "--out", "[/x].png", "--num", "8")
    assert code == 0, err
    assert Path("[").is_dir() and "to [/x].png" in out
