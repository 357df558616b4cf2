"""Models with more than one head (issue 24, item 2): an InfoGAN Q head or an AC-GAN class head on D's trunk,
declared at registration, returned by ``forward_heads`` and held to the contract, each head getting gradient from
the loss that uses it.

Every test does what a third-party author does: a plugin defined here, registered with ``add_plugin`` (or, where
torch must stay unimported, installed as a distribution whose factories are lazy strings).
"""

from __future__ import annotations

import copy
import json
import re
import sys
import textwrap
import types

import pytest
import torch
from torch import nn

from conftest import ROOT, fit, make_dist, one_line, run_light, tiny
from ganzoo import hookimpl
from ganzoo.training.algorithm import Algorithm, update
from ganzoo.components.build import build_discriminator, build_generator
from ganzoo.base.errors import ComponentError
from ganzoo.plugin.heads import MAIN
from ganzoo.components.interfaces import Discriminator, Generator, LossInputs, forward_heads
from ganzoo.plugin.registry import ComponentRegistrar, Registry
from ganzoo.runs.sampling import generate, write_picture
from ganzoo.base.specs import DataInfo, PluginInfo
from ganzoo.testing import MNIST, POINTS, ConformanceError, check_discriminator, check_generator

WHO = "from plugin 'heads' (test-dist 0.0.1)"
DATA = [POINTS, MNIST]


class QDisc(Discriminator):
    """InfoGAN-style: a shared trunk, the real/fake score, and a Q head estimating two latent codes."""

    def __init__(self, data, hidden=16, codes=2):
        super().__init__(data)
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(data.numel, hidden), nn.LeakyReLU(0.2))
        self.score = nn.Linear(hidden, 1)
        self.q = nn.Linear(hidden, codes)

    def forward(self, x, labels=None):
        return self.score(self.trunk(x)).view(-1)

    def forward_heads(self, x, labels=None):
        h = self.trunk(x)
        return {"main": self.score(h).view(-1), "q": self.q(h)}


class SlicedACDisc(Discriminator):
    """AC-GAN as often written: one Linear gives the score and the class logits, sliced apart. Its class head
    shares the layer with the score, but its rows of the weight are its own."""

    def __init__(self, data, hidden=16, classes=3):
        super().__init__(data)
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(data.numel, hidden), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, 1 + classes)

    def forward(self, x, labels=None):
        return self.forward_heads(x)["main"]

    def forward_heads(self, x, labels=None):
        out = self.out(self.trunk(x))
        return {"main": out[:, 0], "cls": out[:, 1:]}


class ConditionalQDisc(QDisc):
    """A projection-style conditional D with a Q head: labels reach forward_heads as they reach forward."""

    def __init__(self, data, hidden=16, codes=2):
        super().__init__(data, hidden, codes)
        self.embed = nn.Embedding(data.num_classes, hidden)

    def forward(self, x, labels):
        return self.forward_heads(x, labels)["main"]

    def forward_heads(self, x, labels):
        h = self.trunk(x)
        return {"main": self.score(h).view(-1) + (self.embed(labels) * h).sum(1), "q": self.q(h)}


class AuxGen(Generator):
    """A generator with an auxiliary head on its hidden layer (a predicted mask, a code): heads work for G too."""

    def __init__(self, data, latent_dim=8, hidden=16):
        super().__init__(data, latent_dim)
        self.body = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, data.numel)
        self.aux = nn.Linear(hidden, 3)

    def forward(self, z, labels=None):
        return self.forward_heads(z)["main"]

    def forward_heads(self, z, labels=None):
        h = self.body(z)
        x = self.out(h).view(-1, *self.data.shape)
        return {"main": torch.tanh(x) if self.data.is_image else x, "aux": self.aux(h)}


# -- what goes wrong, one class each ---------------------------------------------------------------------------

class DetachedQ(QDisc):
    """Q's output is cut from the graph: the InfoGAN loss on it would train nothing."""

    def forward_heads(self, x, labels=None):
        out = super().forward_heads(x)
        return {**out, "q": out["q"].detach()}


class BlindQ(QDisc):
    """Q reads detached trunk features: its layer learns, but it cannot depend on (or teach) the input."""

    def forward_heads(self, x, labels=None):
        h = self.trunk(x)
        return {"main": self.score(h).view(-1), "q": self.q(h.detach())}


