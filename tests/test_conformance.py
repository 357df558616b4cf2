"""ganzoo.testing, the conformance suite: every registered component passes it, and it catches broken ones.

The first test is parametrized over everything the registry holds when this
module is imported (the registry is torch-free), the way timm tests every
model in list_models(): a new built-in, or an installed third-party plugin,
is checked without anyone adding a case.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
import torch
from torch import nn

import ganzoo.plugin.manager as gp
from ganzoo import hookimpl
from ganzoo.components.interfaces import Dataset, Discriminator, Generator, LossTerm
from ganzoo.base.specs import DataInfo
from ganzoo.testing import (MNIST, POINTS, ConformanceError, check_component, check_generator, components,
                            parametrize_components)

PAIRS = components()
gp.reset()  # the fixtures build a fresh registry for every test


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """Six small PNGs in two class folders: data for the `folder` dataset (and an empty root for the others)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("images")
    for cls in ("cats", "dogs"):
        (root / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (40, 36), (60 * i, 100, 200)).save(root / cls / f"{i}.png")
    return root


def _dataset_params(name: str, root) -> dict:
    """Offline parameters: point ``root`` at the PNG folder and never download."""
    params = {p.name for p in gp.get_registry().get("dataset", name).params}
    return {**({"root": str(root)} if "root" in params else {}),
            **({"download": False} if "download" in params else {})}


def test_every_kind_is_collected():
    kinds = {k for k, _ in PAIRS}
    assert {"generator", "discriminator", "loss", "dataset", "recipe"} <= kinds
    assert ("generator", "dcgan") in PAIRS and ("loss", "bce") in PAIRS


@pytest.mark.parametrize(("kind", "name"), PAIRS, ids=[f"{k}-{n}" for k, n in PAIRS])
def test_registered_component_conforms(kind, name, image_folder):
    kwargs = {"params": _dataset_params(name, image_folder)} if kind == "dataset" else {}
    report = check_component(kind, name, **kwargs)
    if kind in ("generator", "discriminator", "dataset", "loss"):
        assert report.supported, report


def test_folder_dataset_is_really_checked(image_folder):
    report = check_component("dataset", "folder", params={"root": str(image_folder), "image_size": 32})
    assert report.supported == [(3, 32, 32)] and "tensors" in report.checks


def test_unsupported_shapes_are_reported_not_failed():
    report = check_generator("dcgan", [POINTS, MNIST])
    assert report.supported == [(1, 28, 28)]
    assert "image data" in report.unsupported[(2,)]
    assert "refuses points(2)" in str(report)


def test_parametrize_components_filters_by_distribution():
    mark = parametrize_components("loss", dist="ganzoo")
    assert ("loss", "bce") in mark.args[1]
    assert all(kind == "loss" for kind, _ in mark.args[1])
    with pytest.raises(ConformanceError, match="is it installed"):
        parametrize_components(dist="ganzoo-not-installed")


