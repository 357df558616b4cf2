"""Discovery through entry points, plugin controls, and broken plugins."""

from __future__ import annotations

import json
import textwrap


import ganzoo.plugin.manager as gp
from conftest import make_dist, run_cli

GOOD = textwrap.dedent('''
    """A third-party plugin used by the tests."""
    from ganzoo import hookimpl

    @hookimpl
    def ganzoo_register_components(register):
        register.generator("tiny-gen", "tinyplug.models:TinyGen")
        register.discriminator("tiny-gen", "tinyplug.models:TinyDisc")

    @hookimpl
    def ganzoo_register_recipes(register):
        register.recipe("tiny-gaussians", {
            "gen": {"name": "tiny-gen"}, "loss": {"name": "bce"},
            "dataset": {"name": "gaussians"}}, doc="A tiny recipe.")
''')

MODELS = textwrap.dedent('''
    import torch
    from torch import nn
    from ganzoo.components.interfaces import Discriminator, Generator

    class TinyGen(Generator):
        """A one-layer generator from a third party.

        Second paragraph of help.
        """

        def __init__(self, data, latent_dim: int = 100, width: int = 8):
            super().__init__(data, latent_dim)
            self.net = nn.Linear(latent_dim, data.numel)

        def forward(self, z, labels=None):
            return self.net(z).view(len(z), *self.data.shape)

    class TinyDisc(Discriminator):
        """A one-layer discriminator from a third party."""

        def __init__(self, data):
            super().__init__(data)
            self.net = nn.Linear(data.numel, 1)

        def forward(self, x, labels=None):
            return self.net(x.flatten(1)).view(-1)
''')


def install_tiny(site, **kw):
    modules = {"tinyplug/__init__.py": kw.get("init", GOOD), "tinyplug/models.py": MODELS}
    return make_dist(site, kw.get("dist", "ganzoo-tiny"), "1.2.3", modules, {kw.get("ep", "tiny"): "tinyplug"})


def test_builtins_come_from_ganzoo_entry_points():
    plugins = gp.get_plugins()
    builtin = {r.name: r for r in plugins.records.values() if r.dist == "ganzoo"}
    assert builtin, "no built-in plugin was found through entry points"
    assert all(r.ok for r in builtin.values()), [r.error for r in builtin.values() if not r.ok]
    assert all(r.module.startswith("ganzoo_plugins") for r in builtin.values())
    registry = gp.get_registry()
    for spec in registry.components():
        assert spec.plugin.name in builtin or spec.plugin.dist != "ganzoo"


def test_core_names_no_builtin():
    """The core never names a built-in plugin module: they arrive only via entry points."""
    from pathlib import Path

    core = Path(gp.__file__).parent
    offenders = [p.name for p in core.rglob("*.py") if "ganzoo_plugins" in p.read_text()]
    assert offenders == []


def test_third_party_distribution_is_listed_and_buildable(dist_site):
    install_tiny(dist_site)
    registry = gp.get_registry()
    spec = registry.get("generator", "tiny-gen")
    assert (spec.plugin.dist, spec.plugin.version) == ("ganzoo-tiny", "1.2.3")
    assert spec.summary == "A one-layer generator from a third party."
    assert [p.name for p in spec.params] == ["latent_dim", "width"]
    assert "tiny-gaussians" in registry.names("recipe")
    from ganzoo.components.build import build_generator
    from ganzoo.base.specs import DataInfo

    g = build_generator("tiny-gen", DataInfo((2,), None, 10, "points"), latent_dim=4)
    assert g(g.sample_latent(3)).shape == (3, 2)


def test_third_party_in_list_json_subprocess(dist_site):
    install_tiny(dist_site)
    proc = run_cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(proc.stdout)}
    row = rows[("generator", "tiny-gen")]
    assert (row["distribution"], row["version"], row["plugin"]) == ("ganzoo-tiny", "1.2.3", "tiny")
    assert row["summary"] == "A one-layer generator from a third party."
    assert rows[("recipe", "tiny-gaussians")]["distribution"] == "ganzoo-tiny"


def test_plugin_raising_on_import_is_reported_and_skipped(dist_site):
    install_tiny(dist_site, init="raise RuntimeError('boom at import')\n")
    proc = run_cli("list", "--json")
    assert proc.returncode == 0
    assert "tiny" in proc.stderr and "boom at import" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1
    assert "Traceback" not in proc.stderr
    names = {r["name"] for r in json.loads(proc.stdout)}
    assert "bce" in names and "tiny-gen" not in names
    plugins = json.loads(run_cli("plugins", "--json").stdout)
    failed = [p for p in plugins if p["status"] == "failed"]
    assert [p["name"] for p in failed] == ["tiny"]
    assert "boom at import" in failed[0]["error"] and failed[0]["distribution"] == "ganzoo-tiny"


