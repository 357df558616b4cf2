"""Component parameters are checked against their declaration before anything is built.

The declaration is the factory's signature, read from source for `ganzoo info`
(`ganzoo.plugin.introspect`) and with `inspect` at build: both readings must agree,
inherited ``__init__`` included, for every registered component. A wrong
name, type or value given with ``--set`` ends in one line and exit 2.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

import ganzoo.plugin.manager as gp
from conftest import ROOT, make_dist, run_cli
from ganzoo.base.errors import ParamError
from ganzoo.plugin.introspect import _read_live, read_signature
from ganzoo.plugin.params import check_params, parse_annotation, type_label
from ganzoo.base.specs import ComponentSpec, Param, PluginInfo

PLUGIN = PluginInfo("acme", "ganzoo-acme", "1.2.0")


def spec(*params: Param, kind: str = "generator", open_params: bool = False) -> ComponentSpec:
    return ComponentSpec(kind, "thing", "acme.models:Thing", PLUGIN, params=params, open_params=open_params)


# -- the annotation forms ---------------------------------------------------------------------------

# (annotation, accepted value -> value after coercion, rejected values); the expectations are Python's
# own typing semantics (bool is not an int here, since `--set x=true` for an int is a mistake).
FORMS = [
    ("int", [(3, 3), (-2, -2), (1e3, 1000)], ["abc", 2.5, True, None, [1]]),
    ("float", [(0.5, 0.5), (2, 2)], ["abc", True, None]),
    ("bool", [(True, True), (False, False)], ["maybe", 1, 0, "true"]),
    ("str", [("x", "x")], [1, None, ["x"]]),
    ("list[int]", [([1, 2], [1, 2]), ((3,), (3,)), ([], [])], ["abc", [1, "a"], 5]),
    ("tuple[int, ...]", [([4, 5], [4, 5]), ((4.0,), (4,))], ["abc", [1.5]]),
    ("tuple[int, str]", [([1, "a"], [1, "a"])], [[1], [1, 2], ["a", 1]]),
    ("Literal['batch', 'layer']", [("batch", "batch")], ["group", 1, None]),
    ("int | None", [(None, None), (4, 4)], ["abc"]),
    ("Optional[float]", [(None, None), (1.5, 1.5)], ["abc"]),
    ("typing.Union[int, str]", [(1, 1), ("a", "a")], [1.5, None]),
    ("Annotated[int, Range(1, 1024)]", [(1, 1), (1024, 1024), (64.0, 64)], [0, -1, 1025, 1e8, "abc"]),
    ("Annotated[float, Range(0, 1)]", [(0, 0), (0.3, 0.3), (1, 1)], [-0.1, 1.5]),
    ("Annotated[float, Range(low=0)]", [(0, 0), (1e9, 1e9)], [-1e-9]),
    ("tuple[Annotated[int, Range(1, 16384)], ...]", [([64, 64], [64, 64])], [[0, 3], [64, 20000], "abc"]),
    ("Annotated[int, Range(1, 8)] | None", [(None, None), (8, 8)], [9, "x"]),
]


@pytest.mark.parametrize(("annotation", "good", "bad"), FORMS, ids=[f[0] for f in FORMS])
def test_annotation_forms_accept_and_refuse(annotation, good, bad):
    s = spec(Param("x", annotation, None, True))
    for value, expected in good:
        out = check_params(s, {"x": value})["x"]
        assert out == expected and type(out) is type(expected), (value, out)
    for value in bad:
        with pytest.raises(ParamError) as err:
            check_params(s, {"x": value})
        assert err.value.exit_code == 2 and "\n" not in str(err.value)
        assert str(err.value).startswith("generator 'thing' from plugin 'acme' (ganzoo-acme 1.2.0): x must be ")


@pytest.mark.parametrize("annotation", ["", "Path", "torch.device", "Callable[[int], int]", "not valid python("])
def test_unknown_annotations_accept_anything(annotation):
    assert check_params(spec(Param("x", annotation, 1)), {"x": object}) == {"x": object}


def test_the_message_names_component_plugin_parameter_type_and_value():
    s = spec(Param("ndf", "Annotated[int, Range(1, 1024)]", 64), kind="discriminator")
    with pytest.raises(ParamError) as err:
        check_params(s, {"ndf": "abc"})
    assert str(err.value) == ("discriminator 'thing' from plugin 'acme' (ganzoo-acme 1.2.0): ndf must be an int "
                              "in [1, 1024], not 'abc' (for example disc.ndf=64, the default)")


def test_unknown_names_get_a_suggestion_and_open_factories_take_any_name():
    s = spec(Param("width", "int", 3), Param("blocks", "int", 2))
    with pytest.raises(ParamError, match=r"has no parameter 'widht' \(did you mean width\?\)"):
        check_params(s, {"widht": 4})
    with pytest.raises(ParamError, match=r"no parameter 'zzz' \(its parameters: width, blocks\)"):
        check_params(s, {"zzz": 4})
    with pytest.raises(ParamError, match=r"no parameter 'nosuch' \(it takes no parameters\)"):
        check_params(spec(kind="loss"), {"nosuch": 1})
    # **kwargs: unlisted names pass through untouched; listed ones are still checked
    loose = spec(Param("width", "int", 3), open_params=True)
    assert check_params(loose, {"anything": "goes"}) == {"anything": "goes"}
    with pytest.raises(ParamError):
        check_params(loose, {"width": "wide"})


def test_required_and_reserved_parameters():
    s = spec(Param("latent_dim", "int", 100), Param("classes", "int", None, True))
    with pytest.raises(ParamError, match=r"needs parameter 'classes' \(an int\)"):
        check_params(s, {})
    with pytest.raises(ParamError, match=r"latent_dim is not a component parameter \(set train.latent_dim"):
        check_params(s, {"classes": 3, "latent_dim": 8})
    assert check_params(s, {"classes": 3}) == {"classes": 3}


def test_info_shows_bounds_readably():
    assert type_label("Annotated[int, Range(1, 1024)]") == "int in [1, 1024]"
    assert type_label("tuple[Annotated[int, Range(1, 16384)], ...]") == "tuple[int in [1, 16384], ...]"
    assert type_label("Annotated[float, Range(0, None)] | None") == "float >= 0 | None"
    assert type_label("int | None") == "int | None"


# -- the two readings agree, inherited __init__ included ---------------------------------------------

PKG = {
    "inh/__init__.py": "",
    "inh/base.py": textwrap.dedent('''
        from __future__ import annotations
        from typing import Annotated, Literal


        class Base:
            """Has the __init__."""
            def __init__(self, data, width: Annotated[int, Range(1, 9)] = 3, *, mode: Literal["a", "b"] = "a",
                         hidden: tuple[int, ...] = (4, 5)):
                pass


        class Loose:
            def __init__(self, data=None, **kwargs):
                pass


        class Plain:
            """No __init__ anywhere in its chain: object() takes no arguments."""
    '''),
    # no `from __future__ import annotations`: the live reading sees typing objects, not source text
    "inh/typed.py": textwrap.dedent('''
        from typing import Literal, Optional

        from inh.base import Base


        class Typed(Base):
            def __init__(self, data, hidden: tuple[int, ...] = (1, 2), size: Optional[int] = None,
                         mode: Literal["a", "b"] = "a", rate: float | None = 0.5):
                pass
    '''),
    "inh/child.py": textwrap.dedent('''
        from __future__ import annotations
        import inh.base as b
        from torch import nn
        from .base import Base, Loose as Renamed, Plain


        class Same(Base):
            """Inherits from a class imported with a relative import."""


        class Deeper(Same):
            """Two levels down, within this module then across."""


        class Dotted(b.Base):
            """Through `import inh.base as b`."""


        class Open(Renamed):
            """**kwargs, inherited through an alias."""


        class NoInit(Plain):
            pass


        class Torchy(nn.Module):
            """nn.Module's own __init__ takes *args, **kwargs: any name."""


        class Own(Base):
            def __init__(self, data, depth: int = 2, flag: bool = False):
                super().__init__(data)


        def factory(data, size: int | None = None, *args, **kwargs):
            """A function factory."""
    '''),
}
EXPECTED = {
    "Same": (("width", "mode", "hidden"), False),
    "Deeper": (("width", "mode", "hidden"), False),
    "Dotted": (("width", "mode", "hidden"), False),
    "Open": ((), True),
    "NoInit": ((), False),
    "Torchy": ((), True),
    "Own": (("depth", "flag"), False),
    "factory": (("size",), True),
    "inh.typed:Typed": (("hidden", "size", "mode", "rate"), False),
}


@pytest.fixture
def inh(tmp_path, monkeypatch):
    site = tmp_path / "site"
    for rel, text in PKG.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield
    for name in [n for n in sys.modules if n == "inh" or n.startswith("inh.")]:
        del sys.modules[name]


def _same(a_sig, b_sig) -> None:
    """Names, required, literal defaults, the parsed type and openness must agree."""
    assert a_sig.open == b_sig.open
    assert [p.name for p in a_sig.params] == [p.name for p in b_sig.params]
    for a, b in zip(a_sig.params, b_sig.params):
        assert a.required == b.required, a.name
        assert parse_annotation(a.type) == parse_annotation(b.type), (a.name, a.type, b.type)
        if not isinstance(a.default, str) or isinstance(b.default, str):
            assert a.default == b.default, a.name


@pytest.mark.parametrize("attr", list(EXPECTED))
def test_source_and_live_readings_agree_across_inheritance(inh, attr):
    target = attr if ":" in attr else f"inh.child:{attr}"
    module, _, name = target.partition(":")
    source = read_signature(target)
    assert module not in sys.modules  # read from source, not imported
    names, is_open = EXPECTED[attr]
    assert tuple(p.name for p in source.params) == names and source.open is is_open
    live = read_signature(getattr(importlib.import_module(module), name))
    _same(source, live)


def test_inherited_bounds_are_enforced(inh):
    s = ComponentSpec("generator", "same", "inh.child:Same", PLUGIN, params=read_signature("inh.child:Same").params)
    with pytest.raises(ParamError, match=r"width must be an int in \[1, 9\], not 10"):
        check_params(s, {"width": 10})
    with pytest.raises(ParamError, match=r"mode must be one of 'a', 'b', not 'c'"):
        check_params(s, {"mode": "c"})


EXAMPLE_SRC = ROOT / "examples" / "ganzoo-example-plugin" / "src"
EXAMPLE_TARGETS = ["ganzoo_example.models:ResNetMLPGenerator", "ganzoo_example.models:ResNetMLPDiscriminator",
                   "ganzoo_example.losses:RelativisticAverageLoss"]


def _registered() -> list[str]:
    return [s.factory for s in gp.get_registry().components() if isinstance(s.factory, str)]


@pytest.mark.parametrize("target", _registered() + EXAMPLE_TARGETS)
def test_every_registered_component_reads_the_same_both_ways(target, monkeypatch):
    if target.startswith("ganzoo_example.") and importlib.util.find_spec("ganzoo_example") is None:
        monkeypatch.syspath_prepend(str(EXAMPLE_SRC))
        importlib.invalidate_caches()
    source = read_signature(target)
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    live = _read_live(obj)
    _same(source, live)
    assert not source.open, "a built-in factory declares its parameters (no **kwargs)"


# -- through the command line: one line, exit 2, nothing written ----------------------------------------

TV = textwrap.dedent('''
    """A plugin with a total-variation regularizer taking a bool."""
    from ganzoo import hookimpl


    @hookimpl
    def ganzoo_register_components(register):
        register.loss("tv", "tvplug.terms:TV", role="regularizer")