class EchoQ(QDisc):
    """A 'head' that is a function of the score alone: no weights of its own to learn the codes with."""

    def forward_heads(self, x, labels=None):
        s = self.score(self.trunk(x)).view(-1)
        return {"main": s, "q": torch.stack([s, -s], 1)}


class SpareQ(QDisc):
    """A layer no output uses: the union of the outputs leaves it without gradient."""

    def __init__(self, data, hidden=16, codes=2):
        super().__init__(data, hidden, codes)
        self.spare = nn.Linear(hidden, 1)


class QuietQ(QDisc):
    """The pre-heads hack is gone, but the registration forgot heads=("q",)."""


class ForgetsC(QDisc):
    """Declares heads q and c, returns q alone."""


class MainlessQ(QDisc):
    """Returns the heads, but not the scores under "main"."""

    def forward_heads(self, x, labels=None):
        return {"q": super().forward_heads(x)["q"]}


class OtherMain(QDisc):
    """forward_heads' scores are not forward's (a second score layer): an algorithm would train two Ds."""

    def __init__(self, data, hidden=16, codes=2):
        super().__init__(data, hidden, codes)
        self.score2 = nn.Linear(hidden, 1)

    def forward_heads(self, x, labels=None):
        h = self.trunk(x)
        return {"main": self.score2(h).view(-1), "q": self.q(h) + 0.0 * self.score(h)}


class HeadsPlugin:
    @hookimpl
    def ganzoo_register_components(self, register):
        register.discriminator("heads-q", QDisc, heads=("q",))
        register.discriminator("heads-sliced", SlicedACDisc, heads=("cls",))
        register.discriminator("heads-cond", ConditionalQDisc, heads=("q",), conditional=True)
        register.generator("heads-aux", AuxGen, heads=("aux",))
        register.discriminator("heads-detached", DetachedQ, heads=("q",))
        register.discriminator("heads-blind", BlindQ, heads=("q",))
        register.discriminator("heads-echo", EchoQ, heads=("q",))
        register.discriminator("heads-spare", SpareQ, heads=("q",))
        register.discriminator("heads-quiet", QuietQ)
        register.discriminator("heads-forgets", ForgetsC, heads=("q", "c"))
        register.discriminator("heads-mainless", MainlessQ, heads=("q",))
        register.discriminator("heads-other-main", OtherMain, heads=("q",))


@pytest.fixture
def heads(add_plugin):
    return add_plugin(HeadsPlugin(), "heads")


# -- models with heads that keep the contract ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["heads-q", "heads-sliced", "heads-cond"])
def test_a_discriminator_with_a_declared_head_passes_the_suite_and_builds(heads, name):
    report = check_discriminator(name, DATA)
    assert {"forward_heads returns the declared heads", "gradients through every head"} <= set(report.checks)
    assert report.supported == [d.shape for d in DATA]
    D = build_discriminator(name, POINTS if name != "heads-cond" else DataInfo((2,), 3, 64, "points"))
    assert not any(p.grad is not None for p in D.parameters())  # the build-time check leaves no gradient behind


def test_the_heads_come_back_by_name_in_one_pass_and_forward_still_gives_the_scores(heads):
    D = build_discriminator("heads-q", POINTS)
    x = torch.randn(5, 2)
    out = forward_heads(D, x)
    assert set(out) == {MAIN, "q"} and out["q"].shape == (5, 2)
    assert torch.equal(out[MAIN], D(x))  # every loss and algorithm that reads forward is unchanged


def test_a_generator_with_a_declared_head_passes_the_suite_and_builds(heads):
    report = check_generator("heads-aux", DATA, latent_dim=8)
    assert "gradients through every head" in report.checks
    G = build_generator("heads-aux", MNIST, latent_dim=8)
    assert set(forward_heads(G, torch.randn(2, 8))) == {MAIN, "aux"}


def test_a_run_trains_a_discriminator_with_heads_through_its_forward(toy, heads, tmp_path):
    """The default algorithm knows nothing of heads: D trains through forward, Q's layer is left alone."""
    res = fit({**tiny(steps=3), "disc": {"name": "heads-q"}, "out": str(tmp_path / "run")})
    assert res.checkpoint.is_file()


