"""The built-in loss terms, checked against hand-computed values on tiny tensors."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.components.build import build_loss
from ganzoo.base.errors import UsageError
from ganzoo.components.interfaces import LossInputs, LossTerm

LOG2 = math.log(2.0)


# -- toy discriminators: raw logits of shape (N,) ---------------------------
class LinearD(nn.Module):
    """D(x) = <w, flatten(x)> + b; its input gradient is w for every sample."""

    def __init__(self, features: int, scale: float = 1.0, seed: int = 0):
        super().__init__()
        w = torch.randn(features, generator=torch.Generator().manual_seed(seed))
        self.w = nn.Parameter(scale * w / w.norm())
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x):  # unconditional: no labels argument at all
        return x.flatten(1) @ self.w + self.b


class MLPD(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(features, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def features(self, x, labels=None):
        return self.net[:-1](x)

    def forward(self, x):
        return self.net(x).squeeze(1)


class ConditionalD(nn.Module):
    """Insists on labels, and remembers the ones it was given."""

    def __init__(self, features: int, num_classes: int = 3):
        super().__init__()
        self.body = MLPD(features)
        self.embed = nn.Embedding(num_classes, 1)
        self.seen: list[torch.Tensor] = []

    def forward(self, x, labels):
        self.seen.append(labels)
        return self.body(x) + self.embed(labels).squeeze(1)


class IgnoresInputD(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(1.5))

    def forward(self, x):
        return self.c.expand(x.shape[0])


class ZeroTimesInputD(IgnoresInputD):
    def forward(self, x):
        return 0.0 * x.flatten(1).sum(1) + self.c


def scores_inputs(d_real, d_fake, real=None, fake=None):
    """LossInputs for terms that only read the scores."""
    d_real = torch.tensor(d_real, dtype=torch.float32)
    d_fake = torch.tensor(d_fake, dtype=torch.float32)
    n = len(d_fake)
    real = torch.zeros(n, 2) if real is None else real
    fake = torch.zeros(n, 2) if fake is None else fake
    return LossInputs(real=real, fake=fake, d_fake=d_fake, d_real=d_real, labels=None,
                      discriminator=nn.Identity())


def term(name: str, **params) -> LossTerm:
    return ganzoo.get_registry().get("loss", name).load_factory()(**params)


def batch(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


SHAPES = {"images": (4, 1, 3, 3), "points": (4, 2)}


def features(shape) -> int:
    return math.prod(shape[1:])


# -- adversarial terms: exact values ----------------------------------------
def test_bce_at_zero_logits():
    t = term("bce")
    inp = scores_inputs([0.0, 0.0], [0.0, 0.0])
    assert t.d_loss(inp).item() == pytest.approx(2 * LOG2)
    assert t.g_loss(inp).item() == pytest.approx(LOG2)


def test_bce_matches_binary_cross_entropy():
    t = term("bce")
    inp = scores_inputs([2.0, -0.5], [-1.0, 3.0])
    sig = torch.sigmoid
    expected_d = (-torch.log(sig(inp.d_real))).mean() + (-torch.log(1 - sig(inp.d_fake))).mean()
    assert t.d_loss(inp).item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert t.g_loss(inp).item() == pytest.approx((-torch.log(sig(inp.d_fake))).mean().item(), rel=1e-6)


def test_bce_is_stable_for_huge_logits():
    t = term("bce")
    inp = scores_inputs([1e4, -1e4], [1e4, -1e4])
    assert torch.isfinite(t.d_loss(inp)) and torch.isfinite(t.g_loss(inp))
    assert t.g_loss(inp).item() == pytest.approx(1e4 / 2)


def test_minimax_generator_minimises_log_one_minus_d():
    t = term("minimax")
    assert t.g_loss(scores_inputs([0.0], [0.0])).item() == pytest.approx(-LOG2)
    inp = scores_inputs([0.5, 1.0], [1.0, -1.0])
    expected = torch.log(1 - torch.sigmoid(inp.d_fake)).mean()
    assert t.g_loss(inp).item() == pytest.approx(expected.item(), rel=1e-6)
    assert t.d_loss(inp).item() == pytest.approx(term("bce").d_loss(inp).item())


def test_minimax_saturates_where_bce_does_not():
    d_fake = torch.tensor([-8.0], requires_grad=True)  # D confidently rejects the fake
    inp = scores_inputs([0.0], [0.0])
    inp.d_fake = d_fake
    (g_minimax,) = torch.autograd.grad(term("minimax").g_loss(inp), d_fake)
    (g_bce,) = torch.autograd.grad(term("bce").g_loss(inp), d_fake)
    assert abs(g_minimax.item()) < 1e-3 < abs(g_bce.item())
    assert g_minimax.item() < 0 and g_bce.item() < 0  # both push D(G(z)) up


def test_lsgan_values():
    t = term("lsgan")
    inp = scores_inputs([1.0, 3.0], [0.0, 2.0])
    assert t.d_loss(inp).item() == pytest.approx(0.5 * 2.0 + 0.5 * 2.0)
    assert t.g_loss(inp).item() == pytest.approx(0.5 * 1.0)
    optimum = scores_inputs([1.0, 1.0], [0.0, 0.0])
    assert t.d_loss(optimum).item() == 0.0


def test_hinge_values():
    t = term("hinge")
    inp = scores_inputs([2.0, 0.5, -1.0], [-2.0, 0.0, 0.5])
    assert t.d_loss(inp).item() == pytest.approx(2.5 / 3 + 2.5 / 3)
    assert t.g_loss(inp).item() == pytest.approx(0.5)


# -- wgan-gp -----------------------------------------------------------------
def wgan_inputs(disc, shape, labels=None):
    real, fake = batch(shape, 1), batch(shape, 2)
    call = (lambda x: disc(x, labels)) if labels is not None else disc
    return LossInputs(real=real, fake=fake, d_real=call(real), d_fake=call(fake), labels=labels,
                      discriminator=disc)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_wgan_gp_penalty_zero_for_unit_norm_linear_critic(shape):
    t = term("wgan-gp")
    inp = wgan_inputs(LinearD(features(shape)), shape)
    assert t.gradient_penalty(inp).item() == pytest.approx(0.0, abs=1e-10)
    wasserstein = inp.d_fake.mean() - inp.d_real.mean()
    assert t.d_loss(inp).item() == pytest.approx(wasserstein.item(), abs=1e-5)
    assert t.g_loss(inp).item() == pytest.approx(-inp.d_fake.mean().item())


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_wgan_gp_penalty_large_for_scaled_critic(shape):
    t = term("wgan-gp", gp_weight=10.0)
    inp = wgan_inputs(LinearD(features(shape), scale=3.0), shape)
    assert t.gradient_penalty(inp).item() == pytest.approx((3.0 - 1.0) ** 2, rel=1e-5)
    wasserstein = (inp.d_fake.mean() - inp.d_real.mean()).item()
    assert t.d_loss(inp).item() == pytest.approx(wasserstein + 10.0 * 4.0, rel=1e-5)


def test_wgan_gp_without_penalty_is_the_wasserstein_estimate():
    t = term("wgan-gp", gp_weight=0.0)
    inp = scores_inputs([1.0, 3.0], [0.5, -0.5])
    assert t.d_loss(inp).item() == pytest.approx(0.0 - 2.0)


def test_wgan_gp_sets_n_critic():
    assert build_loss("wgan-gp").n_critic == 5
    assert build_loss("bce").n_critic == 1
    loss = build_loss("wgan-gp+0.1*l1", {"wgan-gp": {"n_critic": 3, "gp_weight": 1.0}})
    assert loss.n_critic == 3
    assert loss.terms[0][1].gp_weight == 1.0


@pytest.mark.parametrize("params", [{"n_critic": 0}, {"n_critic": 2.5}, {"gp_weight": -1.0}])
def test_wgan_gp_rejects_bad_params(params):
    with pytest.raises(UsageError):
        build_loss("wgan-gp", {"wgan-gp": params})


def test_wgan_gp_docstring_warns_about_batchnorm():
    assert "BatchNorm" in ganzoo.get_registry().get("loss", "wgan-gp").doc


# -- r1 ----------------------------------------------------------------------
@pytest.mark.parametrize("disc", [IgnoresInputD(), ZeroTimesInputD()], ids=["ignores-x", "zero-times-x"])
def test_r1_zero_for_constant_discriminator(disc):
    real = batch((4, 1, 3, 3), 1)
    inp = LossInputs(real=real, fake=real, d_real=disc(real), d_fake=disc(real), labels=None, discriminator=disc)
    assert term("r1").d_loss(inp).item() == 0.0
    assert term("r1").g_loss(inp) is None


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_r1_is_half_the_squared_input_gradient(shape):
    disc = LinearD(features(shape), scale=2.0)
    inp = wgan_inputs(disc, shape)
    value = term("r1").d_loss(inp)
    assert value.item() == pytest.approx(0.5 * 2.0 ** 2, rel=1e-5)
    value.backward()  # d/dw of 0.5·||w||² is w: the penalty trains D
    torch.testing.assert_close(disc.w.grad, disc.w.detach())


def test_r1_works_under_no_grad():
    disc = LinearD(4)
    inp = wgan_inputs(disc, (4, 4))
    with torch.no_grad():
        assert term("r1").d_loss(inp).item() == pytest.approx(0.5, rel=1e-5)


@pytest.mark.parametrize("name", ["r1", "wgan-gp"])
def test_penalties_pass_labels_to_a_conditional_discriminator(name):
    shape = (4, 1, 3, 3)
    disc = ConditionalD(features(shape))
    labels = torch.tensor([0, 1, 2, 0])
    inp = wgan_inputs(disc, shape, labels)
    disc.seen.clear()
    value = term(name).d_loss(inp)
    assert torch.isfinite(value)
    assert disc.seen and all(seen is labels for seen in disc.seen)


# -- l1 / l2 -----------------------------------------------------------------
def test_l1_l2_exact_values():
    real = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    fake = torch.tensor([[1.0, 0.0], [1.0, 3.0]])
    inp = scores_inputs([0.0, 0.0], [0.0, 0.0], real=real, fake=fake)
    assert term("l1").g_loss(inp).item() == pytest.approx((1 + 0 + 0 + 2) / 4)
    assert term("l2").g_loss(inp).item() == pytest.approx((1 + 0 + 0 + 4) / 4)
    assert term("l1").d_loss(inp) is None and term("l2").d_loss(inp) is None


@pytest.mark.parametrize("name", ["l1", "l2"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_l1_l2_pair_by_batch_index(name, shape):
    t = term(name)
    real, fake = batch(shape, 1), batch(shape, 2)
    perm = torch.tensor([2, 0, 3, 1])

    def value(r, f):
        return t.g_loss(scores_inputs([0.0] * 4, [0.0] * 4, real=r, fake=f)).item()

    base = value(real, fake)
    assert value(real[perm], fake[perm]) == pytest.approx(base)
    assert value(real, fake[perm]) != pytest.approx(base)
    assert value(real, real) == 0.0


def test_l1_rejects_unpaired_batches():
    inp = scores_inputs([0.0], [0.0], real=torch.zeros(3, 2), fake=torch.zeros(2, 2))
    with pytest.raises(UsageError, match="same index"):
        term("l1").g_loss(inp)


# -- every term: finite scalars, gradients to G and to D ---------------------
BUILTIN = ["bce", "minimax", "lsgan", "hinge", "wgan-gp", "l1", "l2", "r1"]


def run_steps(t: LossTerm, disc: nn.Module, shape, labels=None):
    """One D step and one G step as a trainer runs them; ``fake`` stands in for G's output."""
    call = (lambda x: disc(x, labels)) if labels is not None else disc
    real = batch(shape, 1)
    fake = batch(shape, 2).requires_grad_(True)
    gen = nn.Linear(3, features(shape))  # stands in for G, for terms that read its weights (ortho)
    d_in = LossInputs(real=real, fake=fake.detach(), d_real=call(real), d_fake=call(fake.detach()),
                      labels=labels, discriminator=disc, generator=gen)
    g_in = LossInputs(real=real, fake=fake, d_real=call(real), d_fake=call(fake), labels=labels,
                      discriminator=disc, generator=gen)
    return fake, t.d_loss(d_in), t.g_loss(g_in)


