"""examples/ganzoo-example-plugin, installed for real (not editable), as a user would install it.

`pip install --target SITE` (offline, from the source) makes a genuine installed distribution:
.dist-info, RECORD, entry_points.txt. Subprocesses see it while SITE is on PYTHONPATH and
the shared virtualenv is never touched; removing the files its RECORD lists is exactly what
`pip uninstall` does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import ROOT, install, pythonpath, run_cli

EXAMPLE = ROOT / "examples" / "ganzoo-example-plugin"
DOC = ROOT / "docs" / "plugins.md"
DIST, VERSION, PLUGIN = "ganzoo-example-plugin", "0.1.0", "example"
COMPONENTS = {("generator", "resnet-mlp"), ("discriminator", "resnet-mlp"), ("loss", "rel-avg"),
              ("recipe", "example-gaussians"), ("recipe", "example-mnist")}


def uninstall(site: Path, dist: str) -> None:
    """What `pip uninstall` does: delete every file the distribution's RECORD lists, then empty folders."""
    (info,) = site.glob(f"{dist.replace('-', '_')}-*.dist-info")
    folders = set()
    for line in (info / "RECORD").read_text().splitlines():
        path = site / line.split(",")[0]
        if path.is_file():
            path.unlink()
            folders.add(path.parent)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        shutil.rmtree(folder / "__pycache__", ignore_errors=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    base = tmp_path_factory.mktemp("example-plugin")
    site = base / "site"
    source = install(EXAMPLE, site)
    return SimpleNamespace(base=base, site=site, source=source, env=pythonpath(site))


@pytest.fixture(scope="module")
def plugin_run(example):
    """The plugin's generator/discriminator with a built-in loss, on 28 px MNIST, for 3 steps."""
    out = example.base / "run-resnet-mlp"
    proc = run_cli("run", "--gen", "resnet-mlp", "--loss", "hinge", "--dataset", "mnist-10k", "--steps", "3",
                   "--batch-size", "16", "--out", str(out), "-q", env=example.env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def _config(run: Path) -> dict:
    return tomllib.loads((run / "config.toml").read_text())


def test_installed_as_a_real_distribution(example):
    (info,) = example.site.glob("ganzoo_example_plugin-0.1.0.dist-info")
    assert "[ganzoo]\nexample = ganzoo_example" in (info / "entry_points.txt").read_text()
    assert (example.site / "ganzoo_example" / "registry.toml").is_file()  # package data made it into the wheel
    assert not (example.site / "tests").exists()


def test_list_shows_its_components_with_distribution_and_version(example):
    proc = run_cli("list", "--json", env=example.env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    rows = json.loads(proc.stdout)
    mine = {(r["kind"], r["name"]) for r in rows if (r["distribution"], r["version"], r["plugin"]) == (DIST, VERSION, PLUGIN)}
    assert mine == COMPONENTS
    summaries = {r["name"]: r["summary"] for r in rows if r["distribution"] == DIST}
    assert summaries["rel-avg"].startswith("Relativistic average GAN loss")
    plugins = {p["name"]: p for p in json.loads(run_cli("plugins", "--json", env=example.env).stdout)}
    assert plugins[PLUGIN]["status"] == "ok" and plugins[PLUGIN]["distribution"] == DIST
    assert plugins[PLUGIN]["hooks"] == ["ganzoo_register_components", "ganzoo_register_recipes"]


def test_info_reads_parameters_without_importing_torch(example):
    code = ("import sys, json; from ganzoo.cli.commands.info_cmd import lookup; d = lookup('resnet-mlp', 'generator')[0]; "
            "assert 'torch' not in sys.modules; print(json.dumps([p['name'] for p in d['params']]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **example.env})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["latent_dim", "width", "blocks", "layernorm"]


def test_its_generator_trains_with_a_builtin_loss(plugin_run):
    meta = _config(plugin_run)["meta"]["components"]
    assert (meta["generator"]["dist"], meta["generator"]["version"]) == (DIST, VERSION)
    assert meta["discriminator"]["name"] == "resnet-mlp" and meta["loss"][0]["dist"] == "ganzoo"
    assert (plugin_run / "checkpoints").is_dir() and (plugin_run / "metrics.jsonl").is_file()


def test_builtin_generator_trains_with_its_loss(example):
    out = example.base / "run-rel-avg"
    proc = run_cli("run", "--gen", "vanilla", "--loss", "rel-avg", "--dataset", "gaussians", "--steps", "3",
                   "--out", str(out), "-q", env=example.env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    meta = _config(out)["meta"]["components"]
    assert meta["generator"]["dist"] == "ganzoo"
    assert [(t["name"], t["dist"]) for t in meta["loss"]] == [("rel-avg", DIST)]
    assert "rel-avg" in proc.stdout


def test_its_recipe_runs(example):
    out = example.base / "run-recipe"
    proc = run_cli("run", "example-gaussians", "--steps", "3", "--out", str(out), "-q", env=example.env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    config = _config(out)
    assert config["gen"] == {"name": "resnet-mlp", "width": 128, "blocks": 2}
    assert config["loss"]["name"] == "rel-avg"


def test_sample_works_on_its_run(example, plugin_run):
    grid = example.base / "grid.png"
    proc = run_cli("sample", str(plugin_run), "--out", str(grid), "-n", "16", env=example.env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_its_own_tests_pass(example):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=example.source,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **example.env})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b1[0-9] passed\b", proc.stdout), proc.stdout


def test_uninstalling_removes_it(example, plugin_run, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(example.site, site)
    uninstall(site, DIST)
    assert not (site / "ganzoo_example").exists() and not list(site.glob("*.dist-info"))
    env = pythonpath(site)
    proc = run_cli("list", "--json", env=env)
    assert proc.returncode == 0 and proc.stderr == ""
    assert not [r for r in json.loads(proc.stdout) if r["distribution"] == DIST or r["name"] in ("resnet-mlp", "rel-avg")]
    # a run made with it now says which package to install, in one line
    proc = run_cli("sample", str(plugin_run), "--out", str(tmp_path / "x.png"), env=env)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and DIST in proc.stderr


# -- the guide and the example agree ----------------------------------------------------
def _doc_blocks() -> list[tuple[str, list[str]]]:
    """Fenced blocks of docs/plugins.md whose first line is ``# examples/ganzoo-example-plugin/<file>``."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", DOC.read_text(), flags=re.S)
    out = []
    for block in blocks:
        first, *rest = block.splitlines()
        match = re.fullmatch(r"# (examples/ganzoo-example-plugin/\S+)", first.strip())
        if match:
            out.append((match.group(1), rest))
    return out


def test_doc_quotes_the_example_files():
    blocks = _doc_blocks()
    assert {path for path, _ in blocks} >= {
        "examples/ganzoo-example-plugin/pyproject.toml",
        "examples/ganzoo-example-plugin/src/ganzoo_example/__init__.py",
        "examples/ganzoo-example-plugin/src/ganzoo_example/losses.py",
        "examples/ganzoo-example-plugin/src/ganzoo_example/models.py",
        "examples/ganzoo-example-plugin/src/ganzoo_example/registry.toml",
        "examples/ganzoo-example-plugin/tests/test_ganzoo_example.py",
    }
    for path, lines in blocks:
        source = [line.rstrip() for line in (ROOT / path).read_text().splitlines()]
        at = 0
        for line in lines:
            if line.strip() in ("", "...") or line.strip().startswith("..."):
                continue
            try:
                at = source.index(line.rstrip(), at) + 1
            except ValueError:
                pytest.fail(f"docs/plugins.md quotes a line that is not in {path} (or is out of order): {line!r}")


def test_doc_covers_every_hook_and_control():
    import ganzoo.plugin.hookspecs as hookspecs
    from ganzoo.plugin import manager as plugins
    from ganzoo.config import recipes

    text = DOC.read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("ganzoo_")]
    assert len(hooks) == 3
    for needle in [*hooks, plugins.ENV_AUTOLOAD, plugins.ENV_BLOCK, recipes.ENV_REGISTRY, "GANZOO_PLUGIN_API",
                   "--registry", "./registry.toml", "register.toml", "register.recipe", "twine", "ganzoo.testing",
                   "ganzoo new-plugin"]:
        assert needle in text, needle
