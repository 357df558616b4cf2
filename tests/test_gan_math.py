"""Gradient penalties against closed forms, with a critic whose input gradient differs from point to point.

A linear critic has the same input gradient everywhere, so a penalty taken at
the wrong points (the real batch instead of interpolates, the fakes instead of
the reals) gives the right number with it. The quadratic critic here,
D(x) = ½‖A x‖², has ∇D(x) = AᵀA x: the penalty's value identifies the points it
was taken at, and the critic also records them, so each test can say which
points were used and check the value exactly.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.components.interfaces import LossInputs

SHAPES = {"points": (512, 3), "images": (512, 1, 2, 2)}


class QuadraticD(nn.Module):
    """D(x) = ½‖A·flatten(x)‖² per sample. Records every batch it scores with an input that requires grad."""

    def __init__(self, features: int, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.A = nn.Parameter(torch.randn(features, features, generator=g) / math.sqrt(features))
        self.penalty_points: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad:  # a penalty differentiates D with respect to its input: remember where
            self.penalty_points.append(x.detach().flatten(1).clone())
        return 0.5 * (x.flatten(1) @ self.A.T).pow(2).sum(1)

    def input_gradient(self, x: torch.Tensor) -> torch.Tensor:
        """∇ₓD = AᵀA x, differentiable in A (the closed form the tests compare with)."""
        return x.flatten(1) @ (self.A.T @ self.A)  # AᵀA is symmetric


def term(name: str, **params):
    return ganzoo.get_registry().get("loss", name).load_factory()(**params)


def batches(shape):
    g = torch.Generator().manual_seed(1)
    real = torch.randn(*shape, generator=g)
    fake = 0.5 * torch.randn(*shape, generator=g) + 2.0  # far from the reals: every point tells where it is
    return real, fake


def inputs_for(disc: QuadraticD, real: torch.Tensor, fake: torch.Tensor) -> LossInputs:
    return LossInputs(real=real, fake=fake, d_fake=disc(fake), d_real=disc(real), labels=None, discriminator=disc)


def segment_positions(points, real, fake):
    """ε_i with p_i = ε_i·r_i + (1 − ε_i)·f_i, and how far each p_i is from that segment's line."""
    r, f = real.flatten(1), fake.flatten(1)
    eps = ((points - f) * (r - f)).sum(1) / (r - f).pow(2).sum(1)
    off = (points - (eps[:, None] * r + (1 - eps[:, None]) * f)).norm(dim=1)
    return eps, off


# -- WGAN-GP -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_wgan_gp_takes_the_penalty_at_per_sample_interpolates(shape):
    real, fake = batches(shape)
    disc = QuadraticD(math.prod(shape[1:]))
    t = term("wgan-gp", gp_weight=10.0)
    inputs = inputs_for(disc, real, fake)
    disc.penalty_points.clear()
    gp = t.gradient_penalty(inputs)
    (points,) = disc.penalty_points  # D's input gradient was taken once, at one batch
    assert points.shape == real.flatten(1).shape
    eps, off = segment_positions(points, real, fake)
    assert off.max() < 1e-4, "the penalty points are not on the real-fake segments"
    assert eps.min() >= 0 and eps.max() <= 1
    # one ε per sample, uniform on [0, 1]: not all 1 (the real batch), not shared by the batch
    assert eps.std() > 0.2, f"ε is (nearly) the same for every sample: {eps[:4].tolist()}"
    assert abs(eps.mean().item() - 0.5) < 0.06 and abs(eps.var().item() - 1 / 12) < 0.02
    assert len(set(eps.round(decimals=5).tolist())) > 0.9 * len(eps)
    # the value: mean (‖AᵀA x̂_i‖ − 1)² at those interpolates, and its gradient in A (create_graph)
    x_hat = eps[:, None] * real.flatten(1) + (1 - eps[:, None]) * fake.flatten(1)
    expected = (disc.input_gradient(x_hat).norm(dim=1) - 1).pow(2).mean()
    torch.testing.assert_close(gp, expected, rtol=1e-5, atol=1e-6)
    (got,) = torch.autograd.grad(gp, disc.A)
    (want,) = torch.autograd.grad(expected, disc.A)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    # and the critic's loss is the Wasserstein estimate plus the weighted penalty
    disc.penalty_points.clear()
    d_loss = t.d_loss(inputs)
    eps2, _ = segment_positions(disc.penalty_points[0], real, fake)
    x_hat2 = eps2[:, None] * real.flatten(1) + (1 - eps2[:, None]) * fake.flatten(1)
    gp2 = (disc.input_gradient(x_hat2).norm(dim=1) - 1).pow(2).mean()
    torch.testing.assert_close(d_loss, inputs.d_fake.mean() - inputs.d_real.mean() + 10.0 * gp2,
                               rtol=1e-5, atol=1e-5)


def test_wgan_gp_value_is_the_expectation_over_uniform_interpolates():
    """By value alone: E_ε~U[0,1] (‖∇D(ε r + (1 − ε) f)‖ − 1)², integrated numerically, within sampling error."""
    real, fake = batches(SHAPES["points"])
    disc = QuadraticD(3)
    eps = torch.linspace(0, 1, 401)[:, None, None]
    x_hat = eps * real + (1 - eps) * fake  # (401, N, 3): each sample's whole segment
    with torch.no_grad():
        f = (disc.input_gradient(x_hat.reshape(-1, 3)).norm(dim=1) - 1).pow(2).reshape(401, -1)
    expected = torch.trapezoid(f, dx=1 / 400, dim=0).mean().item()
    stderr = math.sqrt(f.var(dim=0).mean().item() / real.shape[0])  # the samples are fixed: only ε is random
    at_real = f[-1].mean().item()
    assert abs(at_real - expected) > 8 * stderr  # the reals are told apart from interpolates by value
    gp = term("wgan-gp").gradient_penalty(inputs_for(disc, real, fake)).item()
    assert abs(gp - expected) < 4 * stderr, (gp, expected, stderr)


# -- R1 ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_r1_is_taken_on_the_reals(shape):
    real, fake = batches(shape)
    disc = QuadraticD(math.prod(shape[1:]))
    inputs = inputs_for(disc, real, fake)
    disc.penalty_points.clear()
    value = term("r1").d_loss(inputs)
    (points,) = disc.penalty_points
    torch.testing.assert_close(points, real.flatten(1))
    expected = 0.5 * disc.input_gradient(real).pow(2).sum(1).mean()
    on_fakes = 0.5 * disc.input_gradient(fake).pow(2).sum(1).mean()
    assert abs(expected - on_fakes) > 0.1 * expected  # the closed forms do tell reals from fakes apart
    torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-6)
    (got,) = torch.autograd.grad(value, disc.A)
    (want,) = torch.autograd.grad(expected, disc.A)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