def assert_scalar(value):
    assert isinstance(value, torch.Tensor) and value.dim() == 0
    assert value.dtype == torch.float32 and torch.isfinite(value)


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_gradients_flow(name, shape):
    disc = MLPD(features(shape))
    fake, d_value, g_value = run_steps(term(name), disc, shape)
    assert d_value is not None or g_value is not None
    if d_value is not None:
        assert_scalar(d_value)
        disc.zero_grad()
        d_value.backward()
        grads = [p.grad for p in disc.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)
    if g_value is not None:
        assert_scalar(g_value)
        g_value.backward()
        assert fake.grad is not None and torch.isfinite(fake.grad).all() and fake.grad.abs().sum() > 0


@pytest.mark.parametrize("name", BUILTIN)
def test_under_autocast(name):
    shape = SHAPES["images"]
    disc = MLPD(features(shape))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _fake, d_value, g_value = run_steps(term(name), disc, shape)
        for value in (d_value, g_value):
            if value is not None:
                assert_scalar(value)


def test_wgan_gp_penalty_is_float32_under_autocast():
    shape = SHAPES["images"]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inp = wgan_inputs(LinearD(features(shape)), shape)
        assert inp.d_fake.dtype == torch.bfloat16  # the critic itself did run in low precision
        assert term("wgan-gp").gradient_penalty(inp).item() == pytest.approx(0.0, abs=1e-10)


