"""`ganzoo sample`: rebuilding a run's generator from its config and checkpoint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from conftest import fit, install_toy, tiny, tiny_images, toy_env

import ganzoo.plugin.manager as gp
from ganzoo.base.errors import CheckpointError, ComponentError, UsageError
from ganzoo.cli.commands.sample_cmd import sample_to_file


@pytest.fixture
def cond_run(toy):
    cfg = tiny_images(steps=4, ema=0.9, checkpoint_every=2, keep_every=1)
    cfg["gen"] = {"name": "toy-cmlp"}
    fit(cfg)
    return Path("run")


def test_png_grid_rows_per_class_and_default_out(cond_run):
    info = sample_to_file(cond_run)
    assert info.out == cond_run / "samples" / "sample-0.png" and info.loaded.ema and info.loaded.step == 4
    with Image.open(info.out) as im:
        assert im.size == (8 * 10 + 2, 10 * 10 + 2)  # 8 per row, one row per class
    info = sample_to_file(cond_run, "n.png", num=25)
    assert info.num == 30  # rounded up to whole rows: ceil(25 / 10) = 3 per class
    with Image.open(info.out) as im:
        assert im.size == (3 * 10 + 2, 10 * 10 + 2)


def test_safetensors_images_and_labels(cond_run):
    info = sample_to_file(cond_run, "s.safetensors", num=12, label=3, seed=5)
    t = load_file("s.safetensors")
    assert t["images"].dtype == torch.uint8 and t["images"].shape == (12, 1, 8, 8)
    assert t["labels"].dtype == torch.int64 and (t["labels"] == 3).all()
    assert info.num == 12
    sample_to_file(cond_run, "all.safetensors")
    assert load_file("all.safetensors")["labels"].tolist() == [k for k in range(10) for _ in range(8)]


def test_seed_and_ema_change_the_samples(cond_run):
    def images(**kw):
        sample_to_file(cond_run, "x.safetensors", num=10, force=True, **kw)
        return load_file("x.safetensors")["images"]

    assert (images(seed=1) == images(seed=1)).all()
    assert not (images(seed=1) == images(seed=2)).all()
    assert not (images(seed=1) == images(seed=1, use_ema=False)).all()
    assert sample_to_file(cond_run, "y.png", use_ema=False).loaded.ema is False


def test_checkpoint_paths_and_a_lone_checkpoint(cond_run, tmp_path):
    kept = cond_run / "checkpoints" / "step-000002.safetensors"
    assert kept.exists()
    assert sample_to_file(kept, "k.png").loaded.step == 2
    lone = tmp_path / "elsewhere" / "model.safetensors"
    lone.parent.mkdir()
    shutil.copy(cond_run / "checkpoints" / "latest.safetensors", lone)
    info = sample_to_file(lone)  # config and data info come from the checkpoint's metadata
    assert info.out == lone.parent / "samples" / "sample-0.png" and info.out.exists()


@pytest.mark.parametrize("label, match", [(10, r"out of range \(this model has classes 0..9\)"), (-1, "out of range")])
def test_label_out_of_range(cond_run, label, match):
    with pytest.raises(UsageError, match=match):
        sample_to_file(cond_run, "x.png", label=label)


def test_label_needs_a_conditional_model(toy):
    fit(tiny(steps=2))
    with pytest.raises(UsageError, match="not conditional"):
        sample_to_file("run", "x.png", label=1)


def test_bad_out_suffix(cond_run):
    with pytest.raises(UsageError, match=r"\.png or \.safetensors"):
        sample_to_file(cond_run, "x.jpg")


def test_points_runs_sample_as_scatter_and_points(toy):
    fit(tiny(steps=2))
    with Image.open(sample_to_file("run", "p.png").out) as im:
        assert im.size == (480, 480)
    sample_to_file("run", "p.safetensors", num=9)
    assert load_file("p.safetensors")["points"].shape == (9, 2)


def test_missing_generator_plugin_names_its_distribution(cond_run):
    gp.reset()  # a registry without the toy plugin
    with pytest.raises(ComponentError) as err:
        sample_to_file(cond_run, "x.png")
    assert str(err.value) == ("generator 'toy-cmlp' is not available: the run used plugin 'toy' from "
                              "test-dist 0.0.1 (install it: pip install test-dist)")


def test_blocked_generator_plugin_is_not_called_missing(cond_run, monkeypatch):
    monkeypatch.setenv(gp.ENV_BLOCK, "toy")
    gp.reset()
    with pytest.raises(ComponentError) as err:
        sample_to_file(cond_run, "x.png")
    assert "GANZOO_BLOCK_PLUGINS" in str(err.value) and "pip install" not in str(err.value)


def test_resume_of_a_run_whose_plugin_is_gone_says_what_to_install(cond_run, cli):
    r = cli("run", "--resume", "run", "--steps", "8", cwd=Path.cwd())  # the toy plugin is not on the path
    assert r.returncode == ComponentError.exit_code and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "'toy-cmlp' is not available" in r.stderr and "pip install test-dist" in r.stderr


def test_cli_sample(cond_run, tmp_path, cli):
    site = install_toy(tmp_path / "site")
    env, cwd = toy_env(site), Path.cwd()
    r = cli("sample", "run", "--out", "c.png", "--label", "2", "--num", "4", env=env, cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert "wrote 4 samples from the EMA generator at step 4 to c.png" in r.stdout
    r = cli("sample", "run", "--label", "10", env=env, cwd=cwd)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "out of range" in r.stderr
    r = cli("sample", "run", cwd=cwd)  # toy plugin not on the path
    assert r.returncode == ComponentError.exit_code and len(r.stderr.strip().splitlines()) == 1
    assert "generator 'toy-cmlp' is not available" in r.stderr and "test-dist" in r.stderr
    (cwd / "run" / "checkpoints" / "latest.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    r = cli("sample", "run", env=env, cwd=cwd)
    assert r.returncode == CheckpointError.exit_code and "truncated" in r.stderr and len(r.stderr.strip().splitlines()) == 1


# -- sampling options a generator declares (--truncation) ---------------------------------------------

@pytest.fixture
def stylegan_run(toy):
    cfg = tiny_images(steps=2, latent_dim=8)
    cfg["gen"] = {"name": "stylegan2", "w_dim": 8, "channel_base": 64, "channel_max": 8}
    cfg["disc"] = {"name": "stylegan2", "channel_base": 64, "channel_max": 8}
    fit(cfg)
    return Path("run")


def test_truncation_reaches_a_generator_that_declares_it(stylegan_run, monkeypatch):
    from ganzoo_plugins.stylegan2.models import StyleGAN2Generator

    seen = []
    real = StyleGAN2Generator.forward

    def recording(self, z, labels=None, truncation_psi=1.0, **kw):
        seen.append(truncation_psi)
        return real(self, z, labels, truncation_psi=truncation_psi, **kw)

    monkeypatch.setattr(StyleGAN2Generator, "forward", recording)
    drawn = sample_to_file(stylegan_run, out="t.safetensors", num=6, truncation=0.0)
    assert seen[-1] == 0.0  # (loading probes the model once, untruncated)
    # psi 0 maps every z to the mean w: the samples differ only by the per-layer noise, far less than at psi 1
    spread = load_file(str(drawn.out))["images"].float().std(0).mean()
    sample_to_file(stylegan_run, out="u.safetensors", num=6)
    assert seen[-1] == 1.0
    assert spread < load_file("u.safetensors")["images"].float().std(0).mean()


def test_truncation_of_a_generator_without_it_is_one_line(cond_run, cli):
    with pytest.raises(UsageError, match="generator 'toy-cmlp' declares no truncation trick") as err:
        sample_to_file(cond_run, out="t.png", truncation=0.7)
    assert "stylegan2" in err.value.hint
