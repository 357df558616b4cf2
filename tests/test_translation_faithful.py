"""pix2pix and CycleGAN against the authors' code (junyanz/pytorch-CycleGAN-and-pix2pix): what each step
optimizes, the learning-rate schedule the optimizers get, test-time mode, and the no-pool CycleGAN.

Reference files (versions read; line numbers are those versions'):
- models/cycle_gan_model.py @032e884: lambda_A = lambda_B = 10, lambda_identity 0.5 (lines 17-19);
  backward_D_basic: loss_D = (loss_D_real + loss_D_fake) * 0.5 on netD(fake.detach()) (lines 73-83);
  backward_G: loss_G = loss_G_A + loss_G_B + cycle_A·λ_A + cycle_B·λ_B + idt_A·λ_B·λ_idt + idt_B·λ_A·λ_idt
  (lines 93-118).
- models/networks.py @000f298: GANLoss with LSGAN is nn.MSELoss against a target of 1 or 0 (lines 123-141);
  get_scheduler 'lambda': lr · (1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)) (lines 24-29).
- models/pix2pix_model.py @032e884: gan_mode 'vanilla' (BCEWithLogits), lambda_L1 100 (lines 16-17);
  loss_D = (loss_D_fake + loss_D_real) * 0.5 (line 79); loss_G = GAN + L1·100 (lines 84-93).
- options/test_options.py @b0e64d4: --eval, store_true (off): test.py calls model.eval() only with it.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import fit, run_cli
from ganzoo.algorithm import adam
from ganzoo.errors import UsageError
from ganzoo.losses import CompositeLoss
from ganzoo.plugin_manager import get_registry

TINY = {
    "pix2pix": ("mnist-edges", {"name": "unet", "ngf": 2}, {"name": "patchgan", "ndf": 2}),
    "cyclegan": ("mnist-strokes", {"name": "resnet-translator", "ngf": 2, "n_blocks": 1},
                 {"name": "patchgan", "ndf": 2, "norm": "instance"}),
}
RECIPES = {"pix2pix": "pix2pix-mnist-edges", "cyclegan": "cyclegan-mnist-strokes"}


def recipe_loss(algo: str) -> str:
    return get_registry().recipe(RECIPES[algo]).config["loss"]["name"]


def tiny_run(algo: str, loss: str | None = None, algo_params: dict | None = None, **train) -> dict:
    """The recipe's algorithm and loss (unless given) with networks a few channels wide, on the held-out split."""
    dataset, gen, disc = TINY[algo]
    train = {"steps": 1, "batch_size": 8, "device": "cpu", "log_every": 1, "seed": 0, **train}
    return {"algo": {"name": algo, **(algo_params or {})}, "gen": gen, "disc": disc,
            "loss": {"name": loss or recipe_loss(algo)}, "dataset": {"name": dataset, "split": "heldout"},
            "train": train, "out": "run"}


def _record(monkeypatch) -> dict[str, list]:
    seen: dict[str, list] = {"g_loss": [], "d_loss": []}
    for side in seen:
        real = getattr(CompositeLoss, side)

        def recording(self, inputs, _real=real, _side=side):
            total, parts = _real(self, inputs)
            seen[_side].append((inputs, total.detach()))
            return total, parts

        monkeypatch.setattr(CompositeLoss, side, recording)
    return seen


def mse(x, target: float):
    return F.mse_loss(x.float(), torch.full_like(x.float(), target))


def l1(pair):
    out, target = pair
    return F.l1_loss(out.float(), target.float())


# -- item: --truncation on a translator is refused ------------------------------------------------------

@pytest.mark.parametrize("name, extra", [("pix2pix-mnist-edges", []), ("cyclegan-mnist-strokes", []),
                                         ("cyclegan-mnist-strokes", ["--direction", "BtoA"])])
def test_truncation_on_a_translation_run_is_one_line_not_ignored(tmp_path, name, extra):
    out = tmp_path / "t.png"
    proc = run_cli("sample", name, "--truncation", "0.5", "--out", str(out), *extra)
    assert proc.returncode == UsageError.exit_code == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    # the run's reader names what it does take
    assert len(lines) == 1 and "--truncation: generator '" in lines[0]
    assert "takes no truncation (it takes --direction, --input)" in lines[0]
    assert not out.exists()


# -- CycleGAN: what each step optimizes, against cycle_gan_model.py ------------------------------------

