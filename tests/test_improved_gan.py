"""The "improved GAN" techniques against closed forms: orthogonal regularization, feature matching,
one-sided label smoothing, lazy R1, spectrally normalized and minibatch-discriminating discriminators.

Every expected number is worked out by hand (or follows from a paper's
definition) in the test, never read back from the code under test.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.components.build import build_discriminator, build_loss
from ganzoo.base.errors import ComponentError, UsageError
from ganzoo.components.interfaces import Discriminator, LossInputs
from ganzoo.components.nn import MinibatchDiscrimination, orthogonal_weights
from ganzoo.testing import MNIST, POINTS, check_discriminator, check_loss

MNIST10 = dataclasses.replace(MNIST, num_classes=10)


def term(name: str, **params):
    return ganzoo.get_registry().get("loss", name).load_factory()(**params)


def inputs(*, real=None, fake=None, d_real=None, d_fake=None, disc=None, labels=None, step=0, generator=None):
    real = torch.zeros(2, 2) if real is None else real
    fake = torch.zeros(2, 2) if fake is None else fake
    d_fake = torch.zeros(len(fake)) if d_fake is None else d_fake
    return LossInputs(real=real, fake=fake, d_fake=d_fake, d_real=d_real, labels=labels,
                      discriminator=disc if disc is not None else nn.Identity(), step=step, generator=generator)


# -- ortho: BigGAN's orthogonal regularization -----------------------------------------------------------

class ToyG(nn.Module):
    """Weights of every kind ortho has to tell apart: a matrix, a conv kernel, a bias, a gain, an embedding."""

    def __init__(self, linear: torch.Tensor, conv: torch.Tensor):
        super().__init__()
        self.linear = nn.Linear(linear.shape[1], linear.shape[0])        # weight counts, bias (1-D) does not
        self.conv = nn.Conv2d(conv.shape[1], conv.shape[0], conv.shape[2:], bias=False)
        self.bn = nn.BatchNorm2d(4)                                        # gains and shifts: 1-D, skipped
        self.shared = nn.Embedding(3, 5)                                   # a class embedding: skipped
        with torch.no_grad():
            self.linear.weight.copy_(linear)
            self.conv.weight.copy_(conv)
            self.shared.weight.copy_(torch.ones(3, 5))                    # far from orthogonal: must not count


def test_ortho_of_orthogonal_rows_is_zero_whatever_their_norms():
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(0)))
    rows = q[:3] * torch.tensor([[3.0], [0.5], [2.0]])                     # orthogonal rows, different norms
    conv = torch.tensor([[1.0, 0.0], [0.0, 2.0]]).view(2, 1, 1, 2)        # rows (1, 0) and (0, 2)
    g = ToyG(rows, conv)
    assert term("ortho").g_loss(inputs(generator=g)).item() == pytest.approx(0.0, abs=1e-5)


def test_ortho_equals_the_hand_value_and_its_gradient():
    # linear rows (1,2,0), (0,1,1), (1,0,1): inner products 2, 1, 1 -> R = 2·(4 + 1 + 1) = 12
    # conv kernel rows (1,1), (1,0): inner product 1 -> R = 2·1 = 2
    w = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
    k = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    g = ToyG(w, k.view(2, 1, 1, 2))
    t = term("ortho")
    assert t.d_loss(inputs(generator=g)) is None  # generator side only
    value = t.g_loss(inputs(generator=g))
    assert value.item() == pytest.approx(14.0)
    value.backward()
    # d/dW Σ_{i≠j} (w_i·w_j)² = 4 (W Wᵀ ⊙ (1 − I)) W; BigGAN-PyTorch's utils.ortho adds half of it
    off = (w @ w.T) * (1 - torch.eye(3))
    assert torch.allclose(g.linear.weight.grad, 4 * off @ w)
    assert g.shared.weight.grad is None and g.linear.bias.grad is None and g.bn.weight.grad is None


def test_hinge_plus_ortho_adds_beta_times_r():
    g = ToyG(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]), torch.eye(2).view(2, 1, 1, 2))
    loss = build_loss("hinge+1e-4*ortho")
    d_fake = torch.tensor([0.5, -1.5])
    total, parts = loss.g_loss(inputs(d_fake=d_fake, generator=g))
    assert parts["ortho"].item() == pytest.approx(12.0)
    assert total.item() == pytest.approx(-d_fake.mean().item() + 1e-4 * 12.0)


def test_ortho_without_a_generator_is_one_line():
    with pytest.raises(ComponentError, match=r"LossInputs\.generator is None") as err:
        build_loss("hinge+1e-4*ortho").g_loss(inputs(generator=None))
    assert "\n" not in str(err.value)


def test_ortho_reads_the_weights_biggan_regularizes():
    # the built-in BigGAN G names its own regularized weights (every matrix but the shared class embedding)
    from ganzoo_plugins.biggan.models import BigGANGenerator

    data = dataclasses.replace(MNIST, shape=(3, 32, 32), num_classes=10)
    g = BigGANGenerator(data, latent_dim=16, ngf=4)
    assert {id(p) for p in orthogonal_weights(g)} == {id(p) for p in g.orthogonal_weights()}


# -- feature matching ------------------------------------------------------------------------------------

class LinearFeaturesD(Discriminator):
    """features(x) = A x, score = sum of the features."""

    def __init__(self, a: torch.Tensor):
        super().__init__(POINTS)
        self.a = nn.Parameter(a)

    def features(self, x, labels=None):
        return x @ self.a.T

    def forward(self, x, labels=None):
        return self.features(x).sum(1)


A = torch.tensor([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]])


def test_feature_matching_is_zero_for_identical_batches():
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    d = LinearFeaturesD(A)
    t = term("feature-matching")
    assert t.d_loss(inputs(real=x, fake=x.clone(), disc=d)) is None  # generator side only
    assert t.g_loss(inputs(real=x, fake=x.clone().requires_grad_(True), disc=d)).item() == pytest.approx(0.0)
    # the same samples in another order have the same mean features
    assert t.g_loss(inputs(real=x, fake=x.flip(0), disc=d)).item() == pytest.approx(0.0, abs=1e-10)


def test_feature_matching_equals_the_hand_value_for_a_linear_d():
    real = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).requires_grad_(True)  # mean (0.5, 0.5, 0)
    fake = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]).requires_grad_(True)  # mean (0, 0, 1)
    # A (0.5, 0.5, -1) = (-0.5, 1): ‖·‖² = 0.25 + 1 = 1.25
    value = term("feature-matching").g_loss(inputs(real=real, fake=fake, disc=LinearFeaturesD(A)))
    assert value.item() == pytest.approx(1.25)
    value.backward()
    # d/d fake_i = −(2/N) Aᵀ A (mean real − mean fake) = −Aᵀ(−0.5, 1) = (0.5, −2, 0.5) for N = 2
    assert torch.allclose(fake.grad, torch.tensor([[0.5, -2.0, 0.5]] * 2))
    assert real.grad is None  # the real features are a target, not trained through


class NoFeaturesD(Discriminator):
    def forward(self, x, labels=None):
        return x.sum(1)


class PlainD(nn.Module):
    def forward(self, x):
        return x.sum(1)


@pytest.mark.parametrize("disc", [NoFeaturesD(POINTS), PlainD()], ids=["Discriminator", "nn.Module"])
def test_feature_matching_on_a_d_without_features_is_one_line_naming_it(disc):
    loss = build_loss("bce+feature-matching")
    with pytest.raises(ComponentError, match=f"discriminator {type(disc).__name__} does not expose") as err:
        loss.g_loss(inputs(disc=disc, d_fake=torch.zeros(2)))
    assert "\n" not in str(err.value) and "features(x, labels=None)" in (err.value.hint or "")


class TorchvisionStyleD(Discriminator):
    """Keeps a submodule named `features`, which the Discriminator.features method would hide."""

    def __init__(self):
        super().__init__(POINTS)
        self.features = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
        self.head = nn.Linear(3, 1)

    def forward(self, x, labels=None):
        return self.head(self.features(x)).view(-1)


def test_a_submodule_called_features_still_works():
    d = TorchvisionStyleD()
    x = torch.randn(4, 2)
    assert d(x).shape == (4,)
    assert torch.equal(d.features(x), d._modules["features"](x))


BUILTIN_D = [("dcgan", MNIST, {}), ("dcgan", MNIST, {"norm": "spectral", "minibatch_features": 4}),
             ("vanilla", POINTS, {}), ("vanilla", MNIST, {"minibatch_features": 4}), ("cgan", MNIST10, {}),
             ("cdcgan", MNIST10, {}), ("resnet", dataclasses.replace(MNIST, shape=(3, 32, 32)), {"ndf": 4})]


@pytest.mark.parametrize(("name", "data", "params"), BUILTIN_D, ids=lambda v: v if isinstance(v, str) else "")
def test_builtin_discriminators_have_the_features_their_score_reads(name, data, params):
    torch.manual_seed(0)
    d = build_discriminator(name, data, params=params).eval()  # eval: dropout off, BatchNorm fixed
    x = torch.randn(3, *data.shape).clamp(-1, 1)
    labels = torch.tensor([0, 1, 2]) if data.num_classes else None
    f = d.features(x, labels)
    assert f.dim() == 2 and f.shape[0] == 3
    t = term("feature-matching")
    fake = x.clone().requires_grad_(True)
    assert t.g_loss(inputs(real=x, fake=fake, disc=d, labels=labels)).item() == pytest.approx(0.0, abs=1e-10)
    fake = (x + 0.3).requires_grad_(True)
    value = t.g_loss(inputs(real=x, fake=fake, disc=d, labels=labels))
    value.backward()
    assert value.item() > 0 and fake.grad.abs().sum() > 0
    # the score is the last layer applied to exactly these features
    if name in ("vanilla", "cgan") and not params:
        assert torch.allclose(d.net[-1](f).view(-1), d(x, labels) if labels is not None else d(x), atol=1e-6)


# -- one-sided label smoothing ---------------------------------------------------------------------------

def test_smoothed_bce_is_bce_against_target_09_for_reals_only():
    d_real, d_fake = torch.tensor([2.0, -1.0, 0.3]), torch.tensor([0.5, -2.0])
    inp = inputs(d_real=d_real, d_fake=d_fake)
    t = term("bce", smooth=0.9)
    expected = (F.binary_cross_entropy(torch.sigmoid(d_real), torch.full((3,), 0.9))
                + F.binary_cross_entropy(torch.sigmoid(d_fake), torch.zeros(2)))
    assert t.d_loss(inp).item() == pytest.approx(expected.item(), rel=1e-6)
    assert t.g_loss(inp).item() == pytest.approx(term("bce").g_loss(inp).item())  # G's target is still 1
    assert term("bce").d_loss(inp).item() != pytest.approx(t.d_loss(inp).item())


def test_smoothed_d_is_optimal_at_probability_09():
    # ∂/∂x BCE(σ(x), s) = σ(x) − s: zero where D says 0.9, not at ever larger logits
    x = torch.tensor([math.log(9.0), 4.0]).requires_grad_(True)
    term("bce", smooth=0.9).d_loss(inputs(d_real=x, d_fake=torch.zeros(1))).backward()
    assert x.grad[0].item() == pytest.approx(0.0, abs=1e-7)
    assert x.grad[1].item() == pytest.approx((torch.sigmoid(torch.tensor(4.0)).item() - 0.9) / 2)


@pytest.mark.parametrize("smooth", [0.0, 1.5, -0.1])
def test_smooth_out_of_range_is_refused(smooth):
    with pytest.raises(UsageError, match="smooth"):
        term("bce", smooth=smooth)


# -- lazy R1 ---------------------------------------------------------------------------------------------

class LinearD(nn.Module):
    """D(x) = <w, x> with w = (3, 4): ∇ₓD = w everywhere, so R1 = ½‖w‖² = 12.5. Counts its calls."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([3.0, 4.0]))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x @ self.w


