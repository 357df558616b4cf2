"""ProGAN's training procedure against the official code (tkarras/progressive_growing_of_gans at 2504c3f).

The expected values are worked out from the reference's lines, cited at each test: the reals faded during a
fade-in (train.py:56-80), the optimizer state reset at each change of level of detail (train.py:137, 221-223),
and the settings of the progan-mnist recipe (config.py:45-46, loss.py:43-71, networks.py:127/243).
"""

from __future__ import annotations

import signal

import pytest
import torch
from conftest import fit, tiny_images
from safetensors.torch import load_file

from ganzoo.config.runconfig import resolve
from ganzoo.plugin.manager import get_registry
from ganzoo.training.results import TrainingInterrupted
from ganzoo.base.specs import DataInfo
from ganzoo.testing import check_algorithm
from ganzoo.training.trainer import Trainer
from ganzoo_plugins.progan.algorithm import lod, lod_changed, process_reals
from ganzoo_plugins.progan.models import ProGANDiscriminator, growth_schedule

# -- the reals fade as the fakes do (train.py:56-80) ------------------------------------------------------


def _box_down(x: torch.Tensor, f: int) -> torch.Tensor:
    """The reference's 2x2 mean by reshape (train.py:68-70, generalised to f), not avg_pool."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // f, f, w // f, f).mean((3, 5))


def _tile(x: torch.Tensor, f: int) -> torch.Tensor:
    """The reference's nearest upscale by tiling (train.py:71-72, 76-79)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h, 1, w, 1).expand(n, c, h, f, w, f).reshape(n, c, h * f, w * f)


def test_process_reals_is_the_reference_fade():
    torch.manual_seed(0)
    x = torch.rand(3, 1, 16, 16) * 2 - 1  # 16 px data: levels 4, 8, 16 (3 levels)
    # fading in 8 px (level 1) at alpha 0.3: lod = 1.7; the dataset's 8 px real, lerped toward its 4 px mean by
    # lod - floor(lod) = 0.7 (FadeLOD), then tiled by 2 ** floor(lod) = 2 to 16 px (UpscaleLOD)
    hi = _box_down(x, 2)
    want = _tile(hi + (_tile(_box_down(hi, 2), 2) - hi) * 0.7, 2)
    torch.testing.assert_close(process_reals(x, 3, 1, 0.3), want)
    assert lod(3, 1, 0.3) == 1.7
    # fully grown: the identity; at 4 px (level 0): the 4 px mean tiled by 4, no blend
    assert torch.equal(process_reals(x, 3, 2, 1.0), x)
    torch.testing.assert_close(process_reals(x, 3, 0, 1.0), _tile(_box_down(x, 4), 4))
    # stabilising at 8 px (alpha 1): the 8 px real alone
    torch.testing.assert_close(process_reals(x, 3, 1, 1.0), _tile(hi, 2))


# -- Adam's state is reset when the level of detail crosses an integer (train.py:221-223) ----------------------

def test_resets_fall_at_the_start_and_end_of_each_fade_in():
    # 4 levels (4-32 px), growth over half of 1400 steps: 7 phases of 100 steps (4 px; fade 8, 8; fade 16, 16; ..)
    levels, growth, total = 4, 0.5, 1400
    assert growth_schedule(100, total, levels, growth) == (1, 0.0)  # alpha 0: still lod 3, no reset yet
    resets = [s for s in range(1, total + 1) if lod_changed(s, total, levels, growth)]
    # lod leaves 3 at step 101 (floor 3 -> 2) and reaches 2 at step 200 (ceil 3 -> 2), and so on
    assert resets == [101, 200, 301, 400, 501, 600]


# -- the wiring in a run ----------------------------------------------------------------------------------------

def _run_config(steps: int = 25) -> dict:
    cfg = tiny_images(steps=steps, batch_size=8, latent_dim=8, lr=1e-3, betas=[0.0, 0.99])
    cfg.update(algo={"name": "progan"}, dataset={"name": "toy-digits", "size": 16},
               gen={"name": "progan", "channel_base": 64, "channel_max": 8, "growth": 1.0},
               disc={"name": "progan", "channel_base": 64, "channel_max": 8, "growth": 1.0},
               loss={"name": "wgan-gp+0.001*drift", "wgan-gp": {"n_critic": 1}})
    return cfg