''')
TV_TERMS = textwrap.dedent('''
    from __future__ import annotations
    from ganzoo.components.interfaces import LossTerm


    class TV(LossTerm):
        """Total variation of the fakes."""
        def __init__(self, squared: bool = False):
            self.squared = squared

        def g_loss(self, inputs):
            d = inputs.fake[..., 1:] - inputs.fake[..., :-1]
            return (d * d if self.squared else d.abs()).mean()
''')


@pytest.mark.parametrize(("args", "message"), [
    (["--gen", "dcgan", "--set", "disc.ndf=abc"], "discriminator 'dcgan' from plugin 'dcgan' (ganzoo 0.1.0): "
                                                  "ndf must be an int in [1, 1024], not 'abc'"),
    (["--gen", "dcgan", "--set", "gen.ngf=0"], "ngf must be an int in [1, 1024], not 0"),
    (["--gen", "dcgan", "--set", "gen.ngf=-1"], "ngf must be an int in [1, 1024], not -1"),
    (["--gen", "dcgan", "--set", "gen.ngf=1e8"], "ngf must be an int in [1, 1024], not 100000000.0"),
    (["--gen", "vanilla", "--set", "gen.hidden=abc"], "hidden must be a list of ints in [1, 16384], not 'abc'"),
    (["--gen", "vanilla", "--loss", "bce", "--set", "loss.bce.nosuch=1"],
     "loss 'bce' from plugin 'adversarial-losses' (ganzoo 0.1.0) has no parameter 'nosuch'"),
    (["--gen", "vanilla", "--loss", "bce+tv", "--set", "loss.tv.squared=maybe"],
     "loss 'tv' from plugin 'tv' (ganzoo-tv 0.0.1): squared must be true or false, not 'maybe'"),
])
def test_bad_set_values_end_in_one_line_and_exit_2(dist_site, tmp_path, args, message):
    make_dist(dist_site, "ganzoo-tv", "0.0.1", {"tvplug/__init__.py": TV, "tvplug/terms.py": TV_TERMS},
              {"tv": "tvplug"})
    out = tmp_path / "run"
    r = run_cli("run", "--dataset", "mnist-10k", "--steps", "1", "--out", str(out), *args, timeout=300)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert not (out / "config.toml").exists() and not (out / "checkpoints").exists()


def test_python_api_checks_the_same_way():
    from ganzoo.components.build import build_discriminator, build_generator, build_loss
    from ganzoo.testing import MNIST

    with pytest.raises(ParamError, match="ndf must be an int in"):
        build_discriminator("dcgan", MNIST, params={"ndf": "abc"})
    with pytest.raises(ParamError, match=r"no parameter 'ngff' \(did you mean ngf\?\)"):
        build_generator("dcgan", MNIST, params={"ngff": 8})
    with pytest.raises(ParamError, match="gp_weight must be a number"):
        build_loss("wgan-gp", {"wgan-gp": {"gp_weight": "strong"}})
    # an integral float (TOML reads 8e0 as one) reaches the factory as an int
    assert build_generator("dcgan", MNIST, params={"ngf": 8.0}).net[1].weight.shape[1] == 8 * 2


def test_checked_without_torch(tmp_path):
    code = ("import sys, ganzoo.plugin.manager as gp\nfrom ganzoo.plugin.params import check_params\n"
            "spec = gp.get_registry().get('discriminator', 'dcgan')\n"
            "try:\n    check_params(spec, {'ndf': 'abc'})\nexcept Exception as e:\n    print(type(e).__name__)\n"
            "print('torch' in sys.modules)")
    import subprocess

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.stdout.split() == ["ParamError", "False"], r.stderr


SOURCELESS = textwrap.dedent('''
    from torch import nn

    from ganzoo.components.interfaces import Generator


    class Gen(Generator):
        def __init__(self, data, latent_dim=100, width: int = 8):
            super().__init__(data, latent_dim)
            self.net = nn.Linear(latent_dim, data.numel)

        def forward(self, z, labels=None):
            return self.net(z)
