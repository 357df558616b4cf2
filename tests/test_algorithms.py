"""The algorithm plugin kind, pix2pix and CycleGAN: what their steps compare with what, read where it happens."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

import pytest
import torch

from conftest import fit, run_cli, tiny, tiny_images
from ganzoo.components.interfaces import to_uint8
from ganzoo.testing import check_algorithm
from ganzoo_plugins.translation.algorithms import _ImagePool, linear_decay
from ganzoo_plugins.translation.data import MNISTStrokes, digit_outline
from ganzoo_plugins.translation.losses import Cycle


def translation_run(algo: str, **extra) -> dict:
    """A 1-step pix2pix or cyclegan run on the shipped MNIST-derived data, with networks a few channels wide."""
    dataset, gen, disc, loss = {
        "pix2pix": ("mnist-edges", {"name": "unet", "ngf": 2}, {"name": "patchgan", "ndf": 2}, "bce+100*l1"),
        "cyclegan": ("mnist-strokes", {"name": "resnet-translator", "ngf": 2, "n_blocks": 1},
                     {"name": "patchgan", "ndf": 2, "norm": "instance"}, "lsgan+5*cycle+2.5*identity"),
    }[algo]
    train = {"steps": 1, "batch_size": 8, "device": "cpu", "log_every": 1, "seed": 0, **extra}
    return {"algo": {"name": algo}, "gen": gen, "disc": disc, "loss": {"name": loss},
            "dataset": {"name": dataset, "split": "heldout"}, "train": train, "out": "run"}


# -- the kind ----------------------------------------------------------------------------------------

def test_gan_is_the_default_and_every_run_records_its_algorithm(toy):
    fit(tiny(steps=2))
    config = tomllib.loads(Path("run/config.toml").read_text())
    assert config["algo"] == {"name": "gan"}


def test_a_third_party_algorithm_trains_and_passes_the_conformance_check(toy):
    res = fit({**tiny(steps=4), "algo": {"name": "toy-alternating"}})
    rows = [json.loads(line) for line in Path("run/metrics.jsonl").read_text().splitlines()]
    # D's turn on odd steps, G's on even ones: each line has the loss of the model that was updated
    assert [sorted(k for k in r if k.endswith("_loss")) for r in rows] == [["d_loss"], ["g_loss"]] * 2
    assert res.step == 4
    report = check_algorithm("toy-alternating", config={**tiny(), "algo": {"name": "toy-alternating"}})
    assert {"modules and optimizers", "finite step values", "grid", "bit-exact resume"} <= set(report.checks)


def test_progress_reaches_every_module_that_asks(toy, monkeypatch):
    from ganzoo_toy import ToyGen

    seen = []
    monkeypatch.setattr(ToyGen, "on_progress", lambda self, step, total: seen.append((step, total)), raising=False)
    fit(tiny(steps=3))
    assert seen == [(1, 3), (2, 3), (3, 3)]  # before each step, with the run's total


@pytest.mark.parametrize("args, needle", [
    (["--algo", "pix2pix", "--gen", "unet", "--disc", "patchgan", "--loss", "bce+100*l1", "--dataset", "mnist-10k"],
     "pix2pix needs a paired dataset such as mnist-edges or paired-folder; dataset 'mnist-10k' holds samples"),
    (["--gen", "dcgan", "--loss", "bce", "--dataset", "mnist-edges"],
     "gan needs a dataset of samples"),
    (["--algo", "cyclegan", "--gen", "dcgan", "--loss", "lsgan", "--dataset", "mnist-strokes"],
     "cyclegan needs an image-to-image generator such as resnet-translator or unet"),
    (["--gen", "dcgan", "--disc", "patchgan", "--loss", "bce", "--dataset", "mnist-10k"],
     "gan needs a discriminator that scores each sample"),
    (["--gen", "dcgan", "--loss", "l1", "--dataset", "mnist-10k"], "has no adversarial term"),
])
def test_compositions_that_do_not_fit_the_algorithm_fail_in_one_line(tmp_path, args, needle):
    proc = run_cli("run", *args, "--steps", "1", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "r").exists()


# -- pix2pix -----------------------------------------------------------------------------------------

def test_pix2pix_compares_each_output_with_its_own_target_and_shows_d_the_pair(monkeypatch):
    from ganzoo_plugins.losses.norm_terms import L1Loss

    seen: dict[str, torch.Tensor] = {}
    real_g_loss = L1Loss.g_loss

    def look(self, inputs):
        seen["fake"], seen["real"] = inputs.fake.detach(), inputs.real.detach()
        seen["g_input"] = [x for who, x in captured if who == "G"][-1]  # the G call of this step
        return real_g_loss(self, inputs)

    monkeypatch.setattr(L1Loss, "g_loss", look)
    captured = []
    from ganzoo_plugins.translation.models import PatchGANDiscriminator, UNetGenerator

    monkeypatch.setattr(UNetGenerator, "__call__", _recording(UNetGenerator.__call__, captured, "G"))
    monkeypatch.setattr(PatchGANDiscriminator, "__call__", _recording(PatchGANDiscriminator.__call__, captured, "D"))
    fit(translation_run("pix2pix"))
    g_input = seen["g_input"]
    # mnist-edges' input is the outline of its target: each target's outline is the very input G was given
    assert torch.equal(digit_outline(to_uint8(seen["real"])), to_uint8(g_input))
    d_inputs = [x for who, x in captured if who == "D"]
    assert all(x.shape[1] == 2 for x in d_inputs)  # (input, image) pairs, stacked along channels
    assert any(torch.equal(x[:, :1], g_input) for x in d_inputs)


def _recording(call, captured, who):
    def wrapper(self, x, *args, **kwargs):
        captured.append((who, x.detach().clone()))
        return call(self, x, *args, **kwargs)
    return wrapper


def test_pix2pix_trains_on_l1_alone_and_leaves_d_untouched():
    fit(translation_run("pix2pix", steps=2) | {"loss": {"name": "l1"}})
    rows = [json.loads(line) for line in Path("run/metrics.jsonl").read_text().splitlines()]
    assert all("d_loss" not in r and "g/l1" in r for r in rows)


def test_lr_decays_like_the_reference_schedule():
    # pix2pix/CycleGAN's `linear` policy: 1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1), in steps
    total, constant = 100, 50
    for step in (1, 50, 51, 75, 100):
        assert linear_decay(step, total, 0.5) == pytest.approx(1 - max(0, step - constant) / (total - constant + 1))


# -- CycleGAN ----------------------------------------------------------------------------------------

def test_cyclegan_cycle_term_compares_the_round_trip_with_the_original(monkeypatch):
    seen = []
    real_g_loss = Cycle.g_loss

    def look(self, inputs):
        seen.append(tuple(t.detach().clone() for t in inputs.pairs["cycle"]))
        return real_g_loss(self, inputs)

    monkeypatch.setattr(Cycle, "g_loss", look)
    from ganzoo.training.trainer import Trainer

    trainer = Trainer(translation_run("cyclegan"), progress="quiet")
    models = {}

    def before(step):
        algo = trainer.parts.algorithm
        models.update({k: copy.deepcopy(m) for k, m in algo.modules.items()})

    trainer.before_step = before
    trainer.fit()
    (rec_a, a), (rec_b, b) = seen
    with torch.no_grad():  # the weights as the step found them: F(G(a)) and G(F(b)), not any other pairing
        assert torch.allclose(rec_a, models["generator_ba"](models["generator"](a)), atol=1e-5)
        assert torch.allclose(rec_b, models["generator"](models["generator_ba"](b)), atol=1e-5)
    domain_a = MNISTStrokes(split="heldout").domains().a
    assert all((domain_a == img).all(dim=(1, 2, 3)).any() for img in to_uint8(a))  # a comes from domain A


def test_image_pool_shows_stored_fakes_half_the_time_and_resumes_exactly():
    pool = _ImagePool(2, seed=0)
    first = torch.arange(2.0).view(2, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling up: shown as they come
    later = torch.arange(2.0, 202.0).view(200, 1, 1, 1)
    out = pool.query(later)
    swapped = out != later
    assert 60 < int(swapped.sum()) < 140  # p = 1/2 of being swapped for a stored fake
    assert set(out[swapped].tolist()) <= set(torch.cat([first, later]).flatten().tolist())  # ... a past one
    state = pool.state("p")
    twin = _ImagePool(2, seed=5)
    twin.load(state, "p", torch.device("cpu"))
    more = torch.full((20, 1, 1, 1), 7.0)
    assert torch.equal(pool.query(more), twin.query(more.clone()))
    assert torch.equal(_ImagePool(0, seed=0).query(more), more)


# -- DiffAugment through the gan algorithm ------------------------------------------------------------

def test_diffaugment_reaches_d_on_real_and_fake_in_both_steps(toy, monkeypatch):
    import ganzoo_plugins.augment.diffaugment as da
    from ganzoo_toy import ToyDisc

    made, seen = [], []
    real_augment = da.diff_augment

    def augment(x, policy="", generator=None):
        out = real_augment(x, policy, generator)
        made.append(out)
        return out

    monkeypatch.setattr(da, "diff_augment", augment)
    real_forward = ToyDisc.forward
    monkeypatch.setattr(ToyDisc, "forward", lambda self, x, labels=None: (seen.append(x), real_forward(self, x))[1])
    fit({**tiny_images(steps=2), "algo": {"augment": "translation,cutout"}})
    # per step: D step (real, fake) + G step (fake); D never sees an image that was not augmented
    assert len(made) == 3 * 2
    # the build-time shape probe (a batch of 2) is not training; every training batch D scores is augmented
    trained_on = [x for x in seen if x.shape[0] == 32]
    assert len(trained_on) == 3 * 2
    assert all(any(x is m for m in made) for x in trained_on)


def test_an_unknown_augmentation_is_one_line(toy, tmp_path):
    from ganzoo.base.errors import UsageError

    with pytest.raises(UsageError, match="unknown DiffAugment policy 'flip'"):
        fit({**tiny_images(steps=1), "algo": {"augment": "flip"}})
