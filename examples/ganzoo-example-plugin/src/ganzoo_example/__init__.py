"""ganzoo-example-plugin: a residual-MLP GAN and the relativistic average GAN loss.

This module is what the entry point ``example = "ganzoo_example"`` loads. It
only registers names: every factory is a lazy ``"module:attr"`` string, so
`ganzoo list` and `ganzoo info` never import torch (the classes live in
`models` and `losses`, imported when a component is actually built).
"""

from __future__ import annotations

from importlib import resources

from ganzoo import hookimpl

#: The plugin API this package is written against; ganzoo skips it, with a
#: message, if it provides a different one.
GANZOO_PLUGIN_API = 1


@hookimpl
def ganzoo_register_components(register):
    register.generator("resnet-mlp", "ganzoo_example.models:ResNetMLPGenerator")
    register.discriminator("resnet-mlp", "ganzoo_example.models:ResNetMLPDiscriminator")
    register.loss("rel-avg", "ganzoo_example.losses:RelativisticAverageLoss", role="adversarial")


@hookimpl
def ganzoo_register_recipes(register):
    # registry.toml ships inside the package (see [tool.setuptools.package-data]).
    register.toml(resources.files(__package__) / "registry.toml")
