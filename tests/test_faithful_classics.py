"""The classic families against their papers and reference code, checked in the models and steps ganzoo builds.

Each test's expected values come from the paper or its authors' code (docs/faithfulness.md cites them):

- GAN: Goodfellow et al. 2014, Algorithm 1 (k D steps, then one G step; k = 1 in the experiments).
- DCGAN: Radford et al. 2016, section 3 and 4; Newmu/dcgan_code faces/train_uncond_dcgan.py:36-49 (k 1,
  b1 0.5, batch 128, lr 2e-4, nz 100), :74-77 (weights N(0, 0.02), BatchNorm gains N(1, 0.02), shifts 0),
  :108-124 (no BatchNorm on G's output or D's input, LeakyReLU 0.2, Tanh out, strided (de)convolutions).
- cGAN: Mirza & Osindero 2014, section 3.2 (y joined to z in G and to x in D); projection discriminator:
  Miyato & Koyama 2018, eq. 3, pfnet-research/sngan_projection dis_models/snresnet.py:33-37.
- LSGAN: Mao et al. 2017, eq. 2 with a = 0, b = 1, c = 1 and its 1/2 factors; the optimal D of eq. 3-4.
- WGAN-GP: Gulrajani et al. 2017, Algorithm 1 (λ 10, n_critic 5, Adam α 1e-4, β1 0, β2 0.9), section 4
  ("no critic batch normalization").
- R1: Mescheder et al. 2018, eq. 9: (γ/2)·E‖∇D(x)‖² on real data.
- Improved GAN: Salimans et al. 2016, sections 3.2 and 3.4; openai/improved-gan
  mnist_svhn_cifar10/nn.py:132-170 (MinibatchLayer: θ ~ N(0, 0.05), log scale 0, b −1, dim_per_kernel 5),
  train_cifar_minibatch_discrimination.py:66 (num_kernels 100), imagenet/build_model.py:88-114 (positive
  targets smoothed only, the generator's target 1).
- ganzoo's own L = L_GAN + λ1·L1 + λ2·L2 (recipe dcgan-l1l2-mnist).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import fit, tiny
from ganzoo.training.algorithm import hyper
from ganzoo.components.build import build_discriminator, build_generator, build_loss
from ganzoo.config.runconfig import finalize
from ganzoo.components.interfaces import LossInputs
from ganzoo.components.nn import MinibatchDiscrimination
from ganzoo.plugin.manager import get_registry
from ganzoo.base.specs import DataInfo

#: mnist-10k as the MNIST recipes see it (28 px, 10 classes)
MNIST = DataInfo((1, 28, 28), num_classes=10, size=8000, modality="image")
RGB64 = DataInfo((3, 64, 64), size=1000, modality="image")


def recipe(name: str) -> dict:
    return get_registry().recipe(name).config


def params(table: dict) -> dict:
    return {k: v for k, v in table.items() if k != "name"}


def leaves(model: nn.Module) -> list[nn.Module]:
    """The model's layers in the order they run (these models are Sequentials and a head, built in order)."""
    return [m for m in model.modules() if not list(m.children())]


# -- GAN (Goodfellow et al. 2014): k D steps on fresh batches, then one G step ---------------------------

def record_updates(monkeypatch) -> list[tuple[str, torch.Tensor, torch.Tensor | None]]:
    import ganzoo_plugins.gan.algorithm as gan

    calls: list[tuple[str, torch.Tensor, torch.Tensor | None]] = []
    real_update = gan.update

    def spy(opt, loss, who, inputs, *rest, **kw):
        labels = inputs.labels.clone() if inputs.labels is not None else None
        calls.append((who, inputs.real.detach().clone(), labels))
        return real_update(opt, loss, who, inputs, *rest, **kw)

    monkeypatch.setattr(gan, "update", spy)
    return calls


@pytest.mark.parametrize("loss, k", [("bce", 1), ("wgan-gp", 5)])
def test_each_step_is_k_d_updates_on_fresh_batches_then_one_g_update(toy, monkeypatch, loss, k):
    calls = record_updates(monkeypatch)
    mlp = {"name": "vanilla", "hidden": [8]}
    fit({**tiny(steps=2), "gen": mlp, "disc": {**mlp, "dropout": 0.0}, "loss": {"name": loss}})
    # Algorithm 1: "for k steps: sample a minibatch of m noise samples ... m examples ... update D", then G
    assert [who for who, _, _ in calls] == (["discriminator"] * k + ["generator"]) * 2
    for step in (calls[:k + 1], calls[k + 1:]):
        reals = [real for _, real, _ in step[:k]]
        assert all(not torch.equal(a, b) for i, a in enumerate(reals) for b in reals[i + 1:])  # fresh batches
        assert torch.equal(step[k][1], reals[-1])  # G's step reads the last batch (its size, its labels)