def test_cyclegan_recipe_g_loss_is_half_the_references_and_d_loss_is_the_references(monkeypatch):
    seen = _record(monkeypatch)
    fit(tiny_run("cyclegan"))
    assert len(seen["g_loss"]) == 2 and len(seen["d_loss"]) == 2  # A->B and B->A, each side
    for inputs, total in seen["g_loss"]:
        # backward_G, one direction: MSE(D(G(a)), 1) + λ·L1(F(G(a)), a) + λ·0.5·L1(G(b), b), λ = 10
        reference = mse(inputs.d_fake, 1.0) + 10 * l1(inputs.pairs["cycle"]) + 10 * 0.5 * l1(inputs.pairs["identity"])
        # ganzoo's lsgan G term is 0.5·MSE (Mao et al.), so the recipe halves λ: exactly half, which Adam follows
        assert total.item() == pytest.approx(0.5 * reference.item(), rel=1e-5)
    for inputs, total in seen["d_loss"]:
        reference = (mse(inputs.d_real, 1.0) + mse(inputs.d_fake, 0.0)) * 0.5  # backward_D_basic
        assert total.item() == pytest.approx(reference.item(), rel=1e-5)


def test_cyclegan_d_sees_the_fakes_detached_and_g_its_own_graph(monkeypatch):
    seen = _record(monkeypatch)
    fit(tiny_run("cyclegan"))
    assert all(not inputs.fake.requires_grad for inputs, _ in seen["d_loss"])  # netD(fake.detach())
    assert all(inputs.d_fake.requires_grad for inputs, _ in seen["g_loss"])


def test_cyclegan_without_a_pool_trains(monkeypatch):
    # pool_size 0 ("0: none") used to hand D the fakes still attached to G's freed graph: "Trying to backward
    # through the graph a second time" on the first step
    seen = _record(monkeypatch)
    res = fit(tiny_run("cyclegan", algo_params={"pool_size": 0}, steps=2))
    assert res.step == 2
    fakes = [inputs.fake for inputs, _ in seen["d_loss"]]
    assert len(fakes) == 4 and not any(f.requires_grad for f in fakes)


# -- pix2pix: against pix2pix_model.py -------------------------------------------------------------------

def test_pix2pix_recipe_g_loss_is_the_references_and_d_loss_twice_it(monkeypatch):
    seen = _record(monkeypatch)
    fit(tiny_run("pix2pix"))
    (g_inputs, g_total), = seen["g_loss"]
    bce_real = F.binary_cross_entropy_with_logits(g_inputs.d_fake.float(), torch.ones_like(g_inputs.d_fake.float()))
    reference_g = bce_real + 100 * F.l1_loss(g_inputs.fake.float(), g_inputs.real.float())
    assert g_total.item() == pytest.approx(reference_g.item(), rel=1e-5)
    (d_inputs, d_total), = seen["d_loss"]
    d_real, d_fake = d_inputs.d_real.float(), d_inputs.d_fake.float()
    reference_d = (F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
                   + F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))) * 0.5
    # a deliberate difference: ganzoo's bce D term is the sum, not the half; Adam's steps are the same (below)
    assert d_total.item() == pytest.approx(2 * reference_d.item(), rel=1e-5)


def test_adam_takes_the_same_steps_on_a_loss_and_on_half_of_it():
    """Why the halved CycleGAN G loss and pix2pix's unhalved D loss train as the reference does: Adam divides
    each gradient by its running RMS, so a constant factor on a side's whole loss cancels (up to eps, 1e-8)."""
    from ganzoo_plugins.translation.models import PatchGANDiscriminator

    torch.manual_seed(0)
    a = PatchGANDiscriminator(2, ndf=4, n_layers=1, image_size=32)
    b, start = copy.deepcopy(a), copy.deepcopy(a)
    opt_a, opt_b = adam(a.parameters(), 2e-4, (0.5, 0.999)), adam(b.parameters(), 2e-4, (0.5, 0.999))
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        x = torch.randn(8, 2, 32, 32, generator=gen)
        for model, opt, scale in ((a, opt_a, 1.0), (b, opt_b, 0.5)):
            opt.zero_grad()
            (scale * mse(model(x), 1.0)).backward()
            opt.step()
    for pa, pb, p0 in zip(a.parameters(), b.parameters(), start.parameters()):
        step_a, step_b = pa - p0, pb - p0
        assert step_a.abs().max() > 1e-4  # 5 steps of lr 2e-4 moved every tensor
        # the same steps to float32 rounding of the parameters and eps's share (1e-8 against gradient RMS ~1e-3)
        assert (step_a - step_b).abs().max() <= 2e-3 * step_a.abs().max()  # measured: 4.6e-4


