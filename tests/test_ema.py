"""The EMA generator: the weight average against its recurrence, copied buffers, and BatchNorm statistics of its own.

The EMA model's BatchNorm layers must normalise with the statistics of the
EMA model's own activations (BigGAN's standing statistics), not with G's
running statistics copied over: the tests measure the activations with a
hook and compare them with the stored buffers.
"""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import fit, tiny
from safetensors.torch import load_file
from torch import nn

import ganzoo
from ganzoo.training import ema as ema_mod
from ganzoo.components.interfaces import Generator
from ganzoo.base.specs import DataInfo
from ganzoo.training.trainer import Trainer

POINTS = DataInfo((2,), size=512, modality="points")


class BNGen(Generator):
    """latent -> Linear -> BatchNorm1d -> ReLU -> Linear, with a non-BatchNorm buffer G keeps updating."""

    def __init__(self, data, latent_dim=4, hidden=16):
        super().__init__(data, latent_dim)
        self.inp = nn.Linear(latent_dim, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.out = nn.Linear(hidden, data.numel)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))  # like a spectral norm's u vector

    def forward(self, z, labels=None):
        if self.training:
            self.calls += 1
        return self.out(torch.relu(self.bn(self.inp(z)))).view(len(z), *self.data.shape)


class BNPlugin:
    @ganzoo.hookimpl
    def ganzoo_register_components(self, register):
        register.generator("ema-bn", BNGen)


@pytest.fixture
def bn_gen(toy, add_plugin):
    add_plugin(BNPlugin(), "ema-bn")


def bn_config(**train):
    cfg = tiny(**{"ema": 0.99, "lr": 0.01, **train})
    cfg["gen"], cfg["disc"] = {"name": "ema-bn"}, {"name": "toy-mlp"}
    return cfg


def own_statistics(model: BNGen, n: int = 20000, seed: int = 123) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of what the BatchNorm layer is given, in eval mode, over fresh latents (a hook)."""
    seen: list[torch.Tensor] = []
    handle = model.bn.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach()))
    model.eval()
    try:
        with torch.no_grad():
            model(torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed)))
    finally:
        handle.remove()
    (x,) = seen
    return x.mean(0), x.var(0)


def assert_own_statistics(model: BNGen) -> None:
    mean, var = own_statistics(model)
    bn = model.bn
    off = ((bn.running_mean - mean).abs() / var.sqrt()).max().item()
    ratio = bn.running_var / var
    assert off < 0.1, f"running mean is {off:.2f} std from the model's own activation mean"
    assert ratio.min() > 0.85 and ratio.max() < 1.18, f"running var / own var in [{ratio.min():.2f}, {ratio.max():.2f}]"


# -- the weight average ------------------------------------------------------------------------------

def test_update_is_the_exponential_moving_average():
    torch.manual_seed(0)
    G, ema = BNGen(POINTS), BNGen(POINTS)
    e0 = [p.detach().clone() for p in ema.parameters()]
    ema_mod.update(ema, G, decay=0.9)
    for e, before, g in zip(ema.parameters(), e0, G.parameters()):
        torch.testing.assert_close(e, 0.9 * before + 0.1 * g.detach(), rtol=1e-6, atol=1e-7)


def test_update_copies_buffers():
    torch.manual_seed(0)
    G, ema = BNGen(POINTS), BNGen(POINTS)
    G(torch.randn(8, 4))
    G(torch.randn(8, 4))
    ema_mod.update(ema, G, decay=0.9)
    assert ema.calls.item() == 2
    for (name, e), g in zip(ema.named_buffers(), G.buffers()):
        assert torch.equal(e, g), name


def test_trainer_ema_follows_the_recurrence(bn_gen):
    """EMA_0 = G_0 and EMA_k = d·EMA_(k−1) + (1 − d)·G_k, with G_k G's weights after step k."""
    decay, snapshots = 0.7, []
    trainer = Trainer(bn_config(steps=4, ema=decay), progress="quiet",
                      before_step=lambda step: snapshots.append(copy.deepcopy(list(trainer.parts.G.parameters()))))
    trainer.fit()
    snapshots.append([p.detach() for p in trainer.parts.G.parameters()])
    expected = [p.detach().clone() for p in snapshots[0]]
    for g in snapshots[1:]:
        expected = [decay * e + (1 - decay) * w.detach() for e, w in zip(expected, g)]
    assert not torch.equal(snapshots[0][0], snapshots[-1][0])  # G did move
    for got, want in zip(trainer.parts.ema.parameters(), expected):
        torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-6)


# -- BatchNorm statistics of its own -----------------------------------------------------------------

def test_standing_stats_are_the_models_own():
    torch.manual_seed(0)
    model = BNGen(POINTS)
    with torch.no_grad():
        model.bn.running_mean.fill_(5.0)  # statistics from some other model
        model.bn.running_var.fill_(0.01)
    stats = ema_mod.StandingStats(model, latent_dim=4, batch_size=32, num_classes=None,
                                  device=torch.device("cpu"), seed=0)
    assert stats.needed
    stats.refresh(step=7)
    assert_own_statistics(model)
    assert model.bn.momentum == 0.1 and not model.training  # the layer is left as it was found
    before = model.bn.running_mean.clone()
    stats.refresh(step=7)  # the same step twice: nothing to redo
    assert torch.equal(model.bn.running_mean, before)


def test_standing_stats_leave_the_global_rng_alone():
    model = BNGen(POINTS)
    stats = ema_mod.StandingStats(model, latent_dim=4, batch_size=32, num_classes=None,
                                  device=torch.device("cpu"), seed=0)
    torch.manual_seed(5)
    state = torch.get_rng_state()
    stats.refresh(step=1)
    assert torch.equal(torch.get_rng_state(), state)


def test_checkpointed_ema_normalises_with_its_own_statistics(bn_gen):
    # G moves fast, the average hardly; the checkpoint at step 30 is written before the last grid is drawn
    res = fit(bn_config(steps=30, lr=0.05, ema=0.999, sample_every=10**6, checkpoint_every=30))
    tensors = load_file(str(res.checkpoint))
    ema = BNGen(POINTS)
    ema.load_state_dict({k[len("ema."):]: v for k, v in tensors.items() if k.startswith("ema.")})
    assert_own_statistics(ema)
    # with G's running statistics copied in, as the EMA model used to be sampled, the same check fails
    copied = copy.deepcopy(ema)
    for name in ("running_mean", "running_var"):
        getattr(copied.bn, name).copy_(tensors[f"generator.bn.{name}"])
    with pytest.raises(AssertionError, match=r"std from|running var"):
        assert_own_statistics(copied)


def test_resume_with_a_batchnorm_ema_is_exact(bn_gen):
    cfg = bn_config(steps=12, sample_every=3, checkpoint_every=3, ema=0.9)
    a = fit({**cfg, "out": "a"})
    fit({**cfg, "out": "b", "train": {**cfg["train"], "steps": 6}})
    b = fit({**cfg, "out": "b"}, resume=True)
    ta, tb = load_file(str(a.checkpoint)), load_file(str(b.checkpoint))
    assert ta.keys() == tb.keys()
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    rows = [(r["step"], r["d_loss"], r["g_loss"]) for r in a.metrics()]
    assert rows == [(r["step"], r["d_loss"], r["g_loss"]) for r in b.metrics()]
