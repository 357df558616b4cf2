"""The registry: lookup, suggestions, clashes, recipes and recipe files."""

from __future__ import annotations

import textwrap

import pytest

import ganzoo.plugin.manager as gp
from ganzoo import hookimpl
from ganzoo.base.errors import ConfigError, DuplicateNameError, UnknownNameError
from ganzoo.plugin.registry import ComponentRegistrar, Registry
from ganzoo.base.specs import PluginInfo


def test_unknown_name_suggests_close_match():
    registry = gp.get_registry()
    with pytest.raises(UnknownNameError) as err:
        registry.get("generator", "dcgann")
    assert err.value.exit_code == 2
    assert "did you mean dcgan?" in str(err.value)


def test_unknown_name_without_close_match_lists_choices():
    with pytest.raises(UnknownNameError) as err:
        gp.get_registry().get("loss", "zzzzzz")
    assert "choose from" in str(err.value) and "bce" in str(err.value)


def test_names_must_be_lowercase_with_dashes():
    reg = ComponentRegistrar(Registry(), PluginInfo("p"))
    for bad in ("DCGAN", "my_gan", "-x", "a--b", ""):
        with pytest.raises(ValueError):
            reg.generator(bad, "x:y")


def test_duplicate_in_registry_names_both():
    registry = Registry()
    first = ComponentRegistrar(registry, PluginInfo("one", "dist-one", "1.0"))
    first.loss("x", "m:a", role="adversarial")
    first.commit()
    with pytest.raises(DuplicateNameError) as err:
        ComponentRegistrar(registry, PluginInfo("two", "dist-two", "2.0")).loss("x", "m:b", role="adversarial")
    assert "dist-one 1.0" in str(err.value) and "dist-two 2.0" in str(err.value)


def test_alias_resolves_and_clashes():
    registry = Registry()
    reg = ComponentRegistrar(registry, PluginInfo("one"))
    reg.dataset("digits", "m:a", aliases=["numbers"])
    with pytest.raises(DuplicateNameError):  # against the plugin's own staged registrations
        reg.dataset("numbers", "m:b")
    reg.commit()
    assert registry.get("dataset", "numbers").name == "digits"
    with pytest.raises(DuplicateNameError):  # and against the registry
        ComponentRegistrar(registry, PluginInfo("two")).dataset("numbers", "m:c")


def test_lazy_factory_doc_and_params_read_without_import():
    """Help text and parameters come from the factory's source; its module is not imported."""
    import subprocess
    import sys

    code = (
        "import sys, json; from ganzoo import get_registry\n"
        "spec = get_registry().get('loss', 'wgan-gp')\n"
        "print(json.dumps([bool(spec.doc), [p.name for p in spec.params],\n"
        "    spec.target.partition(':')[0] in sys.modules, 'torch' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    has_doc, params, imported, torch_loaded = __import__("json").loads(out)
    assert has_doc and {"gp_weight", "n_critic"} <= set(params)
    assert not imported and not torch_loaded


def test_every_builtin_recipe_names_registered_components():
    registry = gp.get_registry()
    assert registry.default_recipe in registry.names("recipe")
    for recipe in registry.recipes():
        gen = recipe.component("gen")
        assert registry.has("generator", gen), (recipe.name, gen)
        assert registry.has("discriminator", recipe.component("disc") or gen), recipe.name
        assert registry.has("dataset", recipe.component("dataset")), recipe.name
        from ganzoo.config.lossspec import parse_loss_spec

        parse_loss_spec(recipe.component("loss"), registry)


def test_recipe_hook_via_plugin(add_plugin):
    class Plugin:
        @hookimpl
        def ganzoo_register_recipes(self, register):
            register.recipe("mine", {"gen": {"name": "vanilla"}, "loss": {"name": "bce"},
                                     "dataset": {"name": "gaussians"}}, doc="Mine.")

    registry = add_plugin(Plugin(), "mine-plugin")
    recipe = registry.recipe("mine")
    assert recipe.plugin.name == "mine-plugin" and recipe.summary == "Mine."


def test_components_hook_via_plugin(add_plugin):
    class Plugin:
        @hookimpl
        def ganzoo_register_components(self, register):
            register.loss("zero", "math:floor", role="regularizer")

    registry = add_plugin(Plugin(), "zero-plugin")
    assert registry.get("loss", "zero").plugin.dist == "test-dist"


USER = textwrap.dedent('''
    default = "my-run"

    [recipes.my-run]
    doc = "Mine"
    gen = { name = "vanilla" }
    loss = { name = "bce" }
    dataset = { name = "gaussians" }
''')


def test_user_registry_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "registry.toml").write_text(USER)
    registry = gp.get_registry()
    assert registry.default_recipe == "my-run"
    assert registry.recipe("my-run").source.endswith("registry.toml")
    assert "dcgan-mnist" in registry.names("recipe")


def test_user_registry_from_env_and_override(tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.toml"
    path.write_text(USER.replace("my-run", "dcgan-mnist").replace('"Mine"', '"Overridden"'))
    monkeypatch.setenv("GANZOO_REGISTRY", str(path))
    assert gp.get_registry().recipe("dcgan-mnist").doc == "Overridden"


@pytest.mark.parametrize("text,line,what", [
    ('[recipes.x\ngen = 1\n', 1, "Expected"),
    ('\n\n[recipes.x]\ngen = { name = "vanilla" }\nloss = { name = "bce" }\n', 3, "dataset.name"),
    ('[recipes.x]\ngen = "vanilla"\n', 1, "must be a table"),
    ('[recipes.ok]\ngen={name="a"}\nloss={name="b"}\ndataset={name="c"}\nbogus = {}\n', 1, "unknown table 'bogus'"),
    ('colour = "red"\n', 1, "unknown top-level key 'colour'"),
])
def test_malformed_user_registry_names_file_and_line(tmp_path, monkeypatch, text, line, what):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    monkeypatch.setenv("GANZOO_REGISTRY", str(path))
    registry = gp.get_registry()  # components still load: only what reads recipes fails
    with pytest.raises(ConfigError) as err:
        registry.recipe("dcgan-mnist")
    assert f"{path}:{line}:" in str(err.value) and what in str(err.value)


@pytest.mark.parametrize("table, what", [
    ('eval = { num = 5 }', "'eval' is not a run config table"),
    ('train = { epochs = 1, steps = 2 }', "set train.epochs or train.steps, not both"),
    ('train = { batchsize = 1 }', "did you mean batch_size?"),
])
def test_a_recipe_is_checked_like_any_config_layer(tmp_path, monkeypatch, table, what):
    path = tmp_path / "r.toml"
    path.write_text(f'[recipes.x]\ngen = {{ name = "vanilla" }}\nloss = {{ name = "bce" }}\n'
                    f'dataset = {{ name = "gaussians" }}\n{table}\n')
    monkeypatch.setenv("GANZOO_REGISTRY", str(path))
    with pytest.raises(ConfigError) as err:
        gp.get_registry().recipe("x")
    assert what in str(err.value) and str(path) in str(err.value)


def test_unknown_recipe_that_is_a_component_says_so():
    with pytest.raises(UnknownNameError, match="'vanilla' is a generator and a discriminator, not a recipe"):
        gp.get_registry().recipe("vanilla")
    with pytest.raises(UnknownNameError, match="'gaussians' is a dataset, not a generator"):
        gp.get_registry().get("generator", "gaussians")
