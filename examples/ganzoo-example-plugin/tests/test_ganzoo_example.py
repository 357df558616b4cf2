"""Tests of ganzoo-example-plugin. Run them with the plugin installed: pip install -e . && python -m pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.interfaces import LossInputs
from ganzoo.testing import MNIST, POINTS, check_component, check_generator, parametrize_components

DIST = "ganzoo-example-plugin"


@parametrize_components(dist=DIST)
def test_conformance(kind, name):
    """Every component and recipe of this distribution passes ganzoo's conformance suite."""
    check_component(kind, name)


def test_found_through_the_entry_point():
    spec = ganzoo.get_registry().get("loss", "rel-avg")
    assert (spec.plugin.name, spec.plugin.dist) == ("example", DIST)
    assert spec.role == "adversarial"
    assert spec.summary.startswith("Relativistic average GAN loss")


def test_resnet_mlp_works_on_points_and_mnist():
    report = check_generator("resnet-mlp", [POINTS, MNIST])
    assert report.supported == [(2,), (1, 28, 28)]


def test_resnet_mlp_rejects_bad_width():
    from ganzoo_example.models import ResNetMLPGenerator

    with pytest.raises(ValueError, match="width"):
        ResNetMLPGenerator(POINTS, width=0)


def _inputs(d_real, d_fake):
    x = torch.zeros(len(d_fake), 2)
    return LossInputs(real=x, fake=x, d_fake=d_fake, d_real=d_real, labels=None, discriminator=torch.nn.Identity())


def test_rel_avg_is_the_relativistic_average_bce():
    from ganzoo_example.losses import RelativisticAverageLoss

    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(16, generator=g), torch.randn(16, generator=g) - 1
    term = RelativisticAverageLoss()
    bce = F.binary_cross_entropy_with_logits
    ones, zeros = torch.ones(16), torch.zeros(16)
    d_expected = bce(real - fake.mean(), ones) + bce(fake - real.mean(), zeros)
    g_expected = bce(fake - real.mean(), ones) + bce(real - fake.mean(), zeros)
    assert torch.allclose(term.d_loss(_inputs(real, fake)), d_expected)
    assert torch.allclose(term.g_loss(_inputs(real, fake)), g_expected)
    # symmetric: swapping the roles of real and fake swaps the two losses
    assert torch.allclose(term.g_loss(_inputs(real, fake)), term.d_loss(_inputs(fake, real)))


def test_rel_avg_asks_for_real_scores_in_the_generator_step():
    from ganzoo_example.losses import RelativisticAverageLoss

    assert RelativisticAverageLoss.needs_real_scores_for_g is True
    with pytest.raises(ValueError, match="d_real"):
        RelativisticAverageLoss().g_loss(_inputs(None, torch.zeros(4)))


def test_registration_does_not_import_torch():
    code = "import sys, ganzoo_example; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_recipes_compose_registered_components():
    registry = ganzoo.get_registry()
    recipe = registry.recipe("example-gaussians")
    assert recipe.plugin.dist == DIST
    assert recipe.component("gen") == "resnet-mlp" and recipe.component("loss") == "rel-avg"
