"""A plugin counts whole or not at all: half-registered, exiting and failing plugins, and the plugin controls."""

from __future__ import annotations

import json

import pytest

import ganzoo.plugin.manager as gp
from conftest import run_cli
from ganzoo.base.errors import ConfigError
from test_plugins import GOOD, install_tiny

# Registers a generator, then fails before its discriminator: nothing of it may remain.
HALF = GOOD.replace('    register.discriminator("tiny-gen"', '    raise RuntimeError("half-way")\n'
                    '    register.discriminator("tiny-gen"')


def test_hook_raising_half_way_leaves_nothing_registered(dist_site, capsys):
    install_tiny(dist_site, init=HALF)
    registry = gp.get_registry()
    record = gp.get_plugins().records["tiny"]
    assert not record.ok and "half-way" in record.error
    assert not registry.has("generator", "tiny-gen")
    assert record.components == 0
    # and its recipe hook is not called either: the recipe would name a generator that is not there
    assert "tiny-gaussians" not in registry.names("recipe")
    assert registry.has("generator", "dcgan")


def test_failing_recipe_hook_takes_the_plugins_components_with_it(dist_site):
    broken = GOOD.replace('    register.recipe("tiny-gaussians"', '    raise ValueError("no recipes")\n'
                          '    register.recipe("tiny-gaussians"')
    install_tiny(dist_site, init=broken)
    registry = gp.get_registry()
    assert not gp.get_plugins().records["tiny"].ok
    assert not registry.has("generator", "tiny-gen") and not registry.has("discriminator", "tiny-gen")


def test_duplicate_inside_one_plugin_is_caught_before_commit(dist_site):
    twice = GOOD.replace('register.discriminator("tiny-gen", "tinyplug.models:TinyDisc")',
                         'register.discriminator("tiny-gen", "tinyplug.models:TinyDisc")\n'
                         '    register.generator("tiny-gen", "tinyplug.models:TinyGen")')
    install_tiny(dist_site, init=twice)
    registry = gp.get_registry()
    assert "already registered by plugin 'tiny'" in gp.get_plugins().records["tiny"].error
    assert not registry.has("discriminator", "tiny-gen")


@pytest.mark.parametrize("init", [
    "import sys\nsys.exit(3)\n",
    GOOD.replace('    register.generator("tiny-gen"', '    raise SystemExit(7)\n    register.generator("tiny-gen"'),
], ids=["exit-at-import", "exit-in-hook"])
def test_system_exit_in_a_plugin_is_isolated(dist_site, init):
    install_tiny(dist_site, init=init)
    proc = run_cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "'tiny'" in lines[0] and "SystemExit" in lines[0], proc.stderr
    names = {r["name"] for r in json.loads(proc.stdout)}
    assert "dcgan" in names and "tiny-gen" not in names


def test_system_exit_in_a_command_hook_is_isolated(dist_site):
    init = GOOD + '\n@hookimpl\ndef ganzoo_register_commands(cli):\n    raise SystemExit(5)\n'
    install_tiny(dist_site, init=init)
    proc = run_cli("--help")  # listing the commands calls every plugin's command hook
    assert proc.returncode == 0, proc.stderr
    assert "sample" in proc.stdout and "Traceback" not in proc.stderr
    assert "'tiny'" in proc.stderr and "SystemExit(5)" in proc.stderr


@pytest.mark.parametrize("value", ["on", "TRUE", "1"])
def test_autoload_on_values_keep_builtins(dist_site, monkeypatch, capsys, value):
    install_tiny(dist_site)
    monkeypatch.setenv(gp.ENV_AUTOLOAD, value)
    registry = gp.get_registry()
    assert registry.has("generator", "dcgan") and not registry.has("generator", "tiny-gen")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("value", ["2", "*"])
def test_unknown_autoload_value_warns_and_keeps_builtins(dist_site, monkeypatch, capsys, value):
    install_tiny(dist_site)
    monkeypatch.setenv(gp.ENV_AUTOLOAD, value)
    registry = gp.get_registry()
    assert registry.has("generator", "dcgan"), "the built-ins must still load"
    assert not registry.has("generator", "tiny-gen")
    err = capsys.readouterr().err
    assert gp.ENV_AUTOLOAD in err and repr(value) in err


def test_autoload_list_naming_no_plugin_warns(dist_site, monkeypatch, capsys):
    install_tiny(dist_site)
    monkeypatch.setenv(gp.ENV_AUTOLOAD, "tiny,nosuch-plugin")
    gp.get_registry()
    err = capsys.readouterr().err
    assert "'nosuch-plugin'" in err and gp.ENV_AUTOLOAD in err


def test_why_unavailable_says_blocked_failed_disabled_or_install(dist_site, monkeypatch):
    install_tiny(dist_site)
    monkeypatch.setenv(gp.ENV_BLOCK, "tiny")
    assert gp.ENV_BLOCK in gp.get_plugins().why_unavailable("tiny", "ganzoo-tiny")
    gp.reset()
    monkeypatch.delenv(gp.ENV_BLOCK)
    monkeypatch.setenv(gp.ENV_AUTOLOAD, "1")
    assert gp.ENV_AUTOLOAD in gp.get_plugins().why_unavailable("tiny", "ganzoo-tiny")
    gp.reset()
    monkeypatch.delenv(gp.ENV_AUTOLOAD)
    hint = gp.get_plugins().why_unavailable("gone", "ganzoo-gone")
    assert hint == "install it: pip install ganzoo-gone" and "((" not in hint


def test_broken_user_recipe_file_fails_recipe_lookups_only(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "registry.toml"
    bad.write_bytes(b"[recipes.mine\n")
    monkeypatch.chdir(tmp_path)
    registry = gp.get_registry()
    assert capsys.readouterr().err == ""  # nothing to say until a recipe is read
    assert registry.get("generator", "dcgan").name == "dcgan"  # sampling a run needs only components
    with pytest.raises(ConfigError, match=r"registry\.toml"):
        registry.recipe("dcgan-mnist")
    with pytest.raises(ConfigError):
        _ = registry.default_recipe
