"""The EMA by half-life with ramp-up (issue 22): StyleGAN2-ADA's definition, the recipes' settings, a run.

The reference is NVlabs/stylegan2-ada-pytorch, training/training_loop.py:298-301::

    ema_nimg = ema_kimg * 1000
    if ema_rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * ema_rampup)
    ema_beta = 0.5 ** (batch_size / max(ema_nimg, 1e-8))

with ``batch_size`` the total batch over all GPUs (train.py:190) and ``cur_nimg`` the images seen before the
step (incremented after the update, training_loop.py:308). The expected values below are worked out by hand
from those lines, not by calling `ganzoo.training.ema.beta`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from conftest import fit, tiny
from safetensors.torch import load_file

from ganzoo.training import ema as ema_mod
from ganzoo.training.algorithm import Setup
from ganzoo.components.build import build_dataset, build_loss
from ganzoo.config.runconfig import RunConfig, resolve
from ganzoo.config.settings import TrainSettings
from ganzoo.base.errors import ConfigError
from ganzoo.plugin.manager import get_registry
from ganzoo.training.trainer import Trainer

# -- (a) the decay of one step against the reference's closed form ---------------------------------------------


def test_half_life_halves_the_start_after_ema_kimg_thousand_images():
    # no ramp-up: a constant decay; 1.6 kimg at 32 images a step is 50 steps, after which the start weighs 0.5
    b = ema_mod.beta(cur_nimg=10**6, batch_images=32, ema_kimg=1.6, ema_rampup=None)
    assert b == pytest.approx(0.5 ** (32 / 1600), rel=1e-15)
    assert b ** 50 == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("cur_nimg, batch, kimg, rampup, want", [
    (0, 64, 20, 0.05, 0.0),                              # nothing seen: a zero half-life (the 1e-8 floor) copies G
    (64, 64, 20, 0.05, 0.5 ** (64 / 3.2)),               # min(20000, 64*0.05 = 3.2)
    (6400, 64, 20, 0.05, 0.5 ** 0.2),                    # min(20000, 320): 0.8705505632961241
    (400_000, 64, 20, 0.05, 0.5 ** (64 / 20_000)),       # 400k*0.05 = 20000: the ramp-up ends here
    (10**7, 64, 20, 0.05, 0.5 ** (64 / 20_000)),         # past it the half-life is ema_kimg's
    (0, 64, 20, None, 0.5 ** (64 / 20_000)),             # no ramp-up: ema_kimg's from the first step
    (96_000, 64, 500, 0.05, 0.5 ** (64 / 4800)),         # stylegan2-mnist's last step: 5% of 96k images
])
def test_beta_is_the_reference_formula(cur_nimg, batch, kimg, rampup, want):
    assert ema_mod.beta(cur_nimg, batch, kimg, rampup) == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_step_beta_counts_the_images_seen_before_the_step():
    t = TrainSettings.from_table({"ema": 0.0, "ema_kimg": 20.0, "ema_rampup": 0.05})
    assert ema_mod.step_beta(t, 1, 64) == 0.0                          # step 1: cur_nimg 0
    assert ema_mod.step_beta(t, 101, 64) == pytest.approx(0.5 ** 0.2)  # 100 steps of 64 seen: min(20000, 320)
    # ema_rampup 0 is no ramp-up (the "off" spelling), not a zero half-life
    assert ema_mod.step_beta(replace(t, ema_rampup=0.0), 1, 64) == pytest.approx(0.5 ** (64 / 20_000))
    # the fixed-decay form: the same decay at every step
    fixed = TrainSettings.from_table({"ema": 0.999, "ema_kimg": 0.0, "ema_rampup": 0.05})
    assert ema_mod.step_beta(fixed, 1, 64) == 0.999
    assert not ema_mod.enabled(TrainSettings.from_table({"ema": 0.0, "ema_kimg": 0.0})) and ema_mod.enabled(t)
    # started from trained weights (train.init): no ramp-up, as train.py:313-315 for a resumed snapshot
    assert ema_mod.step_beta(replace(t, init="dcgan-mnist"), 1, 64) == pytest.approx(0.5 ** (64 / 20_000))


def test_the_batch_is_counted_over_all_processes():
    """Two processes of 32: 64 images a step (train.py:190-191: batch_size is the total, batch_gpu the share)."""
    train = TrainSettings.from_table({"ema": 0.0, "ema_kimg": 20.0, "ema_rampup": 0.0, "batch_size": 32})
    setup = SimpleNamespace(config=SimpleNamespace(settings=train), env=SimpleNamespace(world_size=2))
    assert Setup.ema_beta(setup, 101) == pytest.approx(0.5 ** (64 / 20_000))  # type: ignore[arg-type]
    # during the ramp-up the ratio batch / (cur_nimg * ramp) is the same for any batch: 100 steps of 64 seen
    setup.config.settings = replace(train, ema_rampup=0.05)
    assert Setup.ema_beta(setup, 101) == pytest.approx(0.5 ** (64 / 320))  # type: ignore[arg-type]


def test_settings_take_one_form_of_the_ema():
    assert resolve(sets=["train.ema_kimg=10"], recipes=get_registry(), recipe="dcgan-mnist").train["ema_rampup"] == 0.05
    with pytest.raises(ConfigError, match="not both"):
        resolve(sets=["train.ema_kimg=10", "train.ema=0.9"], recipes=get_registry(), recipe="dcgan-mnist")
    # a later layer's fixed decay replaces the recipe's half-life (and --ema 0 turns the EMA off)
    t = resolve(recipe="dcgan-ema-mnist", flags={"train": {"ema": 0.99}}, recipes=get_registry()).train
    assert (t["ema"], t["ema_kimg"]) == (0.99, 0.0)
    settings = resolve(recipe="dcgan-ema-mnist", flags={"train": {"ema": 0}}, recipes=get_registry()).settings
    assert not ema_mod.enabled(settings)


# -- (b) every built-in recipe forgets its random initialisation -----------------------------------------------

# The bound: the EMA is a convex combination of G's weights over training, and a share s of it on the random
# init (or on the barely trained weights of the first 10% of the run) moves each averaged weight by s times its
# distance from the trained value. At s < 1e-4 that is under 1/40 of one 8-bit grey level (1/255 ≈ 4e-3 of the
# output range) even if the output followed the weights one for one, and below the resolution of the bf16 the
# models run in on CUDA (2^-8): nothing a sample, a score or a shipped file can show. The old `ema = 0.999`
# after 1,500-2,000 steps left 13-22%.
NEGLIGIBLE = 1e-4
#: a folder recipe's data is the user's: its run length is checked from a small folder to all of CelebA
FOLDER_SIZES = (1_000, 202_599)


def _recipes_with_ema() -> list[str]:
    registry = get_registry()
    return sorted(r.name for r in registry.recipes()
                  if ema_mod.enabled(resolve(recipe=r.name, recipes=registry).settings))


def _steps(cfg: RunConfig, folder_size: int) -> int:
    """The recipe's generator steps: epochs × (train images // batch // n_critic), as the feeder counts them."""
    t = cfg.train
    if t["steps"]:
        return int(t["steps"])
    registry = get_registry()
    if cfg.dataset["name"] == "folder":
        n = folder_size - folder_size // 10  # its train split leaves out a tenth (plugins/datasets/folder.py)
    else:
        n = len(build_dataset(cfg.dataset["name"], RunConfig.params(cfg.dataset), registry, check=False).tensors()[0])
    n_critic = max(1, build_loss(cfg.loss["name"], cfg.loss_params, registry).n_critic)
    return int(t["epochs"]) * (n // t["batch_size"] // n_critic)


def _log_weight_before(cfg: RunConfig, steps: int, m: int) -> float:
    """log of the share of the final EMA on G's weights up to step ``m`` (0: the random init alone).

    EMA_T = Π_{k>m} β_k · EMA_m + (the rest), and EMA_m is a combination of G_0..G_m alone, so their
    share is Π_{k=m+1..T} β_k (the product is taken in logs: it underflows)."""
    batch = cfg.train["batch_size"]
    total = 0.0
    for k in range(m + 1, steps + 1):
        b = ema_mod.step_beta(cfg.settings, k, batch)
        if b == 0.0:
            return -math.inf
        total += math.log(b)
    return total


def test_every_ema_recipe_is_checked():
    assert set(_recipes_with_ema()) >= {"improved-dcgan-mnist", "sngan-mnist", "progan-mnist", "stylegan2-mnist",
                                        "biggan-mnist", "dcgan-ema-mnist", "cdcgan-ema-mnist", "stylegan2-faces64"}


@pytest.mark.parametrize("recipe", _recipes_with_ema())
def test_recipe_ema_forgets_the_random_init(recipe):
    cfg = resolve(recipe=recipe, recipes=get_registry())
    assert cfg.train["ema_kimg"] > 0, "a built-in recipe's EMA is a half-life with ramp-up, not a fixed decay"
    for size in FOLDER_SIZES if cfg.dataset["name"] == "folder" else FOLDER_SIZES[:1]:
        steps = _steps(cfg, size)
        init = math.exp(_log_weight_before(cfg, steps, 0))
        early = math.exp(_log_weight_before(cfg, steps, steps // 10))
        assert init < NEGLIGIBLE, f"{recipe}: the random init keeps {init:.2e} of the EMA after {steps} steps"
        assert early < NEGLIGIBLE, f"{recipe}: the first 10% of {steps} steps keep {early:.2e} of the EMA"


# -- (c) a run's EMA is the product formula, and resumes bit for bit ----------------------------------------------

def test_trainer_ema_is_the_half_life_recurrence(toy):
    """EMA_0 = G_0; EMA_k = β_k·EMA_(k−1) + (1 − β_k)·G_k with β_k from the reference lines (hand-rolled)."""
    kimg, ramp, batch, snapshots = 0.2, 0.5, 32, []
    trainer = Trainer(tiny(steps=8, batch_size=batch, lr=0.01, ema_kimg=kimg, ema_rampup=ramp), progress="quiet",
                      before_step=lambda step: snapshots.append(copy.deepcopy(list(trainer.parts.G.parameters()))))
    trainer.fit()
    snapshots.append([p.detach() for p in trainer.parts.G.parameters()])
    expected = [p.detach().clone() for p in snapshots[0]]
    betas = []
    for k, g in enumerate(snapshots[1:], start=1):
        cur_nimg = (k - 1) * batch
        b = 0.5 ** (batch / max(min(kimg * 1000, cur_nimg * ramp), 1e-8))
        betas.append(b)
        expected = [b * e + (1 - b) * w.detach() for e, w in zip(expected, g)]
    assert betas[0] == 0.0 and 0 < betas[1] < betas[-1] < 1  # a copy of G at step 1, then the ramp-up
    assert not torch.equal(snapshots[0][0], snapshots[-1][0])  # G did move
    for got, want in zip(trainer.parts.ema.parameters(), expected):
        torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-6)


def test_resume_with_a_half_life_ema_is_exact(toy):
    cfg = tiny(steps=12, sample_every=3, checkpoint_every=3, ema_kimg=0.1, ema_rampup=0.05)
    a = fit({**cfg, "out": "a"})
    fit({**cfg, "out": "b", "train": {**cfg["train"], "steps": 6}})
    b = fit({**cfg, "out": "b"}, resume=True)
    ta, tb = load_file(str(a.checkpoint)), load_file(str(b.checkpoint))
    assert any(k.startswith("ema.") for k in ta) and ta.keys() == tb.keys()
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
