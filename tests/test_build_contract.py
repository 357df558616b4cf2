"""The trainer holds components to the contract the conformance suite checks, at build time.

Issue 12: a discriminator returning (N, 1), generator pixels outside [-1, 1],
a dataset whose info.size is wrong and float [0, 1] images (documented as
uint8) all trained. Each is now refused by `ganzoo.components.build` (so by `ganzoo run`,
before any step, with one line and the component error's exit code) and by
`ganzoo.testing`, with the same words: both call `ganzoo.components.contract`.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from conftest import make_dist, run_cli
from ganzoo.components.build import build_dataset, build_discriminator, build_generator
from ganzoo.base.errors import ComponentError
from ganzoo.base.specs import DataInfo
from ganzoo.testing import ConformanceError, check_component

INIT = textwrap.dedent('''
    from ganzoo import hookimpl


    @hookimpl
    def ganzoo_register_components(register):
        register.generator("no-tanh", "loose.parts:NoTanh")
        register.discriminator("column", "loose.parts:Column")
        register.dataset("floaty", "loose.parts:Floaty")
        register.dataset("liar", "loose.parts:Liar")
''')
PARTS = textwrap.dedent('''
    import torch
    from torch import nn

    from ganzoo.components.interfaces import Dataset, Discriminator, Generator
    from ganzoo.base.specs import DataInfo


    class NoTanh(Generator):
        """Forgets the Tanh: pixels leave [-1, 1]."""
        def __init__(self, data, latent_dim=100):
            super().__init__(data, latent_dim)
            self.net = nn.Linear(latent_dim, data.numel)
            nn.init.constant_(self.net.bias, 3.0)

        def forward(self, z, labels=None):
            return self.net(z).view(-1, *self.data.shape)


    class Column(Discriminator):
        """Scores of shape (N, 1) instead of (N,)."""
        def __init__(self, data):
            super().__init__(data)
            self.net = nn.Linear(data.numel, 1)

        def forward(self, x, labels=None):
            return self.net(x.flatten(1))


    class Floaty(Dataset):
        """Images as floats in [0, 1]; the interface says uint8."""
        def __init__(self, root=None):
            self.info = DataInfo((1, 28, 28), None, 64, "image")

        def tensors(self):
            return torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)), None


    class Liar(Dataset):
        """info.size says 100, tensors() gives 64."""
        def __init__(self, root=None):
            self.info = DataInfo((2,), None, 100, "points")

        def tensors(self):
            return torch.randn(64, 2, generator=torch.Generator().manual_seed(0)), None
''')
WHO = "from plugin 'loose' (ganzoo-loose 0.0.1)"
MNIST = DataInfo((1, 28, 28), None, 64, "image")

CASES = {
    "no-tanh": ("generator", r"image pixels must be in \[-1, 1\] \(end with Tanh\), got \["),
    "column": ("discriminator", r"produced shape \((\d), 1\), expected \(\1,\) \(one raw score per sample"),
    "floaty": ("dataset", r"tensors\(\) must give uint8 images \(0-255\), got torch.float32 in \["),
    "liar": ("dataset", r"tensors\(\) gave 64 samples, but info.size is 100"),
}
RUN_ARGS = {
    "no-tanh": ["--gen", "no-tanh", "--disc", "vanilla"],
    "column": ["--gen", "vanilla", "--disc", "column"],
    "floaty": ["--gen", "vanilla", "--dataset", "floaty"],
    "liar": ["--gen", "vanilla", "--dataset", "liar"],
}


@pytest.fixture
def loose(dist_site):
    make_dist(dist_site, "ganzoo-loose", "0.0.1", {"loose/__init__.py": INIT, "loose/parts.py": PARTS},
              {"loose": "loose"})
    return dist_site


def _build(kind: str, name: str):
    if kind == "generator":
        return build_generator(name, MNIST, latent_dim=8)
    if kind == "discriminator":
        return build_discriminator(name, MNIST)
    return build_dataset(name)


@pytest.mark.parametrize("name", list(CASES))
def test_build_and_suite_refuse_alike(loose, name):
    kind, pattern = CASES[name]
    with pytest.raises(ComponentError, match=pattern) as built:
        _build(kind, name)
    assert f"{kind} {name!r} {WHO}" in str(built.value) and "\n" not in str(built.value)
    kwargs = {"data_infos": [MNIST]} if kind in ("generator", "discriminator") else {}
    with pytest.raises(ConformanceError, match=pattern) as checked:
        check_component(kind, name, **kwargs)
    assert f"{kind} {name!r} {WHO}" in str(checked.value)


@pytest.mark.parametrize("name", list(RUN_ARGS))
def test_run_refuses_before_the_first_step(loose, tmp_path, name):
    kind, pattern = CASES[name]
    out = tmp_path / "run"
    args = ["run", "--dataset", "mnist-10k", "--steps", "2", "--batch-size", "8", "--out", str(out), *RUN_ARGS[name]]
    r = run_cli(*args, timeout=300)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == ComponentError.exit_code and len(lines) == 1, r.stderr
    assert f"{kind} {name!r} {WHO}" in lines[0] and re.search(pattern, lines[0]), lines[0]
    assert not (out / "checkpoints").exists() and not (out / "metrics.jsonl").exists()


def test_points_generators_are_not_held_to_the_image_range(loose):
    points = DataInfo((2,), None, 64, "points")
    build_generator("no-tanh", points, latent_dim=8)  # an open range is right for points
