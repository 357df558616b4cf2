"""Shared fixtures: a fresh registry per test, and plugins defined inside a test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ganzoo.plugins as gp

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