class InfoSteps(Algorithm):
    """InfoGAN in miniature: D's and G's steps add the squared error of Q's estimate of the first two codes of z
    (the mutual-information term for Gaussian codes), read from forward_heads in the pass that gives the scores."""

    def __init__(self, setup):
        self.setup, self.loss = setup, setup.loss
        self.G, self.D = setup.generator(), setup.discriminator()
        self.modules = {"generator": self.G, "discriminator": self.D}
        self.optimizers = {"opt_g": setup.optimizer(self.G.parameters(), "g"),
                           "opt_d": setup.optimizer(self.D.parameters(), "d")}
        self.latent_dim = setup.config.train["latent_dim"]
        TRAINED.append((self.D, copy.deepcopy(self.D.q.state_dict())))

    def step(self, next_batch, step, total):
        real, _ = next_batch()
        z = torch.randn(len(real), self.latent_dim, generator=self.setup.noise)
        d_turn = step % 2 == 1
        fake = self.G(z)
        shown = fake.detach() if d_turn else fake
        out = forward_heads(self.D, shown)
        inputs = LossInputs(real, shown, out[MAIN], self.D(real), None, self.D, step, generator=self.G, total=total)
        side = "d_loss" if d_turn else "g_loss"
        value, _ = getattr(self.loss, side)(inputs)
        value = value + ((out["q"] - z[:, :2]) ** 2).mean()
        update(self.optimizers["opt_d" if d_turn else "opt_g"], value, "discriminator" if d_turn else "generator",
               inputs, {}, "info")
        return {side: value.detach()}

    def grid(self, path, step):
        return write_picture(generate(self.G, torch.randn(4, self.latent_dim), None), path, self.setup.info, None, 2)


TRAINED: list = []


def test_an_algorithm_trains_the_q_head_from_the_loss_that_uses_it(toy, heads, add_plugin, tmp_path):
    class Info:
        @hookimpl
        def ganzoo_register_components(self, register):
            register.algorithm("info-steps", InfoSteps)

    add_plugin(Info(), "info")
    TRAINED.clear()
    fit({**tiny(steps=2), "disc": {"name": "heads-q"}, "algo": {"name": "info-steps"}, "out": str(tmp_path / "r")})
    (D, before), = TRAINED
    assert not torch.equal(D.q.weight.detach().cpu(), before["weight"])  # Q's own layer learned


def test_forward_heads_of_a_model_without_heads_is_its_forward():
    plain = nn.Linear(2, 1)  # not even a ganzoo interface subclass
    x = torch.randn(3, 2)
    assert set(forward_heads(plain, x)) == {MAIN} and torch.equal(forward_heads(plain, x)[MAIN], plain(x))


# -- models that break it: one line each, the same words from ganzoo.components.build and ganzoo.testing ---------------

BROKEN = {
    "heads-detached": r"head 'q' gets no gradient: it does not require grad \(detached",
    "heads-blind": r"head 'q' does not depend on the input \(no gradient reaches x from it\)",
    "heads-echo": r"head 'q' has no parameters of its own: every weight it gets gradient into also feeds 'main'",
    "heads-spare": r"no gradient reaches spare\.weight, spare\.bias from its outputs \(main, q\) together",
    "heads-quiet": r"forward_heads returns head 'q', which its registration does not declare "
                   r"\(register\.discriminator\(\.\.\., heads=\('q',\)\)\)",
    "heads-forgets": r"head 'c' is declared but forward_heads does not return it \(it returned 'main', 'q'",
    "heads-mainless": r"forward_heads returned no 'main' output",
    "heads-other-main": r"forward_heads\(\)\['main'\] differs from what forward returns on the same input",
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_head_is_one_line_naming_the_component_and_the_head(heads, name):
    with pytest.raises(ComponentError, match=BROKEN[name]) as built:
        build_discriminator(name, POINTS)
    assert one_line(built).startswith(f"discriminator {name!r} {WHO}: ")
    with pytest.raises(ConformanceError, match=BROKEN[name]) as checked:
        check_discriminator(name, [POINTS])
    assert str(checked.value).startswith(f"discriminator {name!r} {WHO} on data of shape points(2): ")


def test_without_heads_a_head_layer_that_forward_leaves_unused_is_refused_as_before(add_plugin):
    """No heads declared and no forward_heads: the check through forward alone, word for word as before."""

    class Unused(Discriminator):
        def __init__(self, data):
            super().__init__(data)
            self.net, self.q = nn.Linear(data.numel, 1), nn.Linear(data.numel, 2)

        def forward(self, x, labels=None):
            return self.net(x.flatten(1)).view(-1)

    class Plugin:
        @hookimpl
        def ganzoo_register_components(self, register):
            register.discriminator("no-heads", Unused)

    add_plugin(Plugin(), "plain")
    build_discriminator("no-heads", POINTS)  # the build checks outputs, not gradients, as before
    with pytest.raises(ConformanceError, match=r"no gradient reaches q\.weight, q\.bias \(detached, or unused in "
                                               r"forward\?\)"):
        check_discriminator("no-heads", [POINTS])


# -- registration ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, words", [
    (("main",), "'main' is the main output forward returns, not a head"),
    (("q", "q"), "head 'q' is declared twice"),
    (("Q",), "invalid head name 'Q'"),
    (("class-logits",), "invalid head name 'class-logits'"),
    ("q", "heads must be a tuple of head names, not 'q' (heads=('q',))"),
])
def test_a_registration_with_bad_heads_fails_on_its_line(given, words):
    register = ComponentRegistrar(Registry(), PluginInfo("p"))
    for method in (register.discriminator, register.generator):
        with pytest.raises(ValueError) as err:
            method("x", "acme.models:X", heads=given)
        assert words in str(err.value)
    assert register.discriminator("x", "acme.models:X", heads=["q", "class_logits"]).heads == ("q", "class_logits")