@pytest.mark.parametrize("every", [1, 4])
def test_lazy_r1_is_zero_off_step_and_every_times_the_penalty_on_step(every):
    d = LinearD()
    real = torch.randn(5, 2)
    t = term("r1", every=every)
    for step in range(0, 10):
        d.calls = 0
        value = t.d_loss(inputs(real=real, disc=d, step=step))
        if step % every:
            assert value.item() == 0.0 and d.calls == 0  # no double backward at all off-step
        else:
            assert value.item() == pytest.approx(every * 12.5)
    assert term("r1").d_loss(inputs(real=real, disc=d, step=7)).item() == pytest.approx(12.5)


def test_lazy_r1_every_must_be_positive():
    with pytest.raises(UsageError, match="every"):
        term("r1", every=0)


# -- spectral normalization ------------------------------------------------------------------------------

SPECTRAL = [("dcgan", MNIST), ("vanilla", POINTS), ("vanilla", MNIST), ("cgan", MNIST10), ("cdcgan", MNIST10)]


def _normalized(d: nn.Module) -> list[tuple[str, torch.Tensor]]:
    out = []
    for name, m in d.named_modules():
        if hasattr(m, "parametrizations") and "weight" in m.parametrizations:
            w = m.weight
            out.append((name, w.detach().reshape(w.shape[0], -1)))
    return out


