"""Pretrained generators: a plugin ships trained weights for its recipe; sample, eval, load and --init find
them by name, after their sha256 is checked; the built-in recipes' files load and match their index."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

import ganzoo
from conftest import ROOT, fit, install_toy, run_cli, tiny, toy_env
from ganzoo.runs.checkpoint import find
from ganzoo.base.errors import CheckpointError, UsageError
from ganzoo.runs.pretrained import export, recorded_metrics, resolve, sha256_file

INDEX = json.loads((ROOT / "plugins" / "pretrained" / "index.json").read_text())


def train(where, **settings):
    cfg = tiny(**settings)
    cfg["out"] = str(where)
    return fit(cfg)


@pytest.fixture
def shipped(tmp_path, monkeypatch, toy):
    """A trained toy run, its generator exported as the toy plugin's pretrained "toy-points"."""
    import ganzoo.plugin.manager as gp

    result = train(tmp_path / "run", steps=8, ema=0.9)
    path = tmp_path / "weights" / "toy-points.safetensors"
    path.parent.mkdir()
    sha = export(find(result.run_dir), path, name="toy-points", metrics={"fd": 1.5})
    monkeypatch.setenv("GANZOO_TOY_WEIGHTS", f"{path}|{sha}")
    gp._STATE.pop("registry", None)  # the plugins register again, the toy one with its weights now
    return result, path, gp.get_registry()


def test_export_keeps_the_ema_generator_alone_in_float16(shipped):
    result, path, _ = shipped
    with safe_open(str(path), "pt") as f:
        keys = list(f.keys())
        assert keys and all(k.startswith("ema.") for k in keys)  # no D, no optimizer state, no raw G
        assert {f.get_tensor(k).dtype for k in keys} == {torch.float16}
    assert recorded_metrics(path) == {"fd": 1.5, "source": "toy-points"}  # named by its recipe, not a path
    run = ganzoo.load(result.run_dir)
    G = ganzoo.load(path)
    assert G.ema and G.pretrained == "toy-points" and run.pretrained is None
    for name, w in G.model.state_dict().items():  # the run's EMA weights, rounded to float16
        assert torch.equal(w, run.model.state_dict()[name].half().float()), name


def test_a_name_finds_the_plugins_weights_for_load_sample_and_list(shipped, tmp_path, monkeypatch):
    from ganzoo.cli.commands.list_cmd import rows
    from ganzoo.cli.commands.sample_cmd import sample_to_file

    _, path, registry = shipped
    assert resolve("toy-points", registry) == path
    assert ganzoo.load("toy-points").sample(5).shape == (5, 2)
    listed = {r["name"]: r for r in rows(None, pretrained=True)}
    assert set(listed) == {"toy-points", *INDEX} and listed["toy-points"]["pretrained"] == "toy"
    assert all(listed[name]["pretrained"] == "recipes" for name in INDEX)
    monkeypatch.chdir(tmp_path)
    drawn = sample_to_file("toy-points", registry=registry)
    # never written into the installed package's folder: a fresh file in the working folder
    assert drawn.out.resolve() == tmp_path / "toy-points-sample-0.png" and drawn.out.exists()
    assert sample_to_file("toy-points", registry=registry).out.name == "toy-points-sample-0-2.png"
    assert not any(p.suffix == ".png" for p in path.parent.iterdir())


def test_a_damaged_or_missing_file_is_refused_in_one_line(shipped):
    _, path, registry = shipped
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"has sha256 .* the plugin registered"):
        resolve("toy-points", registry)
    path.unlink()
    with pytest.raises(CheckpointError, match="is missing"):
        ganzoo.load("toy-points")
    with pytest.raises(UsageError, match=r"pretrained: .*toy-points"):
        resolve("toy-pionts", registry)


def test_weights_for_a_recipe_the_plugin_does_not_own_are_refused_whole(tmp_path, add_plugin):
    class Thief:
        @ganzoo.hookimpl
        def ganzoo_register_recipes(self, register):
            register.recipe("thief-recipe", {"gen": {"name": "dcgan"}})
            register.pretrained("dcgan-mnist", tmp_path / "x.safetensors", sha256="0" * 64)

    registry = add_plugin(Thief(), "thief")
    assert "thief-recipe" not in registry.names("recipe")  # the plugin counts whole or not at all
    assert registry.pretrained("dcgan-mnist") is None or registry.pretrained("dcgan-mnist").plugin.name != "thief"


