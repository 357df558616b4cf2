"""Shared fixtures: a fresh registry per test, plugins defined inside a test, and the toy plugin.

The toy plugin is the package in ``tests/toy_plugin`` and is used two ways:
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
import hashlib
import importlib.util
import types
from pathlib import Path

import pytest

import ganzoo.plugin.manager as gp

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


_LIGHT_PROBE = """
import sys
from ganzoo.cli import main
try:
    main({args!r})
except SystemExit:
    pass
print("HEAVY=" + ",".join(m for m in {modules!r} if m in sys.modules), file=sys.stderr)
"""


def run_light(args: list[str], heavy: tuple[str, ...] = ("torch",)) -> subprocess.CompletedProcess:
    """`ganzoo ARGS` in a fresh interpreter, asserting that none of the ``heavy`` modules got imported (the light
    commands: --help, list, info); returns the process, its output intact."""
    proc = subprocess.run([sys.executable, "-c", _LIGHT_PROBE.format(args=list(args), modules=heavy)],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    found = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert found == ["HEAVY="], proc.stderr[-2000:]
    return proc


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

# The toy plugin is a real package (tests/toy_plugin), installed or loaded fresh by the helpers below.
TOY_DIR = Path(__file__).resolve().parent / "toy_plugin"
TOY_FILE = TOY_DIR / "ganzoo_toy.py"


def toy_module(name: str = "ganzoo_toy") -> types.ModuleType:
    """A fresh import of the toy plugin (for ``add_plugin``): its call counters start at zero."""
    spec = importlib.util.spec_from_file_location(name, TOY_FILE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def install_toy(site: Path, dist: str = "ganzoo-toy", version: str = "0.1") -> Path:
    """Install the toy plugin as a distribution with a `ganzoo` entry point under ``site`` (add it to PYTHONPATH).

    The same layout pip writes for tests/toy_plugin (module + .dist-info), without pip's seconds of start-up.
    """
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(TOY_FILE, site / "ganzoo_toy.py")
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
    from ganzoo.training.trainer import Trainer

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


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and its sha256: compare two digests to prove nothing was touched."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(err: pytest.ExceptionInfo) -> str:
    """The message of a raised GanzooError, checked to be the single line a user would see."""
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def pythonpath(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