''')


def test_a_factory_without_source_is_checked_by_its_live_signature(dist_site):
    import py_compile

    make_dist(dist_site, "ganzoo-sourceless", "0.0.1", {
        "slplug.py": "from ganzoo import hookimpl\n\n@hookimpl\ndef ganzoo_register_components(register):\n"
                     "    register.generator('sl', 'slgen:Gen')\n",
        "slgen_src.py": SOURCELESS}, {"sl": "slplug"})
    # only a .pyc next to nothing: Python imports it, and there is no source for `ganzoo info` to read
    py_compile.compile(str(dist_site / "slgen_src.py"), cfile=str(dist_site / "slgen.pyc"), doraise=True)
    (dist_site / "slgen_src.py").unlink()
    spec = gp.get_registry().get("generator", "sl")
    assert spec.open_params and spec.params == ()
    from ganzoo.components.build import build_generator
    from ganzoo.testing import POINTS

    with pytest.raises(ParamError, match="width must be an int, not 'abc'"):
        build_generator("sl", POINTS, latent_dim=4, params={"width": "abc"})
    with pytest.raises(ParamError, match=r"no parameter 'wdith' \(did you mean width\?\)"):
        build_generator("sl", POINTS, latent_dim=4, params={"wdith": 3})
    assert build_generator("sl", POINTS, latent_dim=4, params={"width": 3})