def test_init_starts_the_generator_and_its_ema_from_the_weights(shipped, tmp_path):
    start = ganzoo.load("toy-points").model.state_dict()
    # lr so small that one Adam step moves no weight by more than ~1e-9: what is left is where G started
    tuned = train(tmp_path / "tuned", steps=1, ema=0.9, lr=1e-9, init="toy-points", seed=5)
    fresh = train(tmp_path / "fresh", steps=1, ema=0.9, lr=1e-9, seed=5)
    for run, started_there in ((tuned, True), (fresh, False)):
        for section in ("generator", "ema"):
            from ganzoo.runs.checkpoint import load

            state = load(find(run.run_dir)).section(section)
            close = all(torch.allclose(state[k], v, atol=1e-6) for k, v in start.items())
            assert close == started_there, (section, started_there)
    meta = load(find(tuned.run_dir)).meta
    assert meta["init"]["from"] == "toy-points" and meta["init"]["pretrained"]["name"] == "toy-points"


def test_init_from_another_generator_is_one_line(shipped, tmp_path):
    cfg = tiny(steps=1, init="toy-points")
    cfg["gen"], cfg["out"] = {"name": "vanilla", "hidden": [8]}, str(tmp_path / "other")
    with pytest.raises(CheckpointError, match="its generator is 'toy-mlp', this run builds 'vanilla'"):
        fit(cfg)
    assert not (tmp_path / "other" / "checkpoints").exists()


def test_a_third_party_plugins_weights_from_the_command_line(tmp_path, toy):
    """The user's view: an installed plugin's pretrained recipe in `list --pretrained`, sampled by name."""
    result = train(tmp_path / "run", steps=4)
    path = tmp_path / "toy-points.safetensors"
    sha = export(find(result.run_dir), path, name="toy-points")
    env = {**toy_env(install_toy(tmp_path / "site")), "GANZOO_TOY_WEIGHTS": f"{path}|{sha}"}
    listed = run_cli("list", "--pretrained", "--json", env=env)
    names = [r["name"] for r in json.loads(listed.stdout)]
    assert "toy-points" in names and set(names) == {"toy-points", *INDEX}
    proc = run_cli("sample", "toy-points", "--out", str(tmp_path / "pts.png"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "pts.png").stat().st_size > 0
    bad = run_cli("sample", "toy-pionts", env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "toy-points" in bad.stderr


# -- the weights ganzoo itself ships ------------------------------------------------------------------------

@pytest.mark.parametrize("recipe", sorted(INDEX))
def test_every_shipped_file_matches_its_digest_and_loads(recipe):
    entry = INDEX[recipe]
    path = ROOT / "plugins" / "pretrained" / entry["file"]
    assert sha256_file(path) == entry["sha256"]
    G = ganzoo.load(recipe)
    assert G.pretrained == recipe and G.config.recipe == recipe
    assert recorded_metrics(path)  # the evaluation it was measured with travels with it
    if not G.translates:
        x = G.sample(4)
        assert torch.isfinite(x).all()


def test_every_recipe_on_bundled_data_ships_its_generator():
    from ganzoo.plugin.manager import get_registry

    registry = get_registry()
    bundled = {r.name for r in registry.recipes() if r.plugin is not None and r.plugin.name == "recipes"
               and r.component("dataset") not in ("folder", "paired-folder", "unpaired-folder", "mnist",
                                                  "fashion-mnist", "cifar10")}
    missing = sorted(bundled - set(INDEX))
    assert not missing, f"run benchmarks/zoo.py --recipes {' '.join(missing)}"


ZOO = json.loads((ROOT / "docs" / "zoo" / "results.json").read_text())


@pytest.mark.parametrize("recipe", sorted(INDEX))
def test_the_zoo_row_is_the_evaluation_of_the_shipped_file(recipe):
    """docs/zoo.md's row of a recipe was measured on the very file it ships, and the file says so."""
    row = ZOO[recipe]
    assert row["pretrained"]["sha256"] == INDEX[recipe]["sha256"]
    recorded = recorded_metrics(ROOT / "plugins" / "pretrained" / INDEX[recipe]["file"])
    assert {k: v for k, v in recorded.items() if k != "notes"} == {k: v for k, v in row["metrics"].items()
                                                                   if k != "notes"}


@pytest.mark.parametrize("recipe", [r for r in ("vanilla-gaussians", "dcgan-mnist") if r in INDEX])
def test_ganzoo_eval_of_a_pretrained_name_reproduces_its_zoo_row(recipe):
    """What a user gets right after install: `ganzoo eval RECIPE` gives the docs' numbers."""
    row = ZOO[recipe]["metrics"]
    proc = run_cli("eval", recipe, "--num", str(row["num"]), "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for key in ("fd", "fd_floor"):
        assert got.get(key) == pytest.approx(row.get(key), rel=1e-4, abs=1e-6), key
    # Shares of samples inside a k-NN radius: distances computed by another CPU's BLAS kernels differ in their
    # last bits, and a sample on the boundary flips. Up to 5 of the row's samples may (the same weights and
    # latents give the same FD above to 4 digits; other weights move these by far more than 5 samples).
    for key in ("precision", "recall", "memorized"):
        assert got.get(key) == pytest.approx(row.get(key), abs=5 / row["num"] + 1e-9), key