def test_a_run_resets_adam_at_each_change_of_resolution(toy):
    # 16 px, growth over all 25 steps: 5 phases of 5 steps; resets at steps 6 (lod 2 -> 1.8) and 10 (lod 1),
    # 16 and 20 (as test_resets_fall_... computes)
    steps, counts = 25, {}
    trainer = Trainer(_run_config(steps), progress="quiet",
                      before_step=lambda step: counts.update({step: _adam_steps(trainer)}))
    trainer.fit()
    counts[steps + 1] = _adam_steps(trainer)
    assert [s for s in range(1, steps + 1) if lod_changed(s, steps, 3, 1.0)] == [6, 10, 16, 20]
    # Adam's step count before step s: the updates since the last reset (a reset at step r empties the state,
    # then step r's update makes it 1)
    want, n = {}, 0
    for s in range(1, steps + 2):
        want[s] = n
        n = 1 if s in (6, 10, 16, 20) else n + 1
    assert counts == want


def _adam_steps(trainer: Trainer) -> int:
    opt = trainer.parts.algorithm.optimizers["opt_d"]
    states = [opt.state[p] for g in opt.param_groups for p in g["params"] if p in opt.state]
    return int(states[0]["step"]) if states else 0


def test_d_sees_the_reals_faded_and_the_fakes_as_g_made_them(toy):
    steps, seen, raw = 12, [], []
    fade_step = 8  # phase 3 of 5 over 12 steps: 16 px fading in (alpha = 8/12*5 - 3 = 1/3)
    trainer: Trainer

    def before(step: int) -> None:
        if step == fade_step:
            feed = trainer.parts.feed
            nxt = feed.next
            feed.next = lambda: raw.append(nxt()) or raw[-1]  # type: ignore[method-assign]
            D = trainer.parts.algorithm.modules["discriminator"]
            D.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()) if len(seen) < 2
                                        else None)

    trainer = Trainer(_run_config(steps), progress="quiet", before_step=before)
    trainer.fit()
    algo = trainer.parts.algorithm
    D = algo.modules["discriminator"]
    assert isinstance(D, ProGANDiscriminator) and not D.fades_inputs
    level, alpha = growth_schedule(fade_step, steps, 3, 1.0)
    assert level == 2 and 0 < alpha < 1
    real = raw[0][0]
    torch.testing.assert_close(seen[0], process_reals(real, 3, level, alpha))  # D(real) first in the D step
    assert not torch.allclose(seen[0], real)
    # the fake: G's output (already its alpha blend), not blurred again by D, which only pools to its
    # resolution (the identity at 16 px); the gan algorithm's fallback would blur it once more
    fake = seen[1]
    D.set_growth(level, alpha)
    assert torch.equal(D.current_view(fake), fake)
    D.fades_inputs = True
    assert not torch.allclose(D.current_view(fake), fake)


def test_progan_algorithm_resumes_bit_for_bit(toy):
    # stopped at step 12 (mid-run, between the resets at 10 and 16) and resumed to 25: the same weights, EMA
    # and Adam state as an unbroken run (the resets depend on the step alone)
    # (interrupted, as a Ctrl-C would: a run of fewer steps would be another schedule, growth being a share)
    cfg = {**_run_config(25), "train": {**_run_config(25)["train"], "ema_kimg": 0.05, "checkpoint_every": 5}}
    a = fit({**cfg, "out": "a"})
    stopped = Trainer({**cfg, "out": "b"}, progress="quiet",
                      before_step=lambda step: step == 12 and stopped._request_stop(signal.SIGTERM))
    with pytest.raises(TrainingInterrupted, match="at step 12"):
        stopped.fit()
    b = fit({**cfg, "out": "b"}, resume=True)
    ta, tb = load_file(str(a.checkpoint)), load_file(str(b.checkpoint))
    assert any(k.startswith("ema.") for k in ta) and ta.keys() == tb.keys()
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    report = check_algorithm("progan", config=_run_config(4))
    assert report.ok and "bit-exact resume" in report.checks


# -- the recipe's settings against the reference -----------------------------------------------------------------

def test_progan_recipe_trains_with_the_references_settings():
    cfg = resolve(recipe="progan-mnist", recipes=get_registry())
    t = cfg.train
    assert cfg.algo["name"] == "progan"                     # train.py's fade of the reals and optimizer resets
    assert (t["lr"], tuple(t["betas"])) == (1e-3, (0.0, 0.99))  # train.py:96-98, config.py:45-46
    assert t["lr_d"] is None and t["betas_d"] is None
    assert cfg.loss_spec.terms == ((1.0, "wgan-gp"), (0.001, "drift"))  # loss.py:45 wgan_epsilon = 0.001
    assert cfg.loss["wgan-gp"]["n_critic"] == 1             # train.py: D_repeats = 1
    assert cfg.loss["wgan-gp"].get("gp_weight", 10.0) == 10.0  # loss.py:44 wgan_lambda
    D = ProGANDiscriminator(DataInfo((1, 32, 32), size=64), **{k: v for k, v in cfg.disc.items() if k != "name"})
    assert D.mbstd.group_size == 4                          # networks.py:243 mbstd_group_size = 4