# -- everything registered ----------------------------------------------------
def registered():
    return ganzoo.get_registry().components("loss")


def test_builtin_terms_are_registered_with_roles():
    roles = {s.name: s.role for s in registered()}
    assert {n: roles.get(n) for n in BUILTIN} == {
        "bce": "adversarial", "minimax": "adversarial", "lsgan": "adversarial", "hinge": "adversarial",
        "wgan-gp": "adversarial", "l1": "regularizer", "l2": "regularizer", "r1": "regularizer"}
    params = {p.name: (p.type, p.default) for p in ganzoo.get_registry().get("loss", "wgan-gp").params}
    assert params == {"gp_weight": ("float", 10.0), "n_critic": ("int", 5)}


@pytest.mark.parametrize("spec", registered(), ids=lambda s: s.name)
def test_every_registered_loss_smoke(spec):
    assert spec.role in ("adversarial", "regularizer")
    assert spec.summary, f"loss {spec.name!r} has no help text"
    text = spec.name if spec.role == "adversarial" else f"bce+0.5*{spec.name}"
    loss = build_loss(text)
    impl = loss.terms[-1][1]
    assert isinstance(impl, LossTerm)
    if impl.reads_pairs:  # only a translation algorithm makes them: check_loss gives it pairs (test_conformance)
        pytest.skip(f"{spec.name} reads the pairs {impl.reads_pairs} of a translation algorithm")
    if impl.reads_generator:  # needs a generator with those methods and z: check_loss gives both (test_conformance)
        pytest.skip(f"{spec.name} calls the generator's {', '.join(impl.reads_generator)}")
    for shape in SHAPES.values():
        _fake, d_value, g_value = run_steps(impl, MLPD(features(shape)), shape)
        assert d_value is not None or g_value is not None
        for value in (d_value, g_value):
            if value is not None:
                assert_scalar(value)


