"""A broken third-party plugin fails at build time, before any training step, with a ComponentError
that names the plugin, its distribution and the component: through ganzoo.components.build, through the
conformance suite, and through `ganzoo run` (one line on stderr, no traceback, non-zero exit)."""

from __future__ import annotations

import textwrap

import pytest

from conftest import make_dist, run_cli
from ganzoo.components.build import build_dataset, build_discriminator, build_generator, build_loss
from ganzoo.base.errors import ComponentError
from ganzoo.base.specs import DataInfo
from ganzoo.testing import ConformanceError, check_component

INIT = textwrap.dedent('''
    """A plugin whose every component is broken in a different way."""
    from ganzoo import hookimpl

    GANZOO_PLUGIN_API = 1
    M = "badplug.models"

    @hookimpl
    def ganzoo_register_components(register):
        register.generator("bad-raises", f"{M}:Raises")
        register.generator("bad-type", f"{M}:wrong_type")
        register.generator("bad-shape", f"{M}:WrongShape")
        register.generator("bad-forward", f"{M}:CrashingForward")
        register.generator("bad-import", "badplug.missing:Nothing")
        register.discriminator("bad-scores", f"{M}:TwoScores")
        register.loss("bad-loss", f"{M}:NotALoss", role="adversarial")
        register.loss("bad-duck", f"{M}:DuckLoss", role="adversarial")
        register.dataset("bad-data", f"{M}:NoInfo")
        register.dataset("bad-notdata", lambda: [1, 2, 3])
''')

MODELS = textwrap.dedent('''
    import torch
    from torch import nn
    from ganzoo.components.interfaces import Dataset, Discriminator, Generator

    class Raises(Generator):
        """Raises in its factory."""
        def __init__(self, data, latent_dim=100):
            raise RuntimeError("boom in the factory")

    def wrong_type(data, latent_dim=100):
        """Returns a dict instead of a module."""
        return {"not": "a module"}

    class WrongShape(Generator):
        """One value too many per sample."""
        def __init__(self, data, latent_dim=100):
            super().__init__(data, latent_dim)
            self.net = nn.Linear(latent_dim, data.numel + 1)
        def forward(self, z, labels=None):
            return self.net(z)

    class CrashingForward(WrongShape):
        """Builds, then fails on its first batch."""
        def forward(self, z, labels=None):
            return self.net(z[:, :3])

    class TwoScores(Discriminator):
        """Two scores per sample."""
        def __init__(self, data):
            super().__init__(data)
            self.net = nn.Linear(data.numel, 2)
        def forward(self, x, labels=None):
            return self.net(x.flatten(1))

    class NotALoss:
        """Has no d_loss or g_loss."""

    class DuckLoss:
        """d_loss and g_loss, but not a LossTerm: none of the traits a run reads (n_critic, lazy, state...)."""
        def d_loss(self, inputs):
            return None
        def g_loss(self, inputs):
            return None

    class NoInfo(Dataset):
        """A dataset without a DataInfo."""
        def __init__(self, root=None):
            self.data = [1, 2, 3]
''')

POINTS = DataInfo((2,), None, 100, "points")
WHO = "from plugin 'bad' (ganzoo-bad 0.0.1)"

CASES = {
    "bad-raises": ("generator", "failed to build: RuntimeError: boom in the factory"),
    "bad-type": ("generator", "returned dict, not a torch.nn.Module"),
    "bad-shape": ("generator", r"produced shape \(2, 3\), expected \(2, 2\)"),
    "bad-forward": ("generator", "failed on a probe batch"),
    "bad-import": ("generator", "cannot be imported .*ModuleNotFoundError"),
    "bad-scores": ("discriminator", r"produced shape \(2, 2\), expected \(2,\)"),
    "bad-loss": ("loss", r"returned NotALoss, which is not a loss term \(subclass ganzoo.interfaces.LossTerm\)"),
    "bad-duck": ("loss", r"returned DuckLoss, which is not a loss term \(subclass ganzoo.interfaces.LossTerm\)"),
    "bad-data": ("dataset", "without a DataInfo 'info'"),
    "bad-notdata": ("dataset", r"returned list, which is not a dataset \(subclass ganzoo.interfaces.Dataset\)"),
}


@pytest.fixture
def bad_plugin(dist_site):
    make_dist(dist_site, "ganzoo-bad", "0.0.1", {"badplug/__init__.py": INIT, "badplug/models.py": MODELS},
              {"bad": "badplug"})
    return dist_site


def _build(kind: str, name: str):
    if kind == "generator":
        return build_generator(name, POINTS, latent_dim=8)
    if kind == "discriminator":
        return build_discriminator(name, POINTS)
    if kind == "loss":
        return build_loss(name)
    return build_dataset(name)


@pytest.mark.parametrize("name", list(CASES))
def test_build_raises_component_error_naming_plugin_and_component(bad_plugin, name):
    kind, message = CASES[name]
    with pytest.raises(ComponentError, match=message) as info:
        _build(kind, name)
    assert f"{kind} {name!r} {WHO}" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", [n for n, (kind, _) in CASES.items() if kind != "dataset"])
def test_conformance_suite_names_the_plugin_too(bad_plugin, name):
    kind, _ = CASES[name]
    with pytest.raises(ConformanceError) as info:
        check_component(kind, name)
    assert f"{kind} {name!r} {WHO}" in str(info.value)


RUN_ARGS = {
    "bad-raises": ["--gen", "bad-raises", "--disc", "vanilla"],
    "bad-type": ["--gen", "bad-type", "--disc", "vanilla"],
    "bad-shape": ["--gen", "bad-shape", "--disc", "vanilla"],
    "bad-loss": ["--gen", "vanilla", "--loss", "bad-loss"],
}


@pytest.mark.parametrize("name", list(RUN_ARGS))
def test_ganzoo_run_fails_before_training_with_one_line(bad_plugin, tmp_path, name):
    kind, _message = CASES[name]
    out = tmp_path / "run"
    args = ["run", "--dataset", "gaussians", "--loss", "bce", "--steps", "1", "--out", str(out), *RUN_ARGS[name]]
    proc = run_cli(*args, timeout=120)
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("error: ") and f"{kind} {name!r} {WHO}" in lines[0], lines[0]
    assert not (out / "metrics.jsonl").exists() and not (out / "checkpoints").exists()
