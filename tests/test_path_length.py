"""StyleGAN2's path-length regularization (`pl`) and what a loss term needs for it: the latents and the generator's
w in `LossInputs`, state kept with the run, and the lazy-regularization correction of Adam.

Reference: NVlabs/stylegan2-ada-pytorch, training/loss.py:24 (pl_batch_shrink 2, pl_decay 0.01, pl_weight 2),
77-92 (the Gpl phase), training_loop.py:106 (G_reg_interval 4), 201-208 (lr·c, betas**c, c = k/(k+1)) and
283-284 (the regularization phase's gain is its interval).
"""

from __future__ import annotations

import math
import signal
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from ganzoo.training.algorithm import hyper
from ganzoo.components.build import build_loss
from ganzoo.runs.checkpoint import load
from ganzoo.base.errors import CheckpointError, UsageError
from ganzoo.components.interfaces import LossInputs, LossTerm
from ganzoo.components.losses import CompositeLoss
from ganzoo.testing.losses import check_loss

H = W = 4
C = 1
D_W = 3  # size of w
LAYERS = 2  # per-layer ws, as StyleGAN2's (N, num_ws, w_dim)


class LinearSynthesis(nn.Module):
    """w = z (times ones) repeated per layer; image = Σ_l A_l w_l, so J_{w_l}ᵀ y = A_lᵀ y is known in closed form."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.A = nn.Parameter(torch.randn(LAYERS, C * H * W, D_W))
        self.mapping = nn.Parameter(torch.ones(D_W))  # w depends on G's weights, as a mapping network's does

    def forward_with_w(self, z: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        ws = (z * self.mapping).unsqueeze(1).repeat(1, LAYERS, 1)
        image = torch.einsum("lpd,nld->np", self.A, ws)
        return image.view(-1, C, H, W), ws

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.forward_with_w(z)[0]


def inputs(G: nn.Module, z: Tensor, step: int) -> LossInputs:
    fake = G(z)
    return LossInputs(real=torch.zeros_like(fake), fake=fake, d_fake=torch.zeros(len(z)), d_real=None, labels=None,
                      discriminator=nn.Identity(), step=step, generator=G, z=z)


def closed_form_lengths(G: LinearSynthesis, n: int, seed: int) -> Tensor:
    """‖J_wᵀ y‖ per sample, with y the noise the term draws after `torch.manual_seed(seed)` (G draws none)."""
    torch.manual_seed(seed)
    y = torch.randn(n, C, H, W) / math.sqrt(H * W)
    per_layer = torch.einsum("lpd,np->nld", G.A, y.flatten(1))  # A_lᵀ y
    return per_layer.square().sum(-1).mean(1).sqrt()  # loss.py:84: sum over w, mean over the layers


def term(**params):
    from ganzoo_plugins.losses.penalty_terms import PathLengthPenalty

    return PathLengthPenalty(**params)


def test_the_penalty_is_the_closed_form_on_a_linear_synthesis():
    G, z = LinearSynthesis(), torch.randn(8, D_W)
    pl = term(every=1)
    torch.manual_seed(5)
    value = pl.g_loss(inputs(G, z, step=1))
    lengths = closed_form_lengths(G, 4, seed=5)  # batch_shrink 2: the first 8 // 2 latents
    a = torch.zeros(()).lerp(lengths.mean(), 0.01)  # the running mean after this batch (loss.py:85)
    assert value.item() == pytest.approx((lengths - a).square().mean().item(), rel=1e-5)
    assert pl.pl_mean.item() == pytest.approx(a.item(), rel=1e-6)


def test_the_gradient_reaches_g_through_the_lengths_and_this_batchs_share_of_the_mean():
    G, z = LinearSynthesis(), torch.randn(8, D_W)
    pl = term(every=1, decay=0.5)  # a large decay makes the mean's share of the gradient plain to see
    torch.manual_seed(5)
    (grad,) = torch.autograd.grad(pl.g_loss(inputs(G, z, step=1)), G.A)
    lengths = closed_form_lengths(G, 4, seed=5)
    expected = (lengths - torch.zeros(()).lerp(lengths.mean(), 0.5)).square().mean()  # not detached (loss.py:87)
    (want,) = torch.autograd.grad(expected, G.A)
    torch.testing.assert_close(grad, want, rtol=1e-4, atol=1e-6)


def test_pl_mean_is_a_running_mean_with_decay():
    G = LinearSynthesis()
    pl, a = term(every=1, decay=0.01, batch_shrink=1), torch.zeros(())
    for seed in (3, 4, 5):
        z = torch.randn(6, D_W)
        torch.manual_seed(seed)
        pl.g_loss(inputs(G, z, step=1))
        a = a.lerp(closed_form_lengths(G, 6, seed).mean(), 0.01)
        assert pl.pl_mean.item() == pytest.approx(a.item(), rel=1e-5)
    assert pl.state()["pl_mean"].item() == pytest.approx(a.item(), rel=1e-5)


def test_lazy_every_4th_step_times_4():
    G, z = LinearSynthesis(), torch.randn(8, D_W)
    lazy, eager = term(), term(every=1)  # every=4 is the default (training_loop.py:106)
    for step in (1, 2, 3):
        value = lazy.g_loss(inputs(G, z, step))
        assert value.item() == 0.0 and not value.requires_grad and lazy.pl_mean.item() == 0.0
    torch.manual_seed(9)
    value = lazy.g_loss(inputs(G, z, step=4))
    torch.manual_seed(9)
    assert value.item() == pytest.approx(4 * eager.g_loss(inputs(G, z, step=4)).item(), rel=1e-6)
    assert lazy.pl_mean.item() > 0


def test_defaults_are_the_references():
    pl = term()
    assert (pl.every, pl.decay, pl.batch_shrink) == (4, 0.01, 2) and pl.lazy == ("g", 4)
    assert pl.reads_generator == ("forward_with_w",) and pl.modalities == ("image",)
    for bad in ({"every": 0}, {"batch_shrink": 1.5}, {"decay": 0}, {"every": True}):
        with pytest.raises(UsageError):
            term(**bad)


def test_the_contract_check_passes():
    assert "acts on g_loss" in check_loss("pl").checks


# -- state --------------------------------------------------------------------------------------------------------

def test_state_round_trips_and_a_checkpoint_without_it_starts_fresh():
    loss = build_loss("bce+2*pl")
    (_, pl) = loss.terms[1]
    pl.pl_mean = torch.tensor(0.37)
    assert set(loss.state()) == {"pl.pl_mean"}
    fresh = build_loss("bce+2*pl")
    fresh.load_state({k: v.clone() for k, v in loss.state().items()})
    assert torch.equal(fresh.terms[1][1].pl_mean, torch.tensor(0.37))
    older = build_loss("bce+2*pl")
    older.load_state({})  # a checkpoint written before terms kept state
    assert older.terms[1][1].pl_mean.item() == 0.0
    older.load_state({"r1.whatever": torch.ones(())})  # a part for a term not in this spec: ignored
    with pytest.raises(CheckpointError):
        older.load_state({"pl.pl_mean": torch.ones(2)})


class _Lazy(LossTerm):
    def __init__(self, side: str, every: int):
        self.lazy = (side, every)  # type: ignore[assignment]


def test_lazy_sides_correct_adam_and_must_agree():
    from ganzoo.config.lossspec import Term

    loss = build_loss("bce+0.01*r1+2*pl", {"r1": {"every": 16}})
    assert loss.adam_ratio("g") == pytest.approx(4 / 5) and loss.adam_ratio("d") == pytest.approx(16 / 17)
    assert build_loss("bce+2*pl", {"pl": {"every": 1}}).adam_ratio("g") == 1.0
    r1 = loss.terms[1]
    with pytest.raises(UsageError, match="every 16 and every 8"):
        CompositeLoss([r1, (Term(1.0, r1[0].spec), _Lazy("d", 8))])


# -- runs -----------------------------------------------------------------------------------------------------------

def _config(out: Path, steps: int, **loss_params) -> dict:
    return {"gen": {"name": "stylegan2", "w_dim": 8, "channel_base": 64, "channel_max": 8},
            "disc": {"name": "stylegan2", "channel_base": 64, "channel_max": 8},
            "loss": {"name": "bce+0.01*r1+2*pl", "r1": {"every": 2}, "pl": {"every": 2}, **loss_params},
            "dataset": {"name": "mnist-10k", "split": "train", "image_size": 32},
            "train": {"steps": steps, "batch_size": 4, "lr": 2.5e-3, "betas": [0.0, 0.99], "latent_dim": 8,
                      "device": "cpu", "amp": False, "compile": False, "log_every": 1, "sample_every": steps,
                      "checkpoint_every": steps, "eval_every": 0, "seed": 3},
            "out": str(out)}


def test_a_run_with_pl_resumes_bit_for_bit(tmp_path):
    """Stopped after step 2 (which regularized) and resumed: step 4 regularizes with the restored pl_mean and
    Adam's corrected lr/betas, and the run ends where a straight one does, bit for bit."""
    from ganzoo.training.trainer import Trainer
    from ganzoo.training.results import TrainingInterrupted

    def trainer(out: str, resume: bool = False, stop_after: int | None = None) -> Trainer:
        def before(step: int) -> None:
            if step == stop_after:
                t._request_stop(signal.SIGINT)

        t = Trainer(_config(tmp_path / out, 4), progress="quiet", handle_signals=False, resume=resume,
                    before_step=before)
        return t

    straight = trainer("straight")
    straight.fit()
    opt_g, opt_d = (straight.parts.algorithm.optimizers[k] for k in ("opt_g", "opt_d"))
    assert opt_g.param_groups[0]["lr"] == pytest.approx(2.5e-3 * 2 / 3)  # c = 2/3 for every=2
    assert opt_g.param_groups[0]["betas"][1] == pytest.approx(0.99 ** (2 / 3))
    assert opt_d.param_groups[0]["lr"] == pytest.approx(2.5e-3 * 2 / 3)
    with pytest.raises(TrainingInterrupted):
        trainer("resumed", stop_after=2).fit()
    middle = load(tmp_path / "resumed" / "checkpoints" / "latest.safetensors")
    assert middle.step == 2 and middle.tensors["loss.pl.pl_mean"].item() > 0
    resumed = trainer("resumed", resume=True)
    resumed.fit()
    assert resumed.parts.algorithm.optimizers["opt_g"].param_groups[0]["lr"] == opt_g.param_groups[0]["lr"]
    a = load(tmp_path / "straight" / "checkpoints" / "latest.safetensors").tensors
    b = load(tmp_path / "resumed" / "checkpoints" / "latest.safetensors").tensors
    assert "loss.pl.pl_mean" in a and a["loss.pl.pl_mean"].item() != middle.tensors["loss.pl.pl_mean"].item()
    differ = sorted(k for k in a if k not in b or not torch.equal(a[k], b[k]))
    assert not differ, differ


def test_pl_with_a_generator_without_w_is_refused_in_one_line(tmp_path):
    from ganzoo.training.trainer import Trainer

    cfg = _config(tmp_path / "r", 1)
    cfg["gen"] = {"name": "dcgan", "ngf": 8}
    with pytest.raises(UsageError) as err:
        Trainer(cfg, progress="quiet", handle_signals=False).fit()
    assert "forward_with_w" in str(err.value) and "'dcgan'" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_hyper_without_a_loss_is_the_configs():
    from ganzoo.config.runconfig import finalize

    cfg = finalize(_config(Path("unused"), 1))
    loss = build_loss("bce+0.01*r1+2*pl", {"r1": {"every": 16}})
    assert hyper(cfg, "g") == (2.5e-3, (0.0, 0.99))
    lr, betas = hyper(cfg, "d", loss)
    assert lr == pytest.approx(2.5e-3 * 16 / 17) and betas[1] == pytest.approx(0.99 ** (16 / 17))