@pytest.mark.parametrize(("name", "data"), SPECTRAL, ids=[f"{n}-{d.modality}" for n, d in SPECTRAL])
def test_spectral_norm_gives_every_layer_largest_singular_value_one(name, data):
    torch.manual_seed(0)
    d = build_discriminator(name, data, params={"norm": "spectral"}).train()
    x = torch.randn(4, *data.shape).clamp(-1, 1)
    labels = torch.tensor([0, 1, 2, 3]) if data.num_classes else None
    for _ in range(5):  # a few training forwards: one power iteration each
        d(x, labels) if labels is not None else d(x)
    layers = _normalized(d)
    linear = [m for m in d.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert len(layers) >= len(linear) >= 2
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in d.modules())
    for layer, w in layers:
        sigma = torch.linalg.matrix_norm(w, 2).item()
        assert sigma == pytest.approx(1.0, abs=0.05), f"{name} {layer}: largest singular value {sigma:.3f}"


def test_without_spectral_norm_the_singular_values_are_not_one():
    # the check above means something: DCGAN's N(0, 0.02) weights of a narrow D are far from σ = 1
    d = build_discriminator("dcgan", MNIST, params={"norm": "none", "ndf": 8})
    sigmas = [torch.linalg.matrix_norm(m.weight.detach().flatten(1), 2).item()
              for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert all(abs(s - 1) > 0.2 for s in sigmas)


# -- minibatch discrimination ----------------------------------------------------------------------------

def test_minibatch_layer_closed_form():
    layer = MinibatchDiscrimination(1, 1, 1)
    with torch.no_grad():
        layer.theta.fill_(0.7)  # weight-normalized: W = θ / |θ| · exp(0) = 1, so M_i = f_i
    f = torch.tensor([[0.0], [1.0], [3.0]])
    out = layer(f)
    e = math.exp
    # o_i = Σ_{j≠i} exp(−|f_i − f_j|) + bias (−1)
    expected = [e(-1) + e(-3) - 1, e(-1) + e(-2) - 1, e(-3) + e(-2) - 1]
    assert out.shape == (3, 2)
    assert torch.equal(out[:, 0], f[:, 0])  # the features pass through
    assert out[:, 1].tolist() == pytest.approx(expected)
    # n identical samples: n − 1 neighbours at distance 0, never the sample itself
    assert layer(torch.ones(4, 1))[:, 1].tolist() == pytest.approx([3 - 1.0] * 4)
    assert layer(torch.ones(1, 1))[:, 1].tolist() == pytest.approx([-1.0])


def test_minibatch_layer_compares_rows_by_l1_distance():
    layer = MinibatchDiscrimination(2, 1, 2)
    with torch.no_grad():
        layer.theta.copy_(torch.eye(2).view(2, 1, 2))  # W = I: the row M_i is f_i itself
    out = layer(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    # ‖(1, 1) − (0, 0)‖₁ = 2 (an L2 distance would be √2)
    assert out[:, 2].tolist() == pytest.approx([math.exp(-2) - 1] * 2)


def test_minibatch_layer_shape():
    layer = MinibatchDiscrimination(12, 7, 3)
    assert layer(torch.randn(5, 3, 2, 2)).shape == (5, 12 + 7)


@pytest.mark.parametrize(("name", "data"), [("dcgan", MNIST), ("vanilla", POINTS), ("cdcgan", MNIST10)])
def test_minibatch_features_make_the_score_depend_on_the_other_samples(name, data):
    x = torch.randn(4, *data.shape).clamp(-1, 1)
    y = x.clone()
    y[1:] = -y[1:]  # the same first sample, different company
    labels = torch.tensor([3, 1, 4, 1]) if data.num_classes else None
    norm = {"dropout": 0.0} if name == "vanilla" else {"norm": "none"}
    torch.manual_seed(0)
    plain = build_discriminator(name, data, params=norm).eval()
    assert plain(x, labels)[0].item() == pytest.approx(plain(y, labels)[0].item(), abs=1e-6)  # per-sample without it
    torch.manual_seed(0)
    d = build_discriminator(name, data, params={**norm, "minibatch_features": 8}).eval()
    assert d(x, labels).shape == (4,) and d(x[:1], None if labels is None else labels[:1]).shape == (1,)
    assert abs(d(x, labels)[0].item() - d(y, labels)[0].item()) > 1e-6
    mb = d.minibatch
    assert isinstance(mb, MinibatchDiscrimination) and mb.kernels == 8


# -- the new options pass the conformance suite --------------------------------------------------------

@pytest.mark.parametrize(("name", "params"), [("dcgan", {"norm": "spectral"}), ("dcgan", {"minibatch_features": 4}),
                                              ("vanilla", {"norm": "spectral", "minibatch_features": 4}),
                                              ("cgan", {"norm": "spectral"}), ("cdcgan", {"norm": "spectral"}),
                                              ("cdcgan", {"minibatch_features": 4})])
def test_discriminator_options_conform(name, params):
    assert check_discriminator(name, params=params).supported


def test_bce_with_smoothing_and_lazy_r1_conform():
    check_loss("bce", params={"smooth": 0.9})
    check_loss("r1", params={"every": 4})


# -- drift: ProGAN's ε_drift on the critic's real scores ---------------------------------------------------
def test_drift_is_the_mean_squared_real_score_and_adds_epsilon_times_it():
    d_real, d_fake = torch.tensor([3.0, -1.0]), torch.tensor([0.5, 1.5])
    t = term("drift")
    assert t.g_loss(inputs(d_real=d_real, d_fake=d_fake)) is None
    assert t.d_loss(inputs(d_real=d_real, d_fake=d_fake)).item() == pytest.approx((9.0 + 1.0) / 2)  # A.1: E[D(x)²]
    loss = build_loss("hinge+0.001*drift")
    total, named = loss.d_loss(inputs(d_real=d_real, d_fake=d_fake))
    hinge = torch.relu(1 - d_real).mean() + torch.relu(1 + d_fake).mean()
    assert named["drift"].item() == pytest.approx(5.0)
    assert total.item() == pytest.approx(hinge.item() + 0.001 * 5.0)


def test_drift_without_real_scores_says_what_it_reads():
    with pytest.raises(ValueError, match=r"LossInputs\.d_real is None"):
        term("drift").d_loss(inputs(d_real=None))
