"""Shared fixtures: a fresh registry per test, plugins defined inside a test, and the toy plugin.

The toy plugin's source lives in ``TOY_SOURCE`` so it can be used two ways:
registered in-process through ``add_plugin`` (the ``toy`` fixture,
``toy_module()``), or installed as a real distribution with an entry point for
subprocess tests (``install_toy(path)``; put ``path`` on PYTHONPATH, e.g. with
``toy_env(path)``). Test files import the plain helpers with
``from conftest import fit, tiny, ...``; fixtures need no import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import ganzoo.plugin_manager as gp

ROOT = Path(__file__).resolve().parents[1]

# Two cores are shared by everything here; more intra-op threads only thrash.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch, tmp_path_factory):
    """Every test starts from a freshly loaded plugin manager and registry.

    The working directory is moved to an empty folder so that a source
    checkout's own registry.toml is not mistaken for a user's recipe file.
    """
    for var in (gp.ENV_AUTOLOAD, gp.ENV_BLOCK, "GANZOO_REGISTRY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    gp.reset()
    yield
    gp.reset()


@pytest.fixture
def add_plugin():
    """Register a plugin object (module or class with hookimpls) as if it came from a distribution.

    Returns the fresh registry. Usage: ``registry = add_plugin(MyPlugin(), "my-plugin")``.
    """

    def _add(obj, name: str, dist: str = "test-dist", version: str = "0.0.1"):
        plugins = gp.get_plugins()
        plugins.register(obj, gp.PluginRecord(name, dist, version, getattr(obj, "__name__", name)))
        gp._STATE.pop("registry", None)
        return gp.get_registry()

    return _add


def run_cli(*args: str, env: dict | None = None, cwd: str | Path | None = None, timeout: float = 600):
    """Run `python -m ganzoo ARGS` in a subprocess, as a user would; returns CompletedProcess."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True,
                           env=full_env, cwd=cwd, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


def make_dist(site: Path, name: str, version: str, modules: dict[str, str],
              entry_points: dict[str, str]) -> Path:
    """Write a minimal installed distribution (modules + .dist-info) under ``site``.

    Putting ``site`` on PYTHONPATH makes it a real distribution to
    importlib.metadata, with real entry points in the group ``ganzoo``.
    """
    site.mkdir(parents=True, exist_ok=True)
    for rel, source in modules.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[ganzoo]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return site


@pytest.fixture
def dist_site(tmp_path, monkeypatch):
    """A temporary site directory on sys.path (and PYTHONPATH for subprocesses)."""
    import importlib

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    importlib.invalidate_caches()
    yield site
    # Test plugins reuse module names; forget them so the next test imports its own.
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(site)):
            del sys.modules[name]


# -- the toy plugin ------------------------------------------------------------------------------

