"""The run config: layers, merge rules, --set parsing, validation and the TOML writer (no torch needed)."""

from __future__ import annotations

import math
import tomllib

import pytest

from ganzoo.config.settings import TRAIN_DEFAULTS
from ganzoo.config.runconfig import RunConfig, config_toml, finalize, read_run_config, resolve
from ganzoo.config.tomlwriter import dumps_toml
from ganzoo.config.layers import merge, parse_sets, parse_value
from ganzoo.base.errors import ConfigError, UnknownNameError, UsageError
from ganzoo.plugin.registry import Registry
from ganzoo.base.specs import RecipeSpec


@pytest.fixture
def registry():
    reg = Registry()
    reg.add_recipe(RecipeSpec("base", {
        "gen": {"name": "dcgan", "ngf": 32}, "disc": {"name": "dcgan", "ndf": 32},
        "loss": {"name": "wgan-gp", "wgan-gp": {"gp_weight": 10}},
        "dataset": {"name": "mnist-10k", "image_size": 32},
        "train": {"epochs": 5, "batch_size": 64},
    }, "test"))
    reg.add_recipe(RecipeSpec("other", {"gen": {"name": "vanilla"}, "loss": {"name": "bce"},
                                        "dataset": {"name": "gaussians"}, "train": {"steps": 100}}, "test"))
    reg.set_default("base", "test")
    return reg


def test_defaults_fill_train(registry):
    cfg = resolve("other", recipes=registry)
    assert cfg.disc == {"name": "vanilla"}  # disc defaults to the generator's name
    assert cfg.train == {**TRAIN_DEFAULTS, "steps": 100}
    assert cfg.train["lr"] == 2e-4 and cfg.train["betas"] == [0.5, 0.999] and cfg.train["latent_dim"] == 100
    assert cfg.recipe == "other"


def test_no_recipe_uses_the_default(registry):
    cfg = resolve(recipes=registry)
    assert cfg.recipe == "base" and cfg.gen == {"name": "dcgan", "ngf": 32} and cfg.train["epochs"] == 5


