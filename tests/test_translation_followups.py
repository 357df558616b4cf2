"""The image-to-image algorithms and datasets keep up with the shared machinery: the half-life EMA (issue 22)
and ganzoo's one picture conversion (issue 23: 16-bit pictures scaled, not clipped)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from conftest import fit
from test_algorithms import translation_run
from ganzoo.runs.checkpoint import find, load
from ganzoo.base.errors import UsageError


def test_pix2pix_averages_its_ema_by_the_half_life(tmp_path):
    """Step 2's EMA is beta·(step 1's EMA) + (1 − beta)·G with the half-life's beta (ganzoo.training.ema.step_beta),
    not a copy of G (what a fixed decay of 0 gives when a run sets ema_kimg instead of ema)."""
    from ganzoo.config.settings import TrainSettings
    from ganzoo.training.ema import step_beta

    # a half-life of 4 images and no ramp-up: beta = 0.5 ** (8 / 4) = 0.25 at every step of batch 8
    cfg = translation_run("pix2pix", steps=2, ema_kimg=0.004, ema_rampup=0, checkpoint_every=1, keep_every=1)
    cfg["out"] = str(tmp_path / "run")
    result = fit(cfg)
    first = load(result.run_dir / "checkpoints" / "step-000001.safetensors").section("ema")
    last = load(find(result.run_dir))
    beta = step_beta(TrainSettings.from_table(last.config["train"]), 2, 8)
    assert beta == pytest.approx(0.25)
    G, ema = last.section("generator"), last.section("ema")
    averaged = [k for k, v in G.items() if v.is_floating_point() and "running" not in k]
    assert averaged
    for k in averaged:
        torch.testing.assert_close(ema[k], beta * first[k] + (1 - beta) * G[k], rtol=1e-5, atol=1e-6)


def test_cyclegan_refuses_an_ema_in_either_form(tmp_path):
    for form in ({"ema_kimg": 10}, {"ema": 0.999}):
        cfg = translation_run("cyclegan", **form)
        cfg["out"] = str(tmp_path / "c")
        with pytest.raises(UsageError, match="keeps no EMA"):
            fit(cfg)


@pytest.mark.parametrize("name, layout", [("paired-folder", "pairs"), ("unpaired-folder", "domains")])
def test_the_translation_folders_scale_16_bit_pictures(tmp_path, name, layout):
    ramp = np.tile(np.linspace(0, 65535, 32).round().astype(np.uint16), (32, 1))
    if layout == "pairs":  # A|B side by side
        (tmp_path / "train").mkdir()
        for i in range(2):
            Image.fromarray(np.concatenate([ramp, ramp], axis=1)).save(tmp_path / "train" / f"{i}.png")
    else:
        for domain in ("trainA", "trainB"):
            (tmp_path / domain).mkdir()
            for i in range(2):
                Image.fromarray(ramp).save(tmp_path / domain / f"{i}.png")
    assert Image.open(next(tmp_path.rglob("*.png"))).mode.startswith("I")
    ds = ganzoo.create("dataset", name, root=str(tmp_path), image_size=32, channels=1, split="train")
    x, *_ = ds.tensors()
    # the ramp's mean grey (127.5), as uint8 or in [-1, 1]; a clipped 16-bit ramp arrives nearly white
    mean = x.float().mean().item()
    assert 120 < mean < 135 or -0.06 < mean < 0.06, mean