def test_hook_that_raises_is_reported_and_others_work(dist_site, capsys):
    install_tiny(dist_site, init=GOOD.replace('register.generator("tiny-gen"', 'register.oops("tiny-gen"'))
    registry = gp.get_registry()
    record = gp.get_plugins().records["tiny"]
    assert not record.ok and "oops" in record.error
    assert registry.has("loss", "bce")
    assert "tiny" in capsys.readouterr().err


def test_misspelled_hook_is_reported(dist_site):
    install_tiny(dist_site, init=GOOD.replace("def ganzoo_register_components", "def ganzoo_register_component"))
    gp.get_registry()
    record = gp.get_plugins().records["tiny"]
    assert not record.ok
    assert "ganzoo_register_component" in record.error and "did you mean ganzoo_register_components" in record.error


def test_incompatible_plugin_api_is_skipped(dist_site):
    install_tiny(dist_site, init="GANZOO_PLUGIN_API = 99\n" + GOOD)
    registry = gp.get_registry()
    record = gp.get_plugins().records["tiny"]
    assert not record.ok and "API 99" in record.error and f"API {gp.PLUGIN_API}" in record.error
    assert not registry.has("generator", "tiny-gen")


def test_duplicate_name_names_both_plugins(dist_site):
    clash = GOOD.replace('register.generator("tiny-gen"', 'register.generator("dcgan"')
    install_tiny(dist_site, init=clash)
    registry = gp.get_registry()
    record = gp.get_plugins().records["tiny"]
    assert not record.ok
    assert "'dcgan'" in record.error and "ganzoo-tiny 1.2.3" in record.error and "ganzoo 0.1.0" in record.error
    assert registry.get("generator", "dcgan").plugin.dist == "ganzoo"


def test_autoload_off_keeps_builtins_only(dist_site, monkeypatch):
    install_tiny(dist_site)
    monkeypatch.setenv(gp.ENV_AUTOLOAD, "1")
    registry = gp.get_registry()
    assert registry.has("loss", "bce") and not registry.has("generator", "tiny-gen")


def test_autoload_list_loads_exactly_named(dist_site, monkeypatch):
    install_tiny(dist_site)
    monkeypatch.setenv(gp.ENV_AUTOLOAD, "tiny,adversarial-losses")
    plugins = gp.get_plugins()
    assert set(plugins.records) == {"tiny", "adversarial-losses"}


def test_block_plugins(dist_site, monkeypatch):
    install_tiny(dist_site)
    monkeypatch.setenv(gp.ENV_BLOCK, "tiny, norm-losses")
    registry = gp.get_registry()
    assert not registry.has("generator", "tiny-gen") and not registry.has("loss", "l1")
    assert registry.has("loss", "bce")


def test_register_commands_hook(dist_site):
    init = GOOD + textwrap.dedent('''
        import click

        @hookimpl
        def ganzoo_register_commands(cli):
            @cli.command()
            def hello():
                """Say hello from a plugin."""
                click.echo("hello from tiny")
    ''')
    install_tiny(dist_site, init=init)
    proc = run_cli("hello")
    assert proc.returncode == 0 and proc.stdout.strip() == "hello from tiny"
    assert "hello" in run_cli("--help").stdout


def test_builtins_win_a_clash_whatever_the_distribution_name(dist_site):
    clash = GOOD.replace('register.generator("tiny-gen"', 'register.generator("dcgan"')
    install_tiny(dist_site, init=clash, dist="aaa-gans")  # sorts before "ganzoo"
    registry = gp.get_registry()
    assert registry.get("generator", "dcgan").plugin.dist == "ganzoo"
    assert gp.get_plugins().records["dcgan"].ok
    assert "aaa-gans" in gp.get_plugins().records["tiny"].error


def test_taken_entry_point_name_is_reported(dist_site, capsys):
    install_tiny(dist_site, ep="dcgan")
    gp.get_plugins()
    err = capsys.readouterr().err
    assert "'dcgan'" in err and "ganzoo-tiny" in err and "already used by ganzoo" in err
    assert gp.get_plugins().records["dcgan"].dist == "ganzoo"