TOY_SOURCE = textwrap.dedent('''
    """ganzoo-toy: tiny components for the trainer's tests."""
    import torch
    from torch import nn

    import ganzoo
    from ganzoo.interfaces import Dataset, Discriminator, Generator, LossTerm
    from ganzoo.specs import DataInfo

    CALLS = {"d_loss": 0, "g_loss": 0}


    class ToyGen(Generator):
        """An MLP generator for any data shape."""
        def __init__(self, data, latent_dim=100, hidden=16):
            super().__init__(data, latent_dim)
            self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, data.numel))

        def forward(self, z, labels=None):
            x = self.net(z).view(len(z), *self.data.shape)
            return torch.tanh(x) if self.data.is_image else x


    class ToyCGen(ToyGen):
        """A conditional MLP generator (label embedding added to z)."""
        conditional = True

        def __init__(self, data, latent_dim=100, hidden=16):
            super().__init__(data, latent_dim, hidden)
            self.embed = nn.Embedding(data.num_classes, latent_dim)

        def forward(self, z, labels):
            return super().forward(z + self.embed(labels))


    class ToyDisc(Discriminator):
        """An MLP discriminator with a BatchNorm (so buffers are exercised)."""
        def __init__(self, data, hidden=16):
            super().__init__(data)
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(data.numel, hidden), nn.BatchNorm1d(hidden),
                                     nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

        def forward(self, x, labels=None):
            return self.net(x).view(-1)


    class ToyCDisc(ToyDisc):
        """A conditional MLP discriminator (projection)."""
        conditional = True

        def __init__(self, data, hidden=16):
            super().__init__(data, hidden)
            self.embed = nn.Embedding(data.num_classes, data.numel)

        def forward(self, x, labels):
            return self.net(x).view(-1) + (x.flatten(1) * self.embed(labels)).sum(1) * 0.01


    class ToyBCE(LossTerm):
        """Non-saturating BCE on logits."""
        def d_loss(self, i):
            CALLS["d_loss"] += 1
            f = nn.functional.binary_cross_entropy_with_logits
            return f(i.d_real, torch.ones_like(i.d_real)) + f(i.d_fake, torch.zeros_like(i.d_fake))

        def g_loss(self, i):
            CALLS["g_loss"] += 1
            return nn.functional.binary_cross_entropy_with_logits(i.d_fake, torch.ones_like(i.d_fake))


    class ToyCritic(ToyBCE):
        """BCE asking for five critic steps per generator step."""
        n_critic = 5


    class ToyL1(LossTerm):
        """A regularizer: L1 between fake and real, generator side only."""
        def __init__(self, scale=1.0):
            self.scale = scale

        def g_loss(self, i):
            return self.scale * (i.fake - i.real).abs().mean()


    class ToyBoom(LossTerm):
        """A regularizer that turns NaN on the discriminator side after step ``after``."""
        def __init__(self, after=3):
            self.after = after

        def d_loss(self, i):
            value = i.d_fake.mean() * 0.0
            return value * float("nan") if i.step > self.after else value


    class ToyBlobs(Dataset):
        """Labelled 2-D points around four centres."""
        def __init__(self, n=512, seed=0, root=None):
            g = torch.Generator().manual_seed(seed)
            centres = torch.tensor([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])
            self.y = torch.arange(n) % 4
            self.x = centres[self.y] + 0.1 * torch.randn(n, 2, generator=g)
            self.info = DataInfo((2,), num_classes=4, size=n, modality="points")

        def tensors(self):
            return self.x, self.y


    class ToyDigits(Dataset):
        """Tiny 1x8x8 uint8 images in ten classes (``streaming`` to use a DataLoader)."""
        def __init__(self, n=256, size=8, streaming=False, root=None):
            g = torch.Generator().manual_seed(1)
            self.y = torch.arange(n) % 10
            base = torch.randint(0, 256, (10, 1, size, size), generator=g, dtype=torch.uint8)
            self.x = base[self.y]
            self.streaming = streaming
            self.info = DataInfo((1, size, size), num_classes=10, size=n,
                                 class_names=tuple(str(i) for i in range(10)))

        def tensors(self):
            return self.x, self.y


    class ToyUnlabelled(ToyDigits):
        """ToyDigits without labels."""
        def __init__(self, n=256, size=8, root=None):
            super().__init__(n, size)
            self.info = DataInfo((1, size, size), size=n)

        def tensors(self):
            return self.x, None


    @ganzoo.hookimpl
    def ganzoo_register_components(register):
        register.generator("toy-mlp", ToyGen)
        register.discriminator("toy-mlp", ToyDisc)
        register.generator("toy-cmlp", ToyCGen, conditional=True)
        register.discriminator("toy-cmlp", ToyCDisc, conditional=True)
        register.loss("toy-bce", ToyBCE, role="adversarial")
        register.loss("toy-critic", ToyCritic, role="adversarial")
        register.loss("toy-l1", ToyL1, role="regularizer")
        register.loss("toy-boom", ToyBoom, role="regularizer")
        register.dataset("toy-blobs", ToyBlobs)
        register.dataset("toy-digits", ToyDigits)
        register.dataset("toy-unlabelled", ToyUnlabelled)


    @ganzoo.hookimpl
    def ganzoo_register_recipes(register):
        register.recipe("toy-points", {"gen": {"name": "toy-mlp"}, "loss": {"name": "toy-bce"},
                                       "dataset": {"name": "toy-blobs"},
                                       "train": {"steps": 6, "batch_size": 32, "latent_dim": 4, "log_every": 1,
                                                 "device": "cpu"}},
                        doc="Toy MLP GAN on four blobs.")
''')


def toy_module(name: str = "ganzoo_toy") -> types.ModuleType:
    """TOY_SOURCE as a fresh module object (for ``add_plugin``)."""
    mod = types.ModuleType(name)
    mod.__file__ = f"<{name}>"
    sys.modules[name] = mod
    exec(compile(TOY_SOURCE, mod.__file__, "exec"), mod.__dict__)
    return mod


def install_toy(site: Path, dist: str = "ganzoo-toy", version: str = "0.1") -> Path:
    """Install TOY_SOURCE as a distribution with a `ganzoo` entry point under ``site`` (add it to PYTHONPATH)."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "ganzoo_toy.py").write_text(TOY_SOURCE)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[ganzoo]\ntoy = ganzoo_toy\n")
    return site


def toy_env(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def tiny(**train) -> dict:
    """A tiny points run config for the toy plugin."""
    base = {"steps": 6, "batch_size": 32, "latent_dim": 4, "log_every": 1, "device": "cpu", "seed": 0}
    return {"gen": {"name": "toy-mlp"}, "loss": {"name": "toy-bce"}, "dataset": {"name": "toy-blobs"},
            "train": {**base, **train}, "out": "run"}


def tiny_images(**train) -> dict:
    cfg = tiny(**train)
    cfg["dataset"] = {"name": "toy-digits"}
    return cfg


@pytest.fixture
def toy(add_plugin):
    mod = toy_module()
    add_plugin(mod, "toy")
    return mod


def fit(config, **kw):
    from ganzoo.trainer import Trainer

    return Trainer(config, progress="quiet", **kw).fit()


def install(src: Path, site: Path) -> Path:
    """``pip install SRC --target SITE``, offline and without build isolation; the source is copied
    first so that the build (build/, *.egg-info) leaves nothing behind in the repository."""
    copy = site.parent / f"src-{src.name}"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"))
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation",
                           "--disable-pip-version-check", "--quiet", "--target", str(site), str(copy)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return copy


def pythonpath(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