# -- the learning-rate schedule reaches the optimizers (networks.py get_scheduler 'lambda') ---------------

@pytest.mark.parametrize("algo", ["pix2pix", "cyclegan"])
def test_the_optimizers_get_the_references_linear_decay_at_every_step(monkeypatch, algo):
    from ganzoo_plugins.translation import algorithms

    cls = {"pix2pix": algorithms.Pix2Pix, "cyclegan": algorithms.CycleGAN}[algo]
    lrs: list[tuple[float, float]] = []
    real_step = cls.step

    def step(self, next_batch, step, total):
        out = real_step(self, next_batch, step, total)
        # the lr the optimizers stepped with, read from them
        lrs.append((self.optimizers["opt_g"].param_groups[0]["lr"], self.optimizers["opt_d"].param_groups[0]["lr"]))
        return out

    monkeypatch.setattr(cls, "step", step)
    total, lr, lr_d = 6, 2e-4, 1e-4
    fit(tiny_run(algo, algo_params={"decay_from": 0.5}, steps=total, lr=lr, lr_d=lr_d))
    n_epochs, n_decay = 3, 3  # decay_from 0.5 of 6 steps; the reference counts epochs, ganzoo steps
    for i, (g, d) in enumerate(lrs):  # i: the reference's 0-based epoch
        factor = 1 - max(0, i + 1 - n_epochs) / (n_decay + 1)
        assert g == pytest.approx(lr * factor, rel=1e-12) and d == pytest.approx(lr_d * factor, rel=1e-12), i
    assert len(lrs) == total and lrs[-1][0] == pytest.approx(lr / 4)  # 1/(n_decay + 1) at the last, never 0


# -- pix2pix at test time: dropout and the test batch's statistics, as the paper and test.py ---------------

def _unet(**kw):
    from ganzoo_plugins.translation.models import UNetGenerator

    torch.manual_seed(0)
    return UNetGenerator(1, 1, image_size=32, ngf=4, **kw)


def test_unet_test_mode_train_uses_the_test_batchs_statistics_and_leaves_the_running_ones():
    g = _unet(dropout=0.0)  # no dropout: only BatchNorm differs between the modes
    x = torch.randn(6, 1, 32, 32)
    g.train()
    with torch.no_grad():
        trained = g(x)  # batch statistics, and one update of the running ones
    running = {k: v.clone() for k, v in g.state_dict().items() if "running" in k or "num_batches" in k}
    g.eval()
    with torch.no_grad():
        at_test = g(x)
        alone = g(x[:1])
    assert torch.allclose(at_test, trained, atol=1e-6)  # the batch's own statistics, as in training
    assert not torch.allclose(alone, at_test[:1], atol=1e-4)  # ... so an image's output depends on its batch
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in running.items())  # running statistics untouched
    g.test_mode = "eval"
    g.eval()
    with torch.no_grad():
        assert torch.allclose(g(x[:1]), g(x)[:1], atol=1e-6)  # running statistics: independent of the batch
        assert not torch.allclose(g(x), trained, atol=1e-4)
    g.train()
    assert all(m.track_running_stats for m in g.modules() if isinstance(m, nn.BatchNorm2d))


def test_sample_and_eval_translate_with_the_generators_test_mode_and_seed_its_noise():
    from ganzoo.evaluation.translation import translate

    g = _unet()
    x = torch.randint(0, 256, (8, 1, 32, 32), dtype=torch.uint8)
    first, again, other = translate(g, x, seed=0), translate(g, x, seed=0), translate(g, x, seed=1)
    assert torch.equal(first, again) and not torch.equal(first, other)  # dropout noise, seeded
    g.test_mode = "eval"
    assert torch.equal(translate(g, x, seed=0), translate(g, x, seed=1))  # no noise left in eval mode
    assert g.training  # translate restores the mode it found


def test_test_mode_is_a_setting_of_the_unet_generator_and_reaches_a_built_model():
    from ganzoo.build import build_generator
    from ganzoo.specs import DataInfo

    info = DataInfo((1, 32, 32), num_classes=10, size=100, modality="image")
    spec = get_registry().get("generator", "unet")
    assert {p.name: p.default for p in spec.params}["test_mode"] == "train"  # the reference's default (no --eval)
    built = build_generator("unet", info, params={"ngf": 2, "test_mode": "eval"}, source=info)
    assert built.test_mode == "eval"
    with pytest.raises(Exception, match="test_mode"):
        build_generator("unet", info, params={"ngf": 2, "test_mode": "sometimes"}, source=info)