def test_vanilla_recipe_builds_the_tutorial_mlps():
    cfg = recipe("vanilla-mnist")
    G = build_generator("vanilla", MNIST, params=params(cfg["gen"]))
    D = build_discriminator("vanilla", MNIST, params=params(cfg["disc"]))
    g, d = leaves(G), leaves(D)
    assert [m.out_features for m in g if isinstance(m, nn.Linear)] == [256, 512, 1024, 784]  # the recipe's doc
    assert {type(m) for m in g} == {nn.Linear, nn.ReLU, nn.Tanh} and isinstance(g[-1], nn.Tanh)
    assert [m.out_features for m in d if isinstance(m, nn.Linear)] == [1024, 512, 256, 1]
    assert {m.negative_slope for m in d if isinstance(m, nn.LeakyReLU)} == {0.2}
    assert [m.p for m in d if isinstance(m, nn.Dropout)] == [0.3] * 3  # "dropout was applied in training D"
    assert not isinstance(d[-1], nn.Sigmoid)  # logits: the sigmoid lives in bce's softplus form
    assert cfg["loss"]["name"] == "bce" and build_loss("bce").n_critic == 1  # non-saturating G, k = 1


# -- DCGAN (Radford et al. 2016) ---------------------------------------------------------------------------

DCGANS = [("dcgan-mnist", MNIST), ("dcgan-faces64", RGB64), ("cdcgan-mnist", MNIST)]


@pytest.mark.parametrize("name, data", DCGANS, ids=[n for n, _ in DCGANS])
def test_dcgan_batchnorm_and_activations_are_placed_as_in_the_paper(name, data):
    cfg = recipe(name)
    G = build_generator(cfg["gen"]["name"], data, params=params(cfg["gen"]))
    D = build_discriminator(cfg["disc"]["name"], data, params=params(cfg["disc"]))
    for model in (G, D):  # "replace any pooling layers with strided convolutions"; no hidden dense layers
        kinds = {type(m) for m in model.modules()}
        assert not kinds & {nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Linear}, kinds
    g = leaves(G.net)
    convs = [i for i, m in enumerate(g) if isinstance(m, nn.ConvTranspose2d)]
    for i in convs[:-1]:  # BatchNorm then ReLU after every hidden layer of G ...
        assert isinstance(g[i + 1], nn.BatchNorm2d) and type(g[i + 2]) is nn.ReLU, g[i:i + 3]
    assert isinstance(g[convs[-1] + 1], nn.Tanh) and g[-1] is g[convs[-1] + 1]  # ... not on its output: Tanh
    assert all(m.stride == (2, 2) for m in (g[i] for i in convs[1:]))
    d = leaves(D.body)
    convs = [i for i, m in enumerate(d) if isinstance(m, nn.Conv2d)]
    assert isinstance(d[1], nn.LeakyReLU)  # no BatchNorm on D's input layer
    for i in convs[1:]:
        assert isinstance(d[i + 1], nn.BatchNorm2d) and isinstance(d[i + 2], nn.LeakyReLU), d[i:i + 3]
    assert all(d[i].stride == (2, 2) for i in convs)
    assert {m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)} == {0.2}
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())  # logits; bce applies the sigmoid


