"""The built-in generators and discriminators: shapes, ranges, gradients, labels, errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from ganzoo import get_registry
from ganzoo.components.build import build_discriminator, build_generator
from ganzoo.base.errors import UnsupportedDataError, UsageError
from ganzoo.base.specs import DataInfo

MNIST = DataInfo((1, 28, 28), 10, 100)
RGB64 = DataInfo((3, 64, 64), None, 10)
RGB64_LABELLED = DataInfo((3, 64, 64), 5, 10)
CIFAR = DataInfo((3, 32, 32), 10, 10)
POINTS = DataInfo((2,), None, 100, modality="points")
POINTS_LABELLED = DataInfo((2,), 4, 100, modality="points")

CASES = [
    ("vanilla", MNIST), ("vanilla", RGB64), ("vanilla", CIFAR), ("vanilla", POINTS),
    ("dcgan", MNIST), ("dcgan", RGB64), ("dcgan", CIFAR),
    ("cgan", MNIST), ("cgan", CIFAR), ("cgan", POINTS_LABELLED),
    ("cdcgan", MNIST), ("cdcgan", CIFAR), ("cdcgan", RGB64_LABELLED),
]
CONDITIONAL = [c for c in CASES if c[0] in ("cgan", "cdcgan")]
IDS = [f"{name}-{'x'.join(map(str, data.shape))}" for name, data in CASES]
COND_IDS = [f"{name}-{'x'.join(map(str, data.shape))}" for name, data in CONDITIONAL]
N = 4


def _labels(data: DataInfo, n: int = N) -> torch.Tensor | None:
    return torch.arange(n) % data.num_classes if data.num_classes else None


def _pair(name: str, data: DataInfo, latent_dim: int = 16):
    return build_generator(name, data, latent_dim=latent_dim), build_discriminator(name, data)


@pytest.mark.parametrize("name,data", CASES, ids=IDS)
def test_shapes_range_and_gradients(name, data):
    torch.manual_seed(0)
    g, d = _pair(name, data)
    z = torch.randn(N, 16)
    y = _labels(data)
    fake = g(z, y)
    assert fake.shape == (N, *data.shape)
    if data.is_image:
        assert fake.min() >= -1 and fake.max() <= 1
    score = d(fake, y)
    assert score.shape == (N,)
    assert torch.isfinite(score).all()

    score.mean().backward()
    for pname, p in g.named_parameters():
        assert p.grad is not None, f"no gradient reached G.{pname} through D"
        assert p.grad.abs().sum() > 0, f"zero gradient at G.{pname}"
    for pname, p in d.named_parameters():
        assert p.grad is not None, f"no gradient at D.{pname}"


@pytest.mark.parametrize("name,data", CASES, ids=IDS)
def test_discriminator_returns_raw_logits(name, data):
    d = build_discriminator(name, data)
    assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())
    assert (d.__doc__ or "").lower().count("sigmoid") >= 1  # says where the Sigmoid went


@pytest.mark.parametrize("name,data", CASES, ids=IDS)
def test_build_is_deterministic_under_manual_seed(name, data):
    def once():
        torch.manual_seed(123)
        g, d = _pair(name, data)
        g.eval(), d.eval()
        z = torch.randn(N, 16)
        with torch.no_grad():
            fake = g(z, _labels(data))
            return g.state_dict(), d.state_dict(), fake, d(fake, _labels(data))

    (g1, d1, x1, s1), (g2, d2, x2, s2) = once(), once()
    for a, b in ((g1, g2), (d1, d2)):
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(x1, x2) and torch.equal(s1, s2)


@pytest.mark.parametrize("name,data", CONDITIONAL, ids=COND_IDS)
def test_conditional_outputs_depend_on_labels(name, data):
    torch.manual_seed(0)
    g, d = _pair(name, data)
    g.eval(), d.eval()
    z = torch.randn(N, 16)
    a, b = torch.zeros(N, dtype=torch.long), torch.ones(N, dtype=torch.long)
    with torch.no_grad():
        assert not torch.allclose(g(z, a), g(z, b))
        x = g(z, a)
        assert not torch.allclose(d(x, a), d(x, b))


@pytest.mark.parametrize("name,data", CONDITIONAL, ids=COND_IDS)
def test_conditional_models_need_labels(name, data):
    g, d = _pair(name, data)
    with pytest.raises(ValueError, match="labels"):
        g(torch.randn(N, 16))
    with pytest.raises(ValueError, match="labels"):
        d(torch.zeros(N, *data.shape))

    unlabelled = DataInfo(data.shape, None, 10, modality=data.modality)
    reg = get_registry()
    for kind in ("generator", "discriminator"):
        spec = reg.get(kind, name)
        assert spec.conditional  # declared once, at registration
        with pytest.raises(ValueError, match="class labels"):
            spec.load_factory()(unlabelled)
    with pytest.raises(UsageError, match="no class labels"):
        build_generator(name, unlabelled)


@pytest.mark.parametrize("name,data", [("dcgan", POINTS), ("cdcgan", POINTS_LABELLED)])
def test_convolutional_models_refuse_points(name, data):
    for build in (build_generator, build_discriminator):
        # the user's choice of model and data, not a broken plugin: a usage error (exit 2), one line
        with pytest.raises(UnsupportedDataError, match=f"{name} needs image data") as err:
            build(name, data)
        assert err.value.exit_code == 2 and "\n" not in str(err.value)


@pytest.mark.parametrize("shape", [(1, 48, 48), (3, 32, 28)])
@pytest.mark.parametrize("name", ["dcgan", "cdcgan"])
def test_convolutional_models_list_supported_resolutions(name, shape):
    data = DataInfo(shape, 10, 10)
    for build in (build_generator, build_discriminator):
        with pytest.raises(UnsupportedDataError, match="28x28, 32x32, 64x64"):
            build(name, data)


def test_dcgan_64_is_the_classic_stack():
    # The parameter counts of Radford et al.'s 64 px model as in the PyTorch DCGAN tutorial.
    g, d = build_generator("dcgan", RGB64), build_discriminator("dcgan", RGB64)
    assert sum(p.numel() for p in g.parameters()) == 3_576_704
    assert sum(p.numel() for p in d.parameters()) == 2_765_568
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [m.out_channels for m in convs] == [512, 256, 128, 64, 3]


def test_dcgan_width_and_mlp_hidden_params():
    g = build_generator("dcgan", MNIST, params={"ngf": 8})
    d = build_discriminator("dcgan", MNIST, params={"ndf": 8})
    assert max(m.out_channels for m in g.modules() if isinstance(m, nn.ConvTranspose2d)) == 16
    assert min(m.out_channels for m in d.modules() if isinstance(m, nn.Conv2d)) == 1
    # TOML hands lists, not tuples
    g = build_generator("vanilla", POINTS, params={"hidden": [32, 32]})
    assert [m.out_features for m in g.modules() if isinstance(m, nn.Linear)] == [32, 32, 2]
    with pytest.raises(UsageError, match="ngf"):
        build_generator("dcgan", MNIST, params={"ngff": 8})


def test_points_generator_output_is_linear():
    g = build_generator("vanilla", POINTS)
    assert not any(isinstance(m, nn.Tanh) for m in g.modules())


def test_info_metadata():
    reg = get_registry()
    for kind in ("generator", "discriminator"):
        for name in ("vanilla", "dcgan", "cgan", "cdcgan"):
            spec = reg.get(kind, name)
            assert spec.summary, f"{kind} {name} has no help text"
            assert spec.conditional == (name in ("cgan", "cdcgan"))
    gen = reg.get("generator", "dcgan")
    assert "ngf" in {p.name for p in gen.params}
    assert {p.name: p.default for p in gen.params}["ngf"] == 64
    assert {p.name: p.default for p in reg.get("discriminator", "dcgan").params}["ndf"] == 64
    assert {p.name: p.default for p in reg.get("generator", "vanilla").params}["hidden"] == (256, 512, 1024)
    assert "projection" in reg.get("discriminator", "cdcgan").doc.lower()


def test_registration_modules_do_not_import_torch():
    code = ("import sys, ganzoo_plugins.vanilla, ganzoo_plugins.dcgan, ganzoo_plugins.conditional; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