def test_registration_modules_do_not_import_torch():
    code = ("import sys, ganzoo_plugins.losses.adversarial, ganzoo_plugins.losses.norms, "
            "ganzoo_plugins.losses.penalties; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- errors inside a term, the component that cut the graph, and the data a term supports ------------

class Broken(LossTerm):
    """Raises inside the discriminator step."""

    def d_loss(self, inputs):
        raise ValueError("boom\nsecond line")


class BrokenG(LossTerm):
    """Raises inside the generator step, for a reason that has nothing to do with d_real."""

    def g_loss(self, inputs):
        raise RuntimeError("no")


class ReadsRealScores(LossTerm):
    """Reads d_real in the generator step without asking for it."""

    def g_loss(self, inputs):
        return (inputs.d_fake - inputs.d_real.mean()).pow(2).mean()


class ImagesOnly(LossTerm):
    """A term that means something on images only (and says so)."""

    modalities = ("image",)

    def g_loss(self, inputs):
        return inputs.fake.float().diff(dim=-1).abs().mean()


class SilentOnPoints(ImagesOnly):
    """The same term without the declaration: None on points."""

    modalities = ("image", "points")

    def g_loss(self, inputs):
        return None if inputs.fake.dim() == 2 else super().g_loss(inputs)


class DetachingD(nn.Module):
    """Scores its input detached: the generator gets no gradient through it."""

    def __init__(self, data, hidden=8):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(data.numel, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x, labels=None):
        return self.net(x.detach()).view(-1)


class ErrorsPlugin:
    @ganzoo.hookimpl
    def ganzoo_register_components(self, register):
        register.loss("broken", Broken, role="regularizer")
        register.loss("reads-real", ReadsRealScores, role="regularizer")
        register.loss("broken-g", BrokenG, role="regularizer")
        register.loss("images-only", ImagesOnly, role="regularizer")
        register.loss("silent-on-points", SilentOnPoints, role="regularizer")
        register.discriminator("detaching", DetachingD)


@pytest.fixture
def errors_plugin(toy, add_plugin):
    return add_plugin(ErrorsPlugin(), "errors-plugin", dist="errors-dist", version="1.2")


def _fit(loss: str, disc: str = "toy-mlp", dataset: str = "toy-blobs", **train):
    from conftest import fit, tiny

    cfg = tiny(**{"steps": 2, **train})
    cfg["loss"], cfg["disc"], cfg["dataset"] = {"name": loss}, {"name": disc}, {"name": dataset}
    return fit(cfg)


def test_a_term_that_raises_is_one_line_naming_its_plugin(errors_plugin):
    from ganzoo.base.errors import ComponentError

    with pytest.raises(ComponentError) as info:
        _fit("toy-bce+broken")
    text = str(info.value)
    assert "\n" not in text
    assert text == ("loss 'broken' from plugin 'errors-plugin' (errors-dist 1.2) failed in d_loss: "
                    "ValueError: boom")


def test_a_g_loss_reading_d_real_unasked_is_told_what_to_set(errors_plugin):
    from ganzoo.base.errors import ComponentError

    with pytest.raises(ComponentError, match=r"failed in g_loss: (AttributeError|TypeError).*"
                                             r"\(its g_loss reads d_real: set needs_real_scores_for_g = True"):
        _fit("toy-bce+reads-real")


def test_a_discriminator_that_detaches_its_input_is_blamed_not_the_loss(errors_plugin):
    from ganzoo.base.errors import ComponentError

    with pytest.raises(ComponentError) as info:
        _fit("bce", disc="detaching")
    assert str(info.value).startswith("discriminator 'detaching' from plugin 'errors-plugin' (errors-dist 1.2) "
                                      "gives the generator nothing to learn from")
    assert "loss 'bce'" not in str(info.value)


def test_a_term_refuses_the_data_it_does_not_declare_before_writing(errors_plugin):
    from pathlib import Path

    from ganzoo.base.errors import UnsupportedDataError

    with pytest.raises(UnsupportedDataError, match="loss 'images-only' works on image data; dataset 'toy-blobs' "
                                                   "holds points data"):
        _fit("toy-bce+images-only")
    assert not Path("run").exists()
    assert _fit("toy-bce+images-only", dataset="toy-digits").step == 2


def test_check_loss_honours_modalities(errors_plugin):
    from ganzoo.testing import ConformanceError, check_loss

    report = check_loss("images-only")
    assert report.supported == [(1, 28, 28)] and (2,) in report.unsupported
    with pytest.raises(ConformanceError, match=r"g_loss returns a value on image data but None on points data; "
                                               r"declare modalities = \('image',\)"):
        check_loss("silent-on-points")
    with pytest.raises(ConformanceError, match="needs_real_scores_for_g"):
        check_loss("reads-real")
    for name in ("broken", "broken-g"):
        with pytest.raises(ConformanceError) as info:
            check_loss(name)
        assert "needs_real_scores_for_g" not in str(info.value)  # no hint where it does not apply


# -- what a run says at its start, and what it logs --------------------------------------------------

@pytest.mark.parametrize("loss, disc, dataset, expected", [
    ("toy-bce+l1", "toy-mlp", "toy-blobs", ["loss 'l1' compares each fake with an unrelated real sample of 'toy-blobs'"]),
    ("wgan-gp", "toy-mlp", "toy-blobs", ["discriminator 'toy-mlp' uses BatchNorm, which couples the samples whose "
                                         "input gradients 'wgan-gp' penalizes one by one (a discriminator without"]),
    ("toy-bce+r1", "vanilla", "toy-blobs", ["discriminator 'vanilla' uses dropout, so the input gradient 'r1' "
                                            "penalizes is that of a randomly thinned network (--set disc.dropout=0"]),
    ("hinge+r1", "dcgan", "mnist-10k", ["discriminator 'dcgan' uses BatchNorm, which couples the samples whose "
                                        "input gradients 'r1' penalizes one by one (--set disc.norm=layer gives"]),
    ("toy-bce", "toy-mlp", "toy-blobs", []),
])
def test_run_start_warnings(errors_plugin, capsys, loss, disc, dataset, expected):
    _fit(loss, disc=disc, dataset=dataset, steps=1, batch_size=16)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == len(expected), warnings
    for line, text in zip(warnings, expected):
        assert text in line


@pytest.mark.parametrize("loss, probabilities", [("bce", True), ("minimax", True), ("lsgan", False),
                                                  ("hinge", False), ("wgan-gp", False)])
def test_probabilities_are_logged_only_for_logit_scores(errors_plugin, loss, probabilities):
    row = _fit(loss, steps=1, batch_size=16).final
    assert ("d_real_prob" in row and "d_fake_prob" in row) is probabilities
    assert "d_real" in row and "d_fake" in row  # the raw scores, whatever they mean, are always there


@pytest.mark.parametrize("name, centre", [("l1", lambda x: x.median(0).values), ("l2", lambda x: x.mean(0))])
def test_l1_l2_on_unpaired_data_favour_one_average_sample(name, centre):
    """With fakes unrelated to the reals, one constant output (median for l1, mean for l2) beats every real sample."""
    real = torch.rand(257, 6, generator=torch.Generator().manual_seed(0)) ** 3  # skewed: median != mean
    t = term(name)

    def value(sample):  # every fake the same sample, against every real
        fake = sample.expand_as(real)
        return t.g_loss(scores_inputs([0.0] * len(real), [0.0] * len(real), real=real, fake=fake)).item()

    best = value(centre(real))
    assert all(best < value(real[i]) for i in range(len(real)))
    assert best < value(real.mean(0) if name == "l1" else real.median(0).values)  # the other average loses
