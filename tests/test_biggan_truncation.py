"""BigGAN's truncation trick (Brock et al. 2019, section 3.1) and how `ganzoo sample --truncation` reaches it.

The paper: "truncating a z vector by resampling the values with magnitude
above a chosen threshold". Each value then follows the standard normal
truncated to [-t, t], whose variance is 1 - 2 t φ(t) / (2 Φ(t) - 1) and whose
CDF is (Φ(x) - Φ(-t)) / (2 Φ(t) - 1). (The authors' TF-Hub port,
BigGAN-PyTorch TFHub/biggan_v1.py:16-19 ``truncated_z_sample``, scales a
normal truncated at 2 instead; the paper's definition is the one followed.)
"""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from ganzoo.cli.commands.sample_cmd import sample_to_file
from ganzoo.base.errors import ParamError, UsageError
from ganzoo_plugins.biggan.models import BigGANGenerator, truncated_normal


def _phi(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def truncated_std(t: float) -> float:
    mass = math.erf(t / math.sqrt(2))  # 2 Φ(t) - 1
    return math.sqrt(1 - 2 * t * _phi(t) / mass)


N = 200_000


@pytest.mark.parametrize("t", [0.04, 0.5, 1.0, 2.0])
def test_values_beyond_the_threshold_are_redrawn_into_a_truncated_normal(t):
    z = truncated_normal((N,), t, torch.Generator().manual_seed(0)).double()
    assert z.abs().max() <= t  # nothing beyond the threshold survives
    # the std of a truncated normal, closed form; the std of a sample std is about σ/sqrt(2N) (< 0.2% here),
    # so 1% is five of those and more (a rescaled or clipped normal misses it: clipping at 1 gives 0.80, not 0.54)
    assert z.std().item() == pytest.approx(truncated_std(t), rel=0.01)
    assert abs(z.mean().item()) < 5 * truncated_std(t) / math.sqrt(N)
    # the whole distribution: Kolmogorov-Smirnov distance to the truncated normal's CDF (1% critical 1.63/sqrt(N))
    x = z.sort().values
    lo, mass = _cdf(torch.tensor(-t, dtype=torch.float64)), math.erf(t / math.sqrt(2))
    model = (_cdf(x) - lo) / mass
    empirical = torch.arange(1, N + 1, dtype=torch.float64) / N
    assert (model - empirical).abs().max().item() < 1.63 / math.sqrt(N)


def test_redrawing_is_seeded_and_values_inside_are_kept():
    a = truncated_normal((1000,), 1.0, torch.Generator().manual_seed(3))
    b = truncated_normal((1000,), 1.0, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    plain = torch.randn(1000, generator=torch.Generator().manual_seed(3))
    inside = plain.abs() <= 1.0
    assert torch.equal(a[inside], plain[inside])  # redrawn, not rescaled: values within the threshold are untouched
    with pytest.raises(ParamError, match="must be > 0"):
        truncated_normal((4,), 0.0)


def test_the_generator_draws_truncated_codes_only_when_asked():
    from ganzoo.base.specs import DataInfo

    g = BigGANGenerator(DataInfo((1, 32, 32), num_classes=10), latent_dim=16, ngf=2, shared_dim=4, attention=0)
    gen = torch.Generator().manual_seed(0)
    z = g.sample_latent(4000, generator=gen, truncation_threshold=0.5)
    assert z.shape == (4000, 16) and z.abs().max() <= 0.5  # every chunk of the hierarchical latent
    free = g.sample_latent(4000, generator=torch.Generator().manual_seed(0))
    assert free.abs().max() > 3  # training's codes: the plain normal


def test_ganzoo_sample_truncation_reaches_biggan_as_its_threshold(monkeypatch):
    seen: list[torch.Tensor] = []
    real = BigGANGenerator.forward

    def recording(self, z, labels=None):
        seen.append(z.detach().clone())
        return real(self, z, labels)

    monkeypatch.setattr(BigGANGenerator, "forward", recording)
    drawn = sample_to_file("biggan-mnist", out="t.safetensors", num=20, truncation=0.5)
    z = seen[-1]
    assert len(z) == 20 and z.abs().max() <= 0.5
    assert load_file(str(drawn.out))["images"].shape[0] == 20
    sample_to_file("biggan-mnist", out="u.safetensors", num=20)
    assert seen[-1].abs().max() > 1.5  # without the flag: untruncated


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_a_threshold_that_is_not_positive_is_one_line(value):
    with pytest.raises(UsageError, match="generator 'biggan' takes a threshold, 0 < threshold"):
        sample_to_file("biggan-mnist", out="t.png", truncation=value)


def test_a_threshold_above_one_is_a_threshold_not_a_psi():
    # psi lives in [0, 1]; a threshold of 2 (the paper's mildest) must pass
    sample_to_file("biggan-mnist", out="t.png", num=10, truncation=2.0)
