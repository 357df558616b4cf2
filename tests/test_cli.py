"""The command line as a user meets it: output, exit codes, stderr, start-up cost."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli, run_light

@pytest.mark.parametrize("args", [["--help"], ["list"], ["list", "--json"], ["info", "dcgan"],
                                  ["info", "bce+0.5*l1"], ["plugins"], ["run", "--help"]])
def test_light_commands_do_not_import_torch(args):
    run_light(args, ("torch", "torchvision", "numpy", "PIL"))


def test_list_shows_every_kind_and_recipes():
    proc = run_cli("list")
    assert proc.returncode == 0, proc.stderr
    for word in ("generator", "discriminator", "loss", "dataset", "recipe", "improved-dcgan-mnist (default)"):
        assert word in proc.stdout
    assert proc.stderr == ""


def test_list_json_fields_and_kind_filter():
    rows = json.loads(run_cli("list", "--json", "--kind", "loss").stdout)
    assert rows and {r["kind"] for r in rows} == {"loss"}
    for row in rows:
        assert {"kind", "name", "plugin", "distribution", "version", "summary", "role"} <= set(row)
        assert row["summary"], row
    assert {r["name"] for r in rows} >= {"bce", "minimax", "lsgan", "hinge", "wgan-gp", "l1", "l2", "r1"}


def test_python_dash_m_matches_console_script():
    assert run_cli("--version").stdout.strip().startswith("ganzoo, version ")


def test_info_component_shows_doc_params_and_plugin():
    entries = json.loads(run_cli("info", "dcgan", "--kind", "generator", "--json").stdout)
    assert entries["plugin"] == "dcgan" and entries["distribution"] == "ganzoo"
    assert entries["doc"] and "ngf" in {p["name"] for p in entries["params"]}
    text = run_cli("info", "dcgan").stdout
    assert "generator" in text and "discriminator" in text and "ngf" in text


def test_info_recipe_shows_composition():
    entry = json.loads(run_cli("info", "improved-dcgan-mnist", "--json").stdout)
    assert entry["kind"] == "recipe" and entry["default"] is True
    assert entry["config"]["gen"]["name"] == "dcgan" and entry["config"]["disc"]["minibatch_features"] == 100
    assert json.loads(run_cli("info", "dcgan-mnist", "--json").stdout)["default"] is False


def test_info_weighted_single_term_is_a_spec():
    entry = json.loads(run_cli("info", "2*lsgan", "--json").stdout)
    assert entry["kind"] == "loss-spec" and [(t["name"], t["weight"]) for t in entry["terms"]] == [("lsgan", 2.0)]


def test_info_composed_loss_spec():
    entry = json.loads(run_cli("info", "bce + 0.5*l1", "--json").stdout)
    assert [(t["name"], t["weight"], t["role"]) for t in entry["terms"]] == [
        ("bce", 1.0, "adversarial"), ("l1", 0.5, "regularizer")]


@pytest.mark.parametrize("args,needle", [
    (["info", "nosuch"], "unknown component or recipe 'nosuch'"),
    (["info", "dcgann"], "did you mean dcgan?"),
    (["info", "bce+l1x"], "did you mean l1?"),
    (["info", "l1+l2"], "no adversarial term"),
    (["info", "bce+hinge"], "two adversarial terms"),
    (["info", "bce+x*l1"], "malformed weight 'x'"),
    (["info", "bce+1_0*l1"], "malformed weight '1_0'"),
    (["info", "DCGAN"], "unknown component or recipe 'DCGAN' (did you mean dcgan?)"),
    (["info", "bce+BCE"], "names are lowercase: did you mean bce?"),
    (["info", "dcgan", "--kind", "loss"], "'dcgan' is a generator and a discriminator, not a loss"),
    (["info", "bce", "--kind", "generator"], "'bce' is a loss, not a generator"),
    (["lsit"], "did you mean list?"),
])
def test_user_errors_are_one_line_exit_2(args, needle):
    proc = run_cli(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_malformed_user_registry_is_one_line(tmp_path):
    bad = tmp_path / "registry.toml"
    bad.write_text("[recipes.x]\ngen = \n")
    proc = run_cli("list", env={"GANZOO_REGISTRY": str(bad)})
    assert proc.returncode == 2
    assert f"{bad}:2:" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
