"""The trainer in-process on tiny in-test components, and `ganzoo run` on the built-ins.

The toy plugin and the helpers around it (``tiny``, ``fit``, the ``toy``
fixture, ...) live in conftest.py.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from conftest import fit, tiny, tiny_images


# -- in-process: the run folder -------------------------------------------------------------------

def test_run_folder_contents(toy):
    from safetensors import safe_open

    res = fit(tiny_images(steps=4, sample_every=2))
    run = Path("run")
    assert res.run_dir == run and res.step == 4
    cfg = tomllib.loads((run / "config.toml").read_text())
    assert cfg["gen"] == {"name": "toy-mlp"} and cfg["disc"] == {"name": "toy-mlp"}
    assert cfg["train"]["steps"] == 4 and "epochs" not in cfg["train"]
    meta = cfg["meta"]
    assert meta["world_size"] == 1 and meta["data"]["shape"] == [1, 8, 8]
    assert meta["components"]["generator"] == {"name": "toy-mlp", "plugin": "toy", "dist": "test-dist",
                                               "version": "0.0.1"}
    assert meta["components"]["loss"][0]["name"] == "toy-bce"

    with safe_open(str(run / "checkpoints" / "latest.safetensors"), "pt") as f:
        keys, md = set(f.keys()), f.metadata()
    assert {k.split(".")[0] for k in keys} == {"generator", "discriminator", "opt_g", "opt_d", "rng"}
    assert {"rng.torch", "rng.noise", "rng.data"} <= keys
    assert "opt_g.0.exp_avg" in keys and "discriminator.net.2.running_mean" in keys
    assert md["step"] == "4" and json.loads(md["config"])["gen"]["name"] == "toy-mlp"
    assert json.loads(md["opt_d"])["param_groups"][0]["lr"] == pytest.approx(2e-4)

    from PIL import Image

    grids = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert grids == ["step-000002.png", "step-000004.png"]
    with Image.open(run / "samples" / "step-000004.png") as im:  # 8x8 grid of 8x8 images, 2px padding
        assert im.size == (8 * 10 + 2, 8 * 10 + 2)
    with Image.open(run / "samples" / "progress.gif") as gif:
        assert gif.n_frames == 2 and gif.info.get("loop") == 0 and gif.info.get("duration") == 300

    rows = res.metrics()
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert {"step", "epoch", "d_loss", "g_loss", "d/toy-bce", "g/toy-bce", "d_real", "d_fake", "d_real_prob",
            "d_fake_prob", "images_per_sec", "time"} <= set(rows[0])
    assert 0 < rows[-1]["d_real_prob"] < 1 and res.final["step"] == 4


def test_config_toml_repeats_the_run(toy):
    from ganzoo.config.runconfig import resolve

    first = fit(tiny(steps=3)).metrics()
    again = fit(resolve(config_file="run/config.toml", flags={"out": "again"}))
    assert [r["d_loss"] for r in again.metrics()] == [r["d_loss"] for r in first]
    assert [r["g_loss"] for r in again.metrics()] == [r["g_loss"] for r in first]


def test_points_scatter_and_epochs(toy):
    from PIL import Image

    # 512 points / 64 per batch = 8 steps per epoch; 2 epochs -> grids per epoch
    res = fit({**tiny(batch_size=64, log_every=4), "train": {**tiny()["train"], "steps": None, "epochs": 2,
                                                              "batch_size": 64, "log_every": 4}})
    assert res.step == 16 and res.epoch == 2
    names = sorted(p.name for p in Path("run/samples").glob("*.png"))
    assert names == ["epoch-001.png", "epoch-002.png"]
    with Image.open("run/samples/epoch-002.png") as im:
        assert im.size == (480, 480) and im.mode == "RGB"
        # real points in grey and samples in colour are both drawn
        colours = {c for _, c in im.getcolors(100000)}
    assert (205, 205, 205) in colours and any(c[0] != c[1] for c in colours)
    assert [r["epoch"] for r in res.metrics()] == [1, 1, 2, 2]


def test_ema_is_kept_and_used(toy):
    from safetensors import safe_open

    res = fit(tiny(ema=0.9))
    with safe_open(str(res.checkpoint), "pt") as f:
        g, e = f.get_tensor("generator.net.0.weight"), f.get_tensor("ema.net.0.weight")
    assert not (g == e).all()  # lags behind G


def test_n_critic_counts_discriminator_steps(toy):
    toy.CALLS.update(d_loss=0, g_loss=0)
    cfg = tiny(steps=3)
    cfg["loss"] = {"name": "toy-critic"}
    res = fit(cfg)
    assert toy.CALLS == {"d_loss": 15, "g_loss": 3}
    assert res.metrics()[0]["epoch"] == 1


def test_conditional_grid_has_a_row_per_class(toy):
    from PIL import Image

    cfg = tiny_images(steps=2)
    cfg["gen"] = {"name": "toy-cmlp"}
    fit(cfg)
    with Image.open("run/samples/step-000002.png") as im:
        assert im.size == (8 * 10 + 2, 10 * 10 + 2)  # 8 columns, 10 rows (one per class)


def test_loss_with_params_and_regularizer(toy):
    cfg = tiny(steps=2)
    cfg["loss"] = {"name": "toy-bce+0.5*toy-l1", "toy-l1": {"scale": 2.0}}
    rows = fit(cfg).metrics()
    assert "g/toy-l1" in rows[0] and "d/toy-l1" not in rows[0]
    assert rows[0]["g_loss"] == pytest.approx(rows[0]["g/toy-bce"] + 0.5 * rows[0]["g/toy-l1"], rel=1e-5)


def test_streaming_dataset_uses_a_dataloader(toy):
    cfg = tiny_images(steps=3, batch_size=16)
    cfg["dataset"] = {"name": "toy-digits", "streaming": True}
    res = fit(cfg)
    assert res.step == 3 and len(res.metrics()) == 3


def test_unknown_names_fail_before_writing(toy):
    from ganzoo.base.errors import UnknownNameError

    cfg = tiny()
    cfg["gen"] = {"name": "toy-mpl"}
    with pytest.raises(UnknownNameError, match="did you mean toy-mlp"):
        fit(cfg)
    assert not Path("run").exists()


def test_conditional_model_on_unlabelled_data_fails_before_writing(toy):
    from ganzoo.base.errors import UsageError

    cfg = tiny_images()
    cfg["gen"], cfg["dataset"] = {"name": "toy-cmlp"}, {"name": "toy-unlabelled"}
    with pytest.raises(UsageError, match="no class labels"):
        fit(cfg)
    assert not Path("run").exists()


def test_default_run_folder_name(toy):
    from ganzoo import get_registry
    from ganzoo.config.runconfig import resolve

    res = fit(resolve("toy-points", recipes=get_registry()))
    assert res.run_dir.parent == Path("runs") and res.run_dir.name.startswith("toy-points-")
    cfg = tomllib.loads((res.run_dir / "config.toml").read_text())
    assert cfg["meta"]["recipe"] == "toy-points" and "out" not in cfg
    again = fit(resolve(config_file=res.run_dir / "config.toml"))  # a repeat keeps the recipe's name
    assert again.run_dir != res.run_dir and again.run_dir.name.startswith("toy-points-")


# -- subprocess: the CLI on the built-in plugins -----------------------------------------------------

def _builtin(kind: str, name: str) -> bool:
    import ganzoo

    try:
        return ganzoo.get_registry().has(kind, name)
    except Exception:
        return False


needs_builtins = pytest.mark.skipif(
    not all(_builtin(k, n) for k, n in (("generator", "vanilla"), ("loss", "bce"), ("dataset", "gaussians"))),
    reason="built-in vanilla/bce/gaussians plugins not available",
)


@needs_builtins
def test_cli_run_and_sample_builtins(cli, tmp_path):
    r = cli("run", "--gen", "vanilla", "--loss", "bce", "--dataset", "gaussians", "--steps", "5",
            "--batch-size", "64", "--device", "cpu", "--out", "r", "--set", "train.log_every=1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ganzoo sample r --out grid.png" in r.stdout
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 5]
    assert (tmp_path / "r" / "samples" / "step-000005.png").exists()
    s = cli("sample", "r", "--out", "x.png", cwd=tmp_path)
    assert s.returncode == 0, s.stderr
    assert (tmp_path / "x.png").exists()
    s = cli("sample", "r", "--out", "x.safetensors", "--num", "7", cwd=tmp_path)
    assert s.returncode == 0, s.stderr
    from safetensors.torch import load_file

    assert load_file(str(tmp_path / "x.safetensors"))["points"].shape == (7, 2)


@needs_builtins
def test_cli_unknown_name_exits_2_before_writing(cli, tmp_path):
    r = cli("run", "--gen", "vanila", "--loss", "bce", "--dataset", "gaussians", "--out", "r", cwd=tmp_path)
    assert r.returncode == 2
    assert "did you mean vanilla" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
@pytest.mark.skipif(not (_builtin("generator", "dcgan") and _builtin("dataset", "mnist-10k")),
                    reason="built-in dcgan / mnist-10k not available")
def test_cli_dcgan_mnist_few_steps(cli, tmp_path):
    r = cli("run", "--gen", "dcgan", "--loss", "bce", "--dataset", "mnist-10k", "--steps", "3", "--batch-size", "16",
            "--device", "cpu", "--out", "r", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    from PIL import Image

    with Image.open(tmp_path / "r" / "samples" / "step-000003.png") as im:
        assert im.size[0] > 8 * 28
