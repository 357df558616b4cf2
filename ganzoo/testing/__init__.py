"""ganzoo's conformance suite: the checks every component must pass, for plugin authors and for ganzoo itself.

In a plugin's tests (see docs/plugins.md)::

    from ganzoo.testing import check_component, parametrize_components

    @parametrize_components(dist="ganzoo-example-plugin")
    def test_conformance(kind, name):
        check_component(kind, name)

or one check at a time: ``check_generator(name, data_infos=..., device="cpu")``,
``check_discriminator``, ``check_loss``, ``check_dataset``, ``check_algorithm``, ``check_logger``,
``check_metric``, ``check_recipe``.
Each returns a `Report` (the data shapes supported, the checks passed) and
raises `ConformanceError`, an AssertionError whose message names the
component, its plugin and the data, when the contract is broken. The output
and data checks are `ganzoo.components.contract`'s, the ones `ganzoo.components.build` makes before
training: what passes here is what the trainer accepts.

Importing this package imports torch; ganzoo itself never imports it
outside tests, so ``ganzoo list`` stays fast.
"""

from __future__ import annotations

from ._common import DEFAULT_DATA, MNIST, POINTS, RGB32, RGB64, ConformanceError, Report
from .algorithms import check_algorithm
from .datasets import check_dataset
from .loggers import check_logger
from .losses import LOSS_DATA, ToyDiscriminator, check_loss
from .metrics import check_metric
from .models import check_discriminator, check_generator
from .suite import check_component, check_recipe, components, parametrize_components

__all__ = [
    "check_component", "check_algorithm", "check_generator", "check_discriminator", "check_loss", "check_dataset",
    "check_logger", "check_metric", "check_recipe", "components", "parametrize_components", "ConformanceError", "Report",
    "DEFAULT_DATA", "LOSS_DATA", "POINTS", "MNIST", "RGB32", "RGB64", "ToyDiscriminator",
]
