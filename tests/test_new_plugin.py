"""`ganzoo new-plugin`: the skeleton installs, shows up in `ganzoo list`, trains, and passes its own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import install, pythonpath, run_cli
from ganzoo.errors import UsageError
from ganzoo.scaffold import PluginNames, new_plugin, render

DIST = "ganzoo-acme-gans"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    base = tmp_path_factory.mktemp("new-plugin")
    proc = run_cli("new-plugin", "acme-gans", "--dir", str(base))
    assert proc.returncode == 0, proc.stderr
    project = base / DIST
    site = base / "site"
    source = install(project, site)
    return SimpleNamespace(base=base, project=project, source=source, site=site, env=pythonpath(site),
                           stdout=proc.stdout)


def test_writes_a_complete_package(generated):
    files = sorted(str(p.relative_to(generated.project)) for p in generated.project.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "src/ganzoo_acme_gans/__init__.py",
                     "src/ganzoo_acme_gans/algorithm.py", "src/ganzoo_acme_gans/logger.py",
                     "src/ganzoo_acme_gans/losses.py", "src/ganzoo_acme_gans/metric.py",
                     "src/ganzoo_acme_gans/models.py", "src/ganzoo_acme_gans/trained.py",
                     "tests/test_ganzoo_acme_gans.py"]
    pyproject = (generated.project / "pyproject.toml").read_text()
    assert '[project.entry-points.ganzoo]\nacme-gans = "ganzoo_acme_gans"' in pyproject
    assert "pip install -e" in generated.stdout and "python -m pytest" in generated.stdout


def test_installed_skeleton_is_listed(generated):
    proc = run_cli("list", "--json", env=generated.env)
    assert proc.returncode == 0, proc.stderr
    mine = {(r["kind"], r["name"]) for r in json.loads(proc.stdout)
            if (r["distribution"], r["version"], r["plugin"]) == (DIST, "0.1.0", "acme-gans")}
    assert mine == {("generator", "acme-gans-mlp"), ("discriminator", "acme-gans-mlp"),
                    ("loss", "acme-gans-smooth-bce"), ("recipe", "acme-gans-gaussians"),
                    ("logger", "acme-gans-csv"), ("algorithm", "acme-gans-alternating"),
                    ("metric", "acme-gans-spread"), ("recipe", "acme-gans-alternating-gaussians")}
    assert proc.stderr == ""


def test_generated_tests_pass_as_generated(generated):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=generated.source,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **generated.env})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # a check per component (generator, discriminator, loss, logger, algorithm, metric, two recipes), the loss
    # test and the algorithm's own sampling option
    assert "10 passed" in proc.stdout


def test_generated_recipe_trains(generated):
    out = generated.base / "run"
    proc = run_cli("run", "acme-gans-gaussians", "--steps", "2", "--out", str(out), "-q", env=generated.env)
    assert proc.returncode == 0, proc.stderr
    assert (out / "checkpoints").is_dir()


def test_refuses_to_overwrite_an_existing_folder(tmp_path):
    target = tmp_path / "ganzoo-acme"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    proc = run_cli("new-plugin", "acme", "--dir", str(tmp_path))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "already exists" in lines[0] and "Traceback" not in proc.stderr
    assert [p.name for p in target.iterdir()] == ["keep.txt"] and (target / "keep.txt").read_text() == "mine"


def test_invalid_name_exits_2_with_one_line(tmp_path):
    proc = run_cli("new-plugin", "Acme_GAN", "--dir", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "invalid plugin name" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["Acme", "acme_gans", "-acme", "acme--x", "acme-", "ganzoo", "ganzoo-", "9lives", ""])
def test_names_are_validated(tmp_path, name):
    with pytest.raises(UsageError, match="invalid plugin name"):
        new_plugin(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_entry_point_name_already_taken(tmp_path):
    with pytest.raises(UsageError, match=r"'dcgan' is already used by ganzoo 0\.1\.0"):
        new_plugin("dcgan", tmp_path)


def test_ganzoo_prefix_is_not_doubled():
    assert PluginNames.parse("ganzoo-acme") == PluginNames("acme", "ganzoo-acme", "ganzoo_acme")
    assert PluginNames.parse("acme-gans") == PluginNames("acme-gans", "ganzoo-acme-gans", "ganzoo_acme_gans")


def test_templates_render_to_valid_torch_free_registration():
    files = render(PluginNames.parse("zeta"))
    for path, text in files.items():
        assert "__NAME__" not in text and "__MODULE__" not in text and "__DIST__" not in text, path
        if path.endswith(".py"):
            compile(text, path, "exec")
    init = files["src/ganzoo_zeta/__init__.py"]
    assert "import torch" not in init and "from torch" not in init