# -- ganzoo info, without torch ----------------------------------------------------------------------------------

INFO_INIT = textwrap.dedent('''
    from ganzoo import hookimpl


    @hookimpl
    def ganzoo_register_components(register):
        register.discriminator("infogan-d", "infozoo.models:InfoD", heads=("q", "cat"))
        register.generator("infogan-d", "infozoo.models:InfoG")
''')
INFO_MODELS = textwrap.dedent('''
    raise RuntimeError("ganzoo info must not import a model module")


    class InfoD:
        """InfoGAN's discriminator and Q network on one trunk."""
        def __init__(self, data, hidden: int = 64):
            pass


    class InfoG:
        """InfoGAN's generator."""
        def __init__(self, data, latent_dim: int = 100):
            pass
''')


@pytest.fixture
def infozoo(dist_site):
    make_dist(dist_site, "ganzoo-infozoo", "0.1.0", {"infozoo/__init__.py": INFO_INIT,
                                                     "infozoo/models.py": INFO_MODELS}, {"infozoo": "infozoo"})
    return dist_site


def _probe(*args: str) -> tuple[str, str]:
    proc = run_light(list(args), ("torch", "numpy", "infozoo.models"))
    return proc.stdout, proc.stderr


def test_ganzoo_info_shows_the_heads_without_importing_torch(infozoo):
    out, _ = _probe("info", "infogan-d")
    assert "heads: q, cat (forward_heads(x, labels) returns each by name, with the scores under 'main')" in out
    assert out.count("heads:") == 1  # the generator of the same name declares none
    out, _ = _probe("info", "infogan-d", "--kind", "discriminator", "--json")
    entry = json.loads(out)
    assert entry["heads"] == ["q", "cat"] and entry["kind"] == "discriminator"
    out, _ = _probe("info", "infogan-d", "--kind", "generator", "--json")
    assert json.loads(out)["heads"] == []


# -- docs/plugins.md's example runs as written ----------------------------------------------------------------

DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")


def test_the_documented_discriminator_with_a_q_head_passes_the_suite(add_plugin, monkeypatch):
    start = DOC.index('<a id="models-with-heads"></a>')
    blocks = re.findall(r"```python\n(.*?)```", DOC[start:start + 6000], re.S)
    model = next(b for b in blocks if "def forward_heads" in b)
    registration = next(b for b in blocks if "register.discriminator(" in b and "heads=" in b)
    package, module = types.ModuleType("ganzoo_acme"), types.ModuleType("ganzoo_acme.info")
    package.__path__ = []
    monkeypatch.setitem(sys.modules, "ganzoo_acme", package)
    monkeypatch.setitem(sys.modules, "ganzoo_acme.info", module)
    exec(compile(model, "docs/plugins.md", "exec"), module.__dict__)

    class Acme:
        @hookimpl
        def ganzoo_register_components(self, register):
            exec(compile(registration, "docs/plugins.md", "exec"), {"register": register})

    registry = add_plugin(Acme(), "acme")
    spec = registry.get("discriminator", "acme-info")
    assert spec.heads == ("q",)
    assert "gradients through every head" in check_discriminator("acme-info", DATA).checks