@pytest.mark.parametrize("name, data", DCGANS, ids=[n for n, _ in DCGANS])
def test_dcgan_weights_start_at_normal_0_002(name, data):
    cfg = recipe(name)
    torch.manual_seed(0)
    G = build_generator(cfg["gen"]["name"], data, params=params(cfg["gen"]))
    D = build_discriminator(cfg["disc"]["name"], data, params=params(cfg["disc"]))
    convs = [m for model in (G, D) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert len(convs) >= 6
    for m in convs:
        w = m.weight.detach()
        # the sample std of n normal draws is within a few 1/sqrt(2n) of the truth; n ≥ 500 here
        assert w.std().item() == pytest.approx(0.02, rel=0.15) and abs(w.mean().item()) < 0.004, m
        assert m.bias is None  # the reference's convolutions have no biases (BatchNorm's shift instead)
    norms = [m for model in (G, D) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms
    gains = torch.cat([m.weight.detach() for m in norms])
    assert gains.mean().item() == pytest.approx(1.0, abs=0.005) and gains.std().item() == pytest.approx(0.02, rel=0.3)
    assert all(torch.equal(m.bias.detach(), torch.zeros_like(m.bias)) for m in norms)


def test_dcgan_faces64_trains_with_the_papers_optimizer_batch_and_latent():
    cfg = recipe("dcgan-faces64")
    run = finalize({**cfg, "out": "unused"})
    for side in ("g", "d"):
        assert hyper(run, side) == (2e-4, (0.5, 0.999))  # Adam lr 0.0002, β1 0.5 (b2 left at 0.999)
    assert run.train["batch_size"] == 128 and run.train["latent_dim"] == 100
    assert cfg["gen"]["ngf"] == cfg["disc"]["ndf"] == 64
    # the MNIST recipes keep the optimizer (the settings' defaults) and halve the batch
    mnist = finalize({**recipe("dcgan-mnist"), "out": "unused"})
    assert hyper(mnist, "g") == hyper(mnist, "d") == (2e-4, (0.5, 0.999)) and mnist.train["batch_size"] == 64


# -- conditional GANs: where the labels enter -----------------------------------------------------------------

def test_cgan_joins_the_label_to_z_in_g_and_to_x_in_d():
    cfg = recipe("cgan-mnist")
    torch.manual_seed(0)
    G = build_generator("cgan", MNIST, params=params(cfg["gen"]))
    D = build_discriminator("cgan", MNIST, params=params(cfg["disc"]))
    seen: dict[str, torch.Tensor] = {}
    G.net[0].register_forward_hook(lambda m, i, o: seen.__setitem__("g", i[0]))
    D.net[0].register_forward_hook(lambda m, i, o: seen.__setitem__("d", i[0]))
    z, y = torch.randn(6, 100), torch.arange(6)
    x = G(z, y)
    D(x, y)
    assert G.embed.embedding_dim == D.embed.embedding_dim == 10  # the size of the one-hot y of the paper
    torch.testing.assert_close(seen["g"], torch.cat([z, G.embed(y)], 1))
    torch.testing.assert_close(seen["d"], torch.cat([x.flatten(1), D.embed(y)], 1))


def test_projection_discriminator_is_psi_of_phi_plus_the_class_embedding_times_phi():
    torch.manual_seed(0)
    D = build_discriminator("cdcgan", MNIST, params={"ndf": 8})
    D.eval()
    x, y = torch.randn(5, *MNIST.shape), torch.tensor([0, 3, 3, 7, 9])
    with torch.no_grad():
        h = D.body(x)
        phi = h.flatten(1)
        psi = D.head(h).view(-1)
        expected = psi + (D.project.embed.weight[y] * phi).sum(1)  # eq. 3: f(x, y) = yᵀVφ(x) + ψ(φ(x))
        torch.testing.assert_close(D(x, y), expected)
        # the label acts on D's features only through the inner product: a class changes the score by (V_y − V_y')·φ
        other = (y + 1) % 10
        torch.testing.assert_close(D(x, y) - D(x, other), ((D.project.embed.weight[y] - D.project.embed.weight[other])
                                                            * phi).sum(1), rtol=1e-5, atol=1e-5)


def test_spectral_projection_discriminator_normalizes_the_class_embedding_too():
    # sngan_projection's D: SNLinear/SNConvolution2D throughout and SNEmbedID for V (snresnet.py:22)
    from torch.nn.utils import parametrize

    D = build_discriminator("cdcgan", MNIST, params={"ndf": 8, "norm": "spectral"})
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    assert D.project.embed in layers
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)


def test_the_fakes_are_drawn_for_the_real_batchs_labels(toy, monkeypatch):
    from ganzoo_plugins.conditional.models import CGANDiscriminator, CGANGenerator

    calls = record_updates(monkeypatch)
    g_labels, d_labels = [], []
    g_forward, d_forward = CGANGenerator.forward, CGANDiscriminator.forward
    monkeypatch.setattr(CGANGenerator, "forward", lambda self, z, labels=None: (
        g_labels.append(labels.clone()), g_forward(self, z, labels))[1])
    monkeypatch.setattr(CGANDiscriminator, "forward", lambda self, x, labels=None: (
        d_labels.append(labels.clone()), d_forward(self, x, labels))[1])
    fit({**tiny(steps=2, batch_size=16), "gen": {"name": "cgan", "hidden": [8]},
         "disc": {"name": "cgan", "hidden": [8]}, "loss": {"name": "bce"}})
    # training batches only: not the build-time probe (2) nor the sample grid (8 per class: 32)
    g_labels, d_labels = [t for t in g_labels if len(t) == 16], [t for t in d_labels if len(t) == 16]
    batches = [labels for who, _, labels in calls if who == "discriminator"]
    assert len(batches) == 2 and not torch.equal(*batches)
    # per step: G for the D step's fakes and for its own step, D on the reals, the fakes, the G step's fakes
    assert len(g_labels) == 4 and len(d_labels) == 6
    for i, y in enumerate(batches):
        assert all(torch.equal(t, y) for t in g_labels[2 * i:2 * i + 2] + d_labels[3 * i:3 * i + 3])


# -- LSGAN (Mao et al. 2017) -----------------------------------------------------------------------------

def scores(real: list[float], fake: list[float], **kw) -> LossInputs:
    d_real = torch.tensor(real, requires_grad=True)
    d_fake = torch.tensor(fake, requires_grad=True)
    x = torch.zeros(len(real), 2)
    return LossInputs(x, x, d_fake, d_real, None, nn.Identity(), 1, **kw)


def test_lsgan_optimal_d_is_the_papers_closed_form():
    """Eq. 2 with a = 0, b = 1: D*(x) = (b·p_d(x) + a·p_g(x)) / (p_d(x) + p_g(x)) (the paper's eq. 4).

    Two points A and B; the reals lie 3:1 on A, the fakes 1:3. D is a free score per point, trained by
    gradient descent on ganzoo's lsgan D term: it must reach 3/4 on A and 1/4 on B. The 0.5 factors show in
    the gradient's scale (checked below) and the targets in where it stops.
    """
    loss = build_loss("lsgan")
    real_at, fake_at = torch.tensor([0, 0, 0, 1]), torch.tensor([0, 1, 1, 1])
    t = torch.tensor([0.1, 0.9], requires_grad=True)
    for _ in range(100):
        inputs = LossInputs(torch.zeros(4, 2), torch.zeros(4, 2), t[fake_at], t[real_at], None, nn.Identity(), 1)
        (grad,) = torch.autograd.grad(loss.d_loss(inputs)[0], t)
        with torch.no_grad():
            t -= 1.0 * grad  # the Hessian is ½·2·(p_d + p_g) = 1 per point: step 1 lands on the optimum
    torch.testing.assert_close(t.detach(), torch.tensor([0.75, 0.25]))
    # the 1/2 factors: ∂/∂D(x) of ½·mean (D(x) − b)² is (D(x) − b)/N; G's term ½·mean (D(G(z)) − c)², c = 1
    inputs = scores([0.75], [0.4])
    g_real, g_fake = torch.autograd.grad(loss.d_loss(inputs)[0], [inputs.d_real, inputs.d_fake])
    assert g_real.item() == pytest.approx(0.75 - 1) and g_fake.item() == pytest.approx(0.4 - 0)
    inputs = scores([0.75], [0.4])
    (g,) = torch.autograd.grad(loss.g_loss(inputs)[0], inputs.d_fake)
    assert g.item() == pytest.approx(0.4 - 1)


def test_lsgan_recipe_is_dcgan_mnist_with_only_the_loss_changed():
    """The recipe keeps dcgan-mnist's models and optimizer (Adam 2e-4, β1 0.5), not the authors' code's lr 1e-3
    (xudonmao/LSGAN train_lsun.py:15-16): the two recipes differ in the loss alone."""
    lsgan, dcgan = recipe("lsgan-mnist"), recipe("dcgan-mnist")
    assert lsgan["loss"] == {"name": "lsgan"} and dcgan["loss"] == {"name": "bce"}
    assert {k: v for k, v in lsgan.items() if k not in ("loss", "doc")} == \
        {k: v for k, v in dcgan.items() if k not in ("loss", "doc")}


# -- WGAN-GP (Gulrajani et al. 2017) -----------------------------------------------------------------------

def test_wgangp_recipe_is_algorithm_1_with_a_critic_without_batchnorm():
    cfg = recipe("wgangp-mnist")
    run = finalize({**cfg, "out": "unused"})
    loss = build_loss(cfg["loss"]["name"])
    (term, impl), = loss.terms
    assert term.name == "wgan-gp" and impl.gp_weight == 10.0 and loss.n_critic == 5  # λ = 10, n_critic = 5
    for side in ("g", "d"):
        assert hyper(run, side, loss) == (1e-4, (0.0, 0.9))  # α = 0.0001, β1 = 0, β2 = 0.9
    D = build_discriminator("vanilla", MNIST, params=params(cfg["disc"]))
    kinds = {type(m) for m in D.modules()}
    # section 4: no batch normalization in the critic (the penalty is per sample); nor dropout, which makes
    # the input gradient random
    assert not kinds & {nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout}, kinds


# -- R1 (Mescheder et al. 2018) ----------------------------------------------------------------------------

def test_r1_weight_is_the_papers_gamma():
    """``bce+γ*r1`` adds (γ/2)·E‖∇D(x_real)‖² (eq. 9) to D's loss, whatever the fakes: with D(x) = w·x,
    ∇D = w for every x, so the term is (γ/2)·‖w‖²."""
    w = torch.tensor([0.5, -2.0, 1.0])

    class Linear(nn.Module):
        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            return x.flatten(1) @ w

    D = Linear()
    real, fake = torch.randn(8, 3), torch.randn(8, 3) * 5
    inputs = LossInputs(real, fake, D(fake), D(real), None, D, step=1)
    with_r1, _ = build_loss("bce+10*r1").d_loss(inputs)
    plain, _ = build_loss("bce").d_loss(inputs)
    assert (with_r1 - plain).item() == pytest.approx(10 / 2 * w.pow(2).sum().item(), rel=1e-5)


# -- Improved techniques (Salimans et al. 2016) --------------------------------------------------------------

def test_improved_dcgan_recipe_has_the_papers_minibatch_layer_and_one_sided_smoothing():
    cfg = recipe("improved-dcgan-mnist")
    torch.manual_seed(0)
    D = build_discriminator("dcgan", MNIST, params=params(cfg["disc"]))
    (mb,) = [m for m in D.modules() if isinstance(m, MinibatchDiscrimination)]
    features = mb.theta.shape[0]
    assert features == math.prod(D.body(torch.zeros(2, *MNIST.shape)).shape[1:])  # reads D's last feature map
    assert mb.theta.shape[1:] == (100, 5)  # num_kernels=100 (train_cifar_...py:66), dim_per_kernel=5 (nn.py:133)
    assert mb.theta.std().item() == pytest.approx(0.05, rel=0.02)  # theta=Normal(0.05)
    assert torch.equal(mb.log_scale.detach(), torch.zeros(100, 5))  # log_weight_scale=Constant(0.)
    assert torch.equal(mb.bias.detach(), torch.full((100,), -1.0))  # b=Constant(-1.)
    assert D.head.in_features == features + 100  # the score reads the features and the 100 batch features
    # one-sided label smoothing: reals' target 0.9, fakes' 0, G's target 1
    loss = build_loss(cfg["loss"]["name"], {"bce": cfg["loss"]["bce"]})
    inputs = scores([0.3, -1.2], [0.8, -0.1])
    d_loss, _ = loss.d_loss(inputs)
    expected = (F.binary_cross_entropy_with_logits(inputs.d_real, torch.full((2,), 0.9))
                + F.binary_cross_entropy_with_logits(inputs.d_fake, torch.zeros(2)))
    torch.testing.assert_close(d_loss, expected)
    torch.testing.assert_close(loss.g_loss(inputs)[0], F.binary_cross_entropy_with_logits(inputs.d_fake,
                                                                                            torch.ones(2)))


# -- ganzoo's L = L_GAN + λ1·L1 + λ2·L2 ------------------------------------------------------------------------

def test_l1l2_recipe_adds_the_weighted_norms_of_each_fake_minus_its_paired_real_to_g_only():
    cfg = recipe("dcgan-l1l2-mnist")
    loss = build_loss(cfg["loss"]["name"])
    assert [(t.name, t.weight) for t, _ in loss.terms] == [("bce", 1.0), ("l1", 0.05), ("l2", 0.05)]
    torch.manual_seed(0)
    real, fake = torch.rand(4, *MNIST.shape) * 2 - 1, torch.rand(4, *MNIST.shape) * 2 - 1
    d_real, d_fake = torch.randn(4), torch.randn(4)
    inputs = LossInputs(real, fake, d_fake, d_real, None, nn.Identity(), 1)
    diff = fake - real  # sample i against real i, every pixel
    g_total, _ = loss.g_loss(inputs)
    torch.testing.assert_close(g_total, F.softplus(-d_fake).mean() + 0.05 * diff.abs().mean()
                               + 0.05 * diff.pow(2).mean())
    d_total, _ = loss.d_loss(inputs)
    torch.testing.assert_close(d_total, F.softplus(-d_real).mean() + F.softplus(d_fake).mean())  # D: L_GAN only
