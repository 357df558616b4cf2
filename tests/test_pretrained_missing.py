"""A plugin whose pretrained file is not there yet (issue 24, item 3): the registration is reported in one warning
line (also in `ganzoo plugins`) and skipped alone; the plugin's components and recipes stay, and `ganzoo sample
NAME` says the file is missing. A plugin can be developed before its weights exist."""

from __future__ import annotations

import json

import pytest

from conftest import make_dist, run_cli
from ganzoo import hookimpl
from ganzoo.base.errors import CheckpointError
from ganzoo.runs.pretrained import resolve

RECIPE = {"gen": {"name": "toy-mlp"}, "loss": {"name": "toy-bce"}, "dataset": {"name": "toy-blobs"}}


class Early:
    """A plugin that registers the weights of its recipe before they were trained and exported."""

    def __init__(self, path, sha256):
        self.path, self.sha256 = path, sha256

    @hookimpl
    def ganzoo_register_components(self, register):
        register.generator("acme-early", "ganzoo_toy:ToyGen")

    @hookimpl
    def ganzoo_register_recipes(self, register):
        register.recipe("acme-early", RECIPE, doc="Trained later.")
        register.pretrained("acme-early", self.path, sha256=self.sha256)


@pytest.mark.parametrize("sha256", ["0" * 64, ""], ids=["digest", "no-digest-yet"])
def test_a_missing_pretrained_file_skips_that_registration_alone(add_plugin, tmp_path, capsys, sha256):
    import ganzoo.plugin.manager as gp

    missing = tmp_path / "pretrained" / "acme-early.safetensors"
    registry = add_plugin(Early(missing, sha256), "early")
    record = gp.get_plugins().records["early"]
    assert record.ok, record.error  # the plugin stays: its generator and recipe are there
    assert registry.has("generator", "acme-early") and "acme-early" in registry.names("recipe")
    assert registry.pretrained("acme-early") is None and registry.all_pretrained() == [
        w for w in registry.all_pretrained() if w.name != "acme-early"]
    assert len(record.warnings) == 1 and str(missing) in record.warnings[0], record.warnings
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "acme-early" in line]
    assert len(said) == 1 and said[0].startswith("warning: plugin 'early'"), err  # said once, in one line
    with pytest.raises(CheckpointError, match=r"pretrained 'acme-early' from plugin 'early': .* is missing"):
        resolve("acme-early", registry)


def test_ganzoo_plugins_and_sample_say_the_file_is_missing(dist_site, tmp_path):
    toy = (__import__("conftest").TOY_FILE).read_text()
    missing = tmp_path / "acme-early.safetensors"
    make_dist(dist_site, "ganzoo-early", "0.1", {
        "ganzoo_toy.py": toy,
        "ganzoo_early.py": (
            "from ganzoo import hookimpl\n\n"
            "@hookimpl\ndef ganzoo_register_recipes(register):\n"
            f"    register.recipe('acme-early', {RECIPE!r})\n"
            f"    register.pretrained('acme-early', {str(missing)!r}, sha256='{'0' * 64}')\n")},
        {"early": "ganzoo_early", "toy": "ganzoo_toy"})
    listed = run_cli("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    early = next(p for p in json.loads(listed.stdout) if p["name"] == "early")
    assert early["status"] == "ok" and early["recipes"] == 1
    assert len(early["warnings"]) == 1 and "acme-early" in early["warnings"][0]
    table = run_cli("plugins")
    assert "acme-early" in table.stdout and "missing" in table.stdout, table.stdout
    sample = run_cli("sample", "acme-early", "--out", str(tmp_path / "x.png"))
    assert sample.returncode == 4, sample.stderr
    assert "is missing" in sample.stderr and str(missing) in sample.stderr, sample.stderr