def test_listing_does_not_import_the_suite():
    code = ("import sys; from ganzoo.cli.commands.list_cmd import rows; rows(None); "
            "assert 'ganzoo.testing' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- broken components: each must be caught, with a message naming it -------------
class PlainGen(Generator):
    def __init__(self, data, latent_dim=100):
        super().__init__(data, latent_dim)
        self.net = nn.Linear(latent_dim, data.numel)

    def forward(self, z, labels=None):
        return torch.tanh(self.net(z)).view(-1, *self.data.shape)


class NoTanhGen(PlainGen):
    def forward(self, z, labels=None):
        return 10 * self.net(z).view(-1, *self.data.shape)


class UnusedLayerGen(PlainGen):
    def __init__(self, data, latent_dim=100):
        super().__init__(data, latent_dim)
        self.unused = nn.Linear(3, 3)


class DetachedGen(PlainGen):
    def forward(self, z, labels=None):
        return super().forward(z).detach()


class UnseededGen(PlainGen):
    def __init__(self, data, latent_dim=100):
        super().__init__(data, latent_dim)
        self.shift = nn.Parameter(torch.tensor(random.random()))

    def forward(self, z, labels=None):
        return torch.tanh(self.net(z) + self.shift).view(-1, *self.data.shape)


class IgnoresLabelsGen(PlainGen):
    """Registered as conditional, but never reads its labels."""


class PeeksAtLabelsGen(PlainGen):
    def forward(self, z, labels=None):
        out = super().forward(z)
        return out if labels is None else out * 0.5


class Float32OnlyGen(PlainGen):
    def forward(self, z, labels=None):
        return super().forward(z @ torch.eye(z.shape[1]))


class TypeErrorGen(PlainGen):
    def __init__(self, data, latent_dim=100):
        if not data.is_image:
            raise TypeError("'NoneType' object is not subscriptable")
        super().__init__(data, latent_dim)


class RefusesAllGen(PlainGen):
    def __init__(self, data, latent_dim=100):
        raise ValueError("only 128 px images")


class Column(Discriminator):
    def __init__(self, data):
        super().__init__(data)
        self.net = nn.Linear(data.numel, 1)

    def forward(self, x, labels=None):
        return self.net(x.flatten(1))  # (N, 1), not (N,)


class BlindD(Discriminator):
    def __init__(self, data):
        super().__init__(data)
        self.b = nn.Parameter(torch.zeros(()))

    def forward(self, x, labels=None):
        return self.b.expand(len(x)) + 0 * x.flatten(1).sum(1).detach()


class VectorLoss(LossTerm):
    def d_loss(self, i):
        return nn.functional.softplus(-i.d_real) + nn.functional.softplus(i.d_fake)

    def g_loss(self, i):
        return nn.functional.softplus(-i.d_fake).mean()


class SneakyRelativistic(LossTerm):
    def d_loss(self, i):
        return (i.d_fake - i.d_real).mean()

    def g_loss(self, i):
        return (i.d_real - i.d_fake).mean()


class OneSided(LossTerm):
    def d_loss(self, i):
        return (i.d_fake - i.d_real).mean()


class NaNLoss(SneakyRelativistic):
    needs_real_scores_for_g = True

    def d_loss(self, i):
        return i.d_fake.mean() * float("nan")


class DetachedGLoss(SneakyRelativistic):
    def g_loss(self, i):
        return -i.d_fake.detach().mean()


class BadLabels(Dataset):
    def __init__(self, root=None):
        self.info = DataInfo((2,), 3, 10, "points")

    def tensors(self):
        return torch.randn(10, 2), torch.arange(10)


class WrongSize(BadLabels):
    def tensors(self):
        return torch.randn(7, 2), torch.arange(7) % 3


class FloatImages(Dataset):
    """Images as floats in [0, 1], where the Dataset interface says uint8."""

    def __init__(self, root=None):
        self.info = DataInfo((1, 4, 4), None, 6, "image")

    def tensors(self):
        return torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(0)), None


BROKEN = [
    ("generator", NoTanhGen, {}, r"\[-1, 1\]"),
    ("generator", UnusedLayerGen, {}, r"no gradient reaches unused\.weight, unused\.bias through a discriminator"),
    ("generator", DetachedGen, {}, "does not require grad"),
    ("generator", UnseededGen, {}, "two builds after torch.manual_seed"),
    ("generator", IgnoresLabelsGen, {"conditional": True}, "does not change with the labels"),
    ("generator", PeeksAtLabelsGen, {}, "unconditional but its output changes when given labels"),
    ("generator", Float32OnlyGen, {}, r"after \.to\(torch\.float64\)"),
    ("generator", TypeErrorGen, {}, "factory raised TypeError"),
    ("generator", RefusesAllGen, {}, "supports none of the data shapes .*only 128 px"),
    ("discriminator", Column, {}, r"shape \(4, 1\), expected \(4,\)"),
    ("discriminator", BlindD, {}, "no gradient reaches its input"),
    ("loss", VectorLoss, {"role": "adversarial"}, "d_loss must return a scalar tensor or None, got Tensor"),
    ("loss", SneakyRelativistic, {"role": "adversarial"}, "set needs_real_scores_for_g = True"),
    ("loss", OneSided, {"role": "adversarial"}, "registered as adversarial but its g_loss returned None"),
    ("loss", NaNLoss, {"role": "adversarial"}, "d_loss returned nan"),
    ("loss", DetachedGLoss, {"role": "adversarial"}, "g_loss does not depend on the fake samples"),
    ("dataset", BadLabels, {}, r"labels must be in \[0, 3\)"),
    ("dataset", WrongSize, {}, r"tensors\(\) gave 7 samples, but info.size is 10"),
    ("dataset", FloatImages, {}, r"must give uint8 images \(0-255\), got torch.float32 in \[0"),
]


class OnePlugin:
    def __init__(self, kind, factory, options):
        self.kind, self.factory, self.options = kind, factory, options

    @hookimpl
    def ganzoo_register_components(self, register):
        getattr(register, self.kind)("broken-thing", self.factory, **self.options)


@pytest.mark.parametrize(("kind", "factory", "options", "message"), BROKEN,
                         ids=[f"{f.__name__}-{'-'.join(o) or 'plain'}" for _, f, o, _ in BROKEN])
def test_suite_catches_broken_component(add_plugin, kind, factory, options, message):
    add_plugin(OnePlugin(kind, factory, options), "broken", dist="ganzoo-broken", version="0.2.0")
    kwargs = {"data_infos": [POINTS, MNIST]} if kind in ("generator", "discriminator") else {}
    with pytest.raises(ConformanceError, match=message) as info:
        check_component(kind, "broken-thing", **kwargs)
    assert f"{kind} 'broken-thing' from plugin 'broken' (ganzoo-broken 0.2.0)" in str(info.value)
