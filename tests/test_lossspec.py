"""The loss-spec grammar (``bce+0.5*l1``) and the CompositeLoss it builds."""

from __future__ import annotations

import pytest

import ganzoo
from ganzoo.base.errors import UsageError
from ganzoo.config.lossspec import format_terms, parse_loss_spec


def parse(text):
    return [(t.weight, t.name) for t in parse_loss_spec(text, ganzoo.get_registry())]


@pytest.mark.parametrize("text, expected", [
    ("bce", [(1.0, "bce")]),
    ("bce+l1", [(1.0, "bce"), (1.0, "l1")]),
    ("bce+0.5*l1+0.1*l2", [(1.0, "bce"), (0.5, "l1"), (0.1, "l2")]),
    ("hinge+10*r1", [(1.0, "hinge"), (10.0, "r1")]),
    (" bce + 0.5 * l1 ", [(1.0, "bce"), (0.5, "l1")]),
    ("1e-3*l2+wgan-gp", [(0.001, "l2"), (1.0, "wgan-gp")]),
    ("2*lsgan", [(2.0, "lsgan")]),
])
def test_valid_specs(text, expected):
    assert parse(text) == expected


def test_roles_come_from_the_registry():
    terms = parse_loss_spec("hinge+10*r1+l1", ganzoo.get_registry())
    assert [t.spec.role for t in terms] == ["adversarial", "regularizer", "regularizer"]
    assert format_terms(terms) == "hinge+10*r1+l1"


def reject(text) -> UsageError:
    with pytest.raises(UsageError) as info:
        parse_loss_spec(text, ganzoo.get_registry())
    assert info.value.exit_code == 2
    return info.value


def test_unknown_term_suggests_a_near_name():
    # l1, l2 and pl each share one of l3's two characters, equally close for difflib (which breaks the tie
    # toward pl); any of them is a near name
    message = str(reject("bce+l3"))
    assert "unknown loss 'l3'" in message
    assert any(f"did you mean {n}?" in message for n in ("l1", "l2", "pl"))


@pytest.mark.parametrize("text, suggestion", [("bce+hnige", "hinge"), ("bec+l1", "bce"), ("wgan-pg", "wgan-gp")])
def test_unknown_term_suggests_the_closest(text, suggestion):
    assert f"did you mean {suggestion}" in str(reject(text))


@pytest.mark.parametrize("text", ["x*l1", "0.5**l1", "-1*l1", "0*l1", "inf*l1", "nan*l1", "0.5*", "*l1",
                                  "0.5*0.5*l1", "BCE", "bce l1"])
def test_malformed_terms_and_weights(text):
    reject(text if text.startswith(("bce", "BCE")) else f"bce+{text}")


@pytest.mark.parametrize("text", ["l1+l2", "r1", "0.5*l1"])
def test_no_adversarial_term(text):
    err = reject(text)
    assert "no adversarial term" in str(err) and "bce" in str(err)


@pytest.mark.parametrize("text", ["bce+hinge", "lsgan+l1+wgan-gp"])
def test_two_adversarial_terms(text):
    assert "two adversarial terms" in str(reject(text))


@pytest.mark.parametrize("text", ["bce++l1", "bce+", "+bce", "bce+ +l1"])
def test_empty_term(text):
    assert "empty term" in str(reject(text))


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_spec(text):
    assert "empty" in str(reject(text))


def test_repeated_term():
    assert "twice" in str(reject("bce+l1+0.5*l1"))


def test_composite_loss_weights_each_side():
    import torch
    from torch import nn

    from ganzoo.components.build import build_loss
    from ganzoo.components.interfaces import LossInputs

    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 1)

        def forward(self, x):
            return self.lin(x).squeeze(1)

    torch.manual_seed(0)
    disc = D()
    real, fake = torch.randn(5, 2), torch.randn(5, 2)
    inp = LossInputs(real=real, fake=fake, d_real=disc(real), d_fake=disc(fake), labels=None,
                     discriminator=disc)
    registry = ganzoo.get_registry()
    bce, l1, hinge, r1 = (registry.get("loss", n).load_factory()() for n in ("bce", "l1", "hinge", "r1"))

    loss = build_loss("bce+0.5*l1")
    d_total, d_parts = loss.d_loss(inp)
    g_total, g_parts = loss.g_loss(inp)
    assert d_total.item() == pytest.approx(bce.d_loss(inp).item())
    assert set(d_parts) == {"bce"} and set(g_parts) == {"bce", "l1"}
    assert g_total.item() == pytest.approx(bce.g_loss(inp).item() + 0.5 * l1.g_loss(inp).item())
    assert loss.summary() == [{"name": "bce", "weight": 1.0, "role": "adversarial"},
                               {"name": "l1", "weight": 0.5, "role": "regularizer"}]

    loss = build_loss("hinge+10*r1")
    d_total, _ = loss.d_loss(inp)
    assert d_total.item() == pytest.approx(hinge.d_loss(inp).item() + 10 * r1.d_loss(inp).item(), rel=1e-6)
    assert loss.g_loss(inp)[0].item() == pytest.approx(hinge.g_loss(inp).item())


# -- the one parser: registry-free, ASCII weights ------------------------------------------------

def test_parse_needs_no_registry():
    from ganzoo.config.lossspec import LossSpec

    spec = LossSpec.parse(" hinge + 10*r1 + 1e-3 * not-registered ")
    assert spec.terms == ((1.0, "hinge"), (10.0, "r1"), (0.001, "not-registered"))
    assert spec.names == ("hinge", "r1", "not-registered") and spec.text == " hinge + 10*r1 + 1e-3 * not-registered "
    assert spec.composed and LossSpec.parse("2*bce").composed and not LossSpec.parse("bce").composed


@pytest.mark.parametrize("weight", ["\u0660.\u0665", "1_0", "\uff11", "0x1", "1e", ".", "1.5.2", "1 0", "½",
                                    "inf", "nan", "-0.5", "1e5_0"])
def test_weights_are_plain_ascii_decimals(weight):
    # float() accepts the first three ("٠.٥" = 0.5, "1_0" = 10, a full-width 1) and inf, nan and -0.5
    assert f"malformed weight {weight!r}" in str(reject(f"bce+{weight}*l1"))


@pytest.mark.parametrize("weight, value", [("0.5", 0.5), ("10", 10.0), ("1e-3", 1e-3), ("2E2", 200.0), (".25", 0.25),
                                           ("3.", 3.0), ("007", 7.0)])
def test_ascii_weights_read_as_decimals(weight, value):
    assert parse(f"bce+{weight}*l1") == [(1.0, "bce"), (value, "l1")]


def test_zero_and_overflowing_weights():
    assert "positive finite" in str(reject("bce+0*l1")) and "positive finite" in str(reject("bce+1e999*l1"))


@pytest.mark.parametrize("text, suggestion", [("BCE", "bce"), ("bce+L1", "l1"), ("Wgan-GP", "wgan-gp")])
def test_capitals_get_the_lowercase_name(text, suggestion):
    assert f"did you mean {suggestion}?" in str(reject(text))


def test_a_generator_name_as_a_term_says_what_it_is():
    message = str(reject("dcgan"))
    assert "'dcgan' is a generator and a discriminator, not a loss" in message and "lsgan" not in message
