"""The wheel a user installs: packages, the catalogue and the bundled data are inside it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = set()
    for init in list((ROOT / "ganzoo").rglob("__init__.py")) + list((ROOT / "plugins").rglob("__init__.py")):
        rel = init.parent.relative_to(ROOT).parts
        name = ".".join(("ganzoo_plugins",) + rel[1:]) if rel[0] == "plugins" else ".".join(rel)
        found.add(name)
    assert found <= listed, f"add to pyproject's packages: {sorted(found - listed)}"


def test_builtin_entry_points_point_into_ganzoo_plugins():
    eps = _pyproject()["project"]["entry-points"]["ganzoo"]
    assert eps and all(v.startswith("ganzoo_plugins.") for v in eps.values())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--no-index", "-q", "-w", str(out), str(ROOT)], capture_output=True, text=True)
    if proc.returncode != 0 and "No module named" in proc.stderr:
        pytest.skip("setuptools/wheel not installed (pip install -e '.[test]')")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return next(out.glob("ganzoo-*.whl"))


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "ganzoo_plugins/registry.toml" in names
    assert "ganzoo_plugins/datasets/data/t10k-images-idx3-ubyte.gz" in names
    assert "ganzoo_plugins/datasets/data/README.md" in names
    assert "ganzoo_plugins/datasets/data/mnist-10k-classifier.safetensors" in names
    for page in ("index.html", "explore.js", "explore.css"):  # `ganzoo explore`'s page is package data
        assert f"ganzoo/explore/static/{page}" in names
    assert not any(n.startswith("plugins/") for n in names), "plugins/ must install as ganzoo_plugins"
    assert not any(n.startswith("tests/") for n in names)
    catalogue = zipfile.ZipFile(wheel).read("ganzoo_plugins/registry.toml").decode()
    assert catalogue == (ROOT / "registry.toml").read_text(), "the wheel must carry the catalogue itself, not a link"
    ep = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(ep).decode()
    assert "[ganzoo]" in text and "ganzoo_plugins.recipes" in text


def test_installed_wheel_lists_recipes_from_its_own_catalogue(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)
    env_code = (f"import sys; sys.path.insert(0, {str(site)!r}); "
                "from ganzoo.cli import main; main(['info', 'improved-dcgan-mnist', '--json'])")
    proc = subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert str(site) in proc.stdout and '"default": true' in proc.stdout


def test_the_wheel_carries_every_pretrained_file_within_the_budget(wheel):
    import json

    archive = zipfile.ZipFile(wheel)
    index = json.loads((ROOT / "plugins" / "pretrained" / "index.json").read_text())
    assert json.loads(archive.read("ganzoo_plugins/pretrained/index.json")) == index
    shipped = {n for n in archive.namelist() if n.startswith("ganzoo_plugins/pretrained/") and n.endswith(".safetensors")}
    assert shipped == {f"ganzoo_plugins/pretrained/{e['file']}" for e in index.values()}
    # the budget: the weights add at most 20 MB to the wheel (compressed, as pip downloads it)
    assert sum(archive.getinfo(n).compress_size for n in shipped) <= 20 * 10**6