def test_layer_order_recipe_file_flags_set(registry, tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('recipe = "base"\n[train]\nbatch_size = 16\nlr = 1e-3\nseed = 3\n[gen]\nngf = 8\n')
    cfg = resolve(config_file=f, flags={"train": {"lr": 5e-4, "seed": 4}}, sets=["train.seed=5"], recipes=registry)
    assert cfg.train["batch_size"] == 16      # file over recipe
    assert cfg.train["lr"] == 5e-4            # flag over file
    assert cfg.train["seed"] == 5             # --set over flag
    assert cfg.gen == {"name": "dcgan", "ngf": 8} and cfg.train["epochs"] == 5
    # the positional recipe wins over the file's `recipe`
    other = resolve("other", config_file=f, recipes=registry)
    assert other.gen == {"name": "vanilla", "ngf": 8} and other.recipe == "other"


def test_renaming_gen_resets_its_params_and_the_disc(registry):
    cfg = resolve(flags={"gen": {"name": "vanilla"}}, recipes=registry)
    assert cfg.gen == {"name": "vanilla"} and cfg.disc == {"name": "vanilla"}
    cfg = resolve(flags={"gen": {"name": "vanilla"}, "disc": {"name": "dcgan"}}, recipes=registry)
    assert cfg.disc == {"name": "dcgan", "ndf": 32}
    cfg = resolve(sets=["gen.ngf=16"], recipes=registry)  # same name: params merge
    assert cfg.gen == {"name": "dcgan", "ngf": 16} and cfg.disc == {"name": "dcgan", "ndf": 32}


def test_renaming_loss_keeps_only_matching_term_tables(registry):
    assert resolve(flags={"loss": {"name": "hinge"}}, recipes=registry).loss == {"name": "hinge"}
    cfg = resolve(flags={"loss": {"name": "wgan-gp+0.5*l1"}}, sets=["loss.wgan-gp.gp_weight=5", "loss.l1.x=1"],
                  recipes=registry)
    assert cfg.loss == {"name": "wgan-gp+0.5*l1", "wgan-gp": {"gp_weight": 5}, "l1": {"x": 1}}
    assert cfg.loss_params == {"wgan-gp": {"gp_weight": 5}, "l1": {"x": 1}}


def test_steps_and_epochs_replace_each_other(registry):
    cfg = resolve(flags={"train": {"steps": 7}}, recipes=registry)
    assert cfg.train["steps"] == 7 and cfg.train["epochs"] is None
    cfg = resolve("other", sets=["train.epochs=2"], recipes=registry)
    assert cfg.train["epochs"] == 2 and cfg.train["steps"] is None
    with pytest.raises(ConfigError, match="not both"):
        resolve(sets=["train.epochs=2", "train.steps=3"], recipes=registry)


def test_complete_layers_need_no_recipe():
    cfg = resolve(flags={"gen": {"name": "g"}, "loss": {"name": "l"}, "dataset": {"name": "d"}}, recipes=Registry())
    assert cfg.recipe is None and cfg.train["epochs"] == 1


def test_no_default_recipe_is_a_config_error():
    with pytest.raises(ConfigError, match="no recipe"):
        resolve(flags={"gen": {"name": "g"}}, recipes=Registry())


def test_unknown_recipe_suggests(registry):
    with pytest.raises(UnknownNameError, match="did you mean base"):
        resolve("bse", recipes=registry)


@pytest.mark.parametrize("text, value", [
    ("32", 32), ("2e-4", 2e-4), ("true", True), ("[0.0, 0.9]", [0.0, 0.9]), ('"x y"', "x y"),
    ("cuda", "cuda"), ("/data/mnist", "/data/mnist"), ("bce+0.5*l1", "bce+0.5*l1"), ("none", "none"),
])
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_parse_sets_nested():
    layer = parse_sets(["gen.ngf=32", "loss.wgan-gp.gp_weight=5", "dataset.root=/tmp/x", "out=runs/a",
                        "train.betas=[0.0, 0.99]"])
    assert layer == {"gen": {"ngf": 32}, "loss": {"wgan-gp": {"gp_weight": 5}}, "dataset": {"root": "/tmp/x"},
                     "out": "runs/a", "train": {"betas": [0.0, 0.99]}}


@pytest.mark.parametrize("item, match", [
    ("trian.lr=1", "did you mean train"),
    ("epochs=3", "did you mean train.epochs"),
    ("train.batchsize=1", "did you mean batch_size"),
    ("train.lr", "KEY=VALUE"),
    ("gen=3", "is a table"),
    ("loss.bce=1", "loss.bce must be a table"),
])
def test_bad_sets(item, match):
    with pytest.raises(ConfigError, match=match):
        parse_sets([item])


def test_unknown_table_in_config_file(tmp_path, registry):
    f = tmp_path / "c.toml"
    f.write_text("[trian]\nlr = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key 'trian'.*did you mean train"):
        resolve(config_file=f, recipes=registry)
    f.write_text("[train]\nbatchsize = 1\n")
    with pytest.raises(ConfigError, match=r"unknown train setting 'batchsize'.*did you mean batch_size"):
        resolve(config_file=f, recipes=registry)
    f.write_text("[train\n")
    with pytest.raises(ConfigError, match=r"c\.toml"):
        resolve(config_file=f, recipes=registry)


@pytest.mark.parametrize("train, match", [
    ({"batch_size": 0}, "batch_size"), ({"lr": -1.0}, "lr"), ({"betas": [0.5]}, "betas"),
    ({"device": "tpu"}, "device"), ({"ema": 1.0}, "ema"), ({"amp": "yes"}, "amp"), ({"epochs": 1.5}, "epochs"),
])
def test_validation(train, match):
    with pytest.raises(ConfigError, match=match):
        finalize({"gen": {"name": "g"}, "loss": {"name": "l"}, "dataset": {"name": "d"}, "train": train})


def test_ema_off_spellings():
    for off in (None, 0, "none", False):
        cfg = finalize({"gen": {"name": "g"}, "loss": {"name": "l"}, "dataset": {"name": "d"}, "train": {"ema": off}})
        assert cfg.train["ema"] == 0.0


def test_toml_writer_round_trips():
    data = {
        "out": "runs/a b",
        "gen": {"name": "dcgan", "ngf": 32, "hidden": [128, 256], "flag": True},
        "loss": {"name": "wgan-gp+0.5*l1", "wgan-gp": {"gp_weight": 10.0}},
        "train": {"lr": 1e-05, "betas": [0.0, 0.999], "steps": None, "big": 1e300, "inf": math.inf},
        "meta": {"text": 'quote " back \\ tab \t nl \n ctl \x01 é 😀', "data": {"shape": [1, 28, 28]},
                 "components": {"loss": [{"name": "bce", "dist": None, "weight": 1.0}],
                                "generator": {"name": "dcgan"}}},
        "weird key": {"a.b": 1},
    }
    back = tomllib.loads(dumps_toml(data))
    assert back["train"] == {"lr": 1e-05, "betas": [0.0, 0.999], "big": 1e300, "inf": math.inf}
    assert back["meta"]["text"] == data["meta"]["text"]
    assert back["meta"]["components"]["loss"] == [{"name": "bce", "weight": 1.0}]
    assert back["gen"] == data["gen"] and back["loss"] == data["loss"] and back["out"] == "runs/a b"
    assert back["weird key"] == {"a.b": 1}


def test_config_toml_reads_back_identically(registry, tmp_path):
    cfg = resolve(sets=["train.ema=0.999", "gen.ngf=8"], recipes=registry)
    meta = {"world_size": 1, "data": {"shape": [1, 28, 28]}}
    path = tmp_path / "config.toml"
    path.write_text(config_toml(cfg, meta))
    again, meta_back = read_run_config(path)
    assert meta_back == meta
    assert again.to_dict() == cfg.to_dict()
    # and as a --config layer: complete, so no recipe underneath; [meta] ignored
    assert resolve(config_file=path, recipes=Registry()).to_dict() == cfg.to_dict()


def test_runconfig_params():
    cfg = finalize({"gen": {"name": "g", "ngf": 3}, "loss": {"name": "l"}, "dataset": {"name": "d", "root": "x"}})
    assert RunConfig.params(cfg.gen) == {"ngf": 3} and RunConfig.params(cfg.dataset) == {"root": "x"}


def test_merge_does_not_mutate():
    acc = {"gen": {"name": "a", "x": 1}}
    merge(acc, {"gen": {"x": 2}})
    assert acc == {"gen": {"name": "a", "x": 1}}


def test_cli_bad_set_is_one_line_exit_2(cli, tmp_path):
    r = cli("run", "--set", "trian.lr=1", "--out", "r", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "did you mean train" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


# -- no [eval] table; resolve takes its recipes and merges each layer once -----------------------

def test_eval_table_is_refused_with_where_it_lives(tmp_path, registry):
    f = tmp_path / "c.toml"
    f.write_text("[eval]\nnum = 5\n")
    with pytest.raises(ConfigError, match=r"'eval' is not a run config table.*train\.eval_every"):
        resolve(config_file=f, recipes=registry)
    with pytest.raises(ConfigError, match="'eval' is not a run config table"):
        parse_sets(["eval.num=5"])
    with pytest.raises(ConfigError, match="'eval' is not a run config table"):
        finalize({"gen": {"name": "g"}, "loss": {"name": "l"}, "dataset": {"name": "d"}, "eval": {}})
    assert "eval" not in finalize({"gen": {"name": "g"}, "loss": {"name": "l"}, "dataset": {"name": "d"}}).to_dict()


def test_resolve_does_not_load_plugins(monkeypatch, registry):
    import ganzoo.plugin.manager

    def refuse(*args, **kwargs):
        raise AssertionError("config.resolve called up into the plugin system")

    monkeypatch.setattr(ganzoo.plugin.manager, "get_registry", refuse)
    monkeypatch.setattr(ganzoo.plugin.manager, "get_plugins", refuse)
    assert resolve("other", recipes=registry).gen == {"name": "vanilla"}
    assert resolve(recipes=registry).recipe == "base"  # the default recipe comes from what is passed in
    with pytest.raises(ConfigError, match="no default recipe"):
        resolve(flags={"gen": {"name": "g"}})


def test_each_layer_is_merged_once(monkeypatch, registry, tmp_path):
    import ganzoo.config.runconfig as config_module

    merged: list[dict] = []
    real = config_module.merge

    def counting(acc, layer):
        merged.append(layer)
        return real(acc, layer)

    monkeypatch.setattr(config_module, "merge", counting)
    f = tmp_path / "c.toml"
    f.write_text("[train]\nseed = 3\n")
    cfg = resolve("base", config_file=f, flags={"train": {"lr": 1e-3}}, sets=["train.batch_size=8"], recipes=registry)
    assert (cfg.train["seed"], cfg.train["lr"], cfg.train["batch_size"], cfg.train["epochs"]) == (3, 1e-3, 8, 5)
    assert len(merged) == 3  # file over... flags, --set over those, and the result over the recipe


def test_empty_recipe_argument_is_a_usage_error(registry):
    with pytest.raises(ConfigError, match="RECIPE argument is empty") as err:
        resolve("", recipes=registry)
    assert err.value.exit_code == 2
    with pytest.raises(ConfigError, match="RECIPE argument is empty"):
        resolve("  ", recipes=registry)


def test_config_file_that_is_not_utf8_is_one_line(tmp_path, registry):
    f = tmp_path / "c.toml"
    f.write_bytes(b"[train]\nseed = 3 # caf\xe9\n")
    with pytest.raises(ConfigError, match=r"c\.toml is not UTF-8 text"):
        resolve(config_file=f, recipes=registry)
    run_config = tmp_path / "config.toml"
    run_config.write_bytes(b'[gen]\nname = "\xff"\n')
    with pytest.raises(ConfigError, match="cannot read run config"):
        read_run_config(run_config)


def test_loss_spec_is_parsed_into_the_config(registry):
    cfg = resolve(flags={"loss": {"name": "hinge + 10*r1"}}, recipes=registry)
    assert cfg.loss_spec.terms == ((1.0, "hinge"), (10.0, "r1")) and cfg.loss["name"] == "hinge + 10*r1"
    with pytest.raises(UsageError, match="malformed weight '1_0'"):
        resolve(flags={"loss": {"name": "hinge+1_0*r1"}}, recipes=registry)
