"""ganzoo.training.composition: every name a run uses, looked up once, before torch; and the errors a wrong name gets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ganzoo.training.assemble
import ganzoo.training.trainer
from conftest import fit, tiny
from ganzoo import get_registry
from ganzoo.training.composition import Composition, lookup
from ganzoo.config.runconfig import resolve
from ganzoo.base.errors import ParamError, UnknownNameError, UsageError
from ganzoo.config.lossspec import LossSpec, Term

# Runs `ganzoo ARGS` in a fresh interpreter and reports its exit code and whether torch got imported.
PROBE = """
import json, sys
from ganzoo.cli import main
code = 0
try:
    main({args!r})
except SystemExit as exc:
    code = exc.code
print(json.dumps([code, "torch" in sys.modules]), file=sys.__stdout__)
"""


def probe(tmp_path, *args: str) -> tuple[int, bool, str]:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=["run", *args, "--steps", "1", "--out", "r"])],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    code, torch_loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not (tmp_path / "r").exists()
    return code, torch_loaded, proc.stderr


@pytest.mark.parametrize("args, needle", [
    (["--gen", "nosuch"], "unknown generator 'nosuch'"),
    (["--gen", "bce"], "unknown generator 'bce' ('bce' is a loss, not a generator)"),
    (["--gen", "DCGAN"], "did you mean dcgan?"),
    (["--loss", "dcgan"], "'dcgan' is a generator and a discriminator, not a loss"),
    (["--loss", "BCE"], "did you mean bce?"),
    (["--loss", "bce+\u0660.\u0665*l1"], "malformed weight"),  # Arabic-Indic 0.5: float() takes it
    (["--loss", "bce+1_0*l1"], "malformed weight '1_0'"),  # float() reads 10
    (["--loss", "hinge+l1x"], "did you mean l1?"),
    (["--set", "disc.ndf=abc"], "ndf must be"),
    (["--set", "loss.bce.nosuch=1"], "has no parameter 'nosuch'"),
    ([""], "the RECIPE argument is empty"),
    (["dcgan"], "'dcgan' is a generator and a discriminator, not a recipe"),
    (["--set", "eval.num=5"], "'eval' is not a run config table"),
])
def test_wrong_names_fail_in_one_line_before_torch(tmp_path, args, needle):
    code, torch_loaded, stderr = probe(tmp_path, *args)
    assert code == 2, stderr
    assert needle in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert not torch_loaded


def test_lossspec_dcgan_names_its_kinds_not_a_lookalike():
    with pytest.raises(UnknownNameError) as err:
        lookup(resolve(flags={"loss": {"name": "dcgan"}}, recipes=get_registry()), get_registry())
    assert "lsgan" not in str(err.value)


def test_lookup_gives_typed_specs_and_checked_params():
    registry = get_registry()
    config = resolve("dcgan-mnist", flags={"loss": {"name": "wgan-gp+0.5*l1"}},
                     sets=["gen.ngf=32.0", "loss.wgan-gp.n_critic=2"], recipes=registry)
    comp = lookup(config, registry)
    assert isinstance(comp, Composition)
    assert (comp.generator.kind, comp.generator.name) == ("generator", "dcgan")
    assert (comp.discriminator.kind, comp.dataset.kind) == ("discriminator", "dataset")
    assert comp.specs == {"algorithm": comp.algorithm, "generator": comp.generator, "discriminator": comp.discriminator,
                          "dataset": comp.dataset}
    assert comp.algorithm.name == "gan" and comp.config.algo == {"name": "gan"}  # the default, filled in
    assert all(isinstance(t, Term) for t in comp.terms)
    assert [(t.weight, t.name, t.spec.role) for t in comp.terms] == [(1.0, "wgan-gp", "adversarial"),
                                                                     (0.5, "l1", "regularizer")]
    # the config a run records is the checked one: ngf 32.0 is the int the factory declares
    assert config.gen["ngf"] == 32.0 and comp.config.gen["ngf"] == 32 and type(comp.config.gen["ngf"]) is int
    assert comp.config.loss == {"name": "wgan-gp+0.5*l1", "wgan-gp": {"n_critic": 2}}


def test_bad_params_are_found_by_lookup():
    registry = get_registry()
    for sets, error in ((["gen.ngf=abc"], ParamError), (["loss.l1.nosuch=1"], UsageError),
                        (["loss.hinge.margin=1"], UsageError)):  # hinge is not a term of the spec
        config = resolve("dcgan-mnist", flags={"loss": {"name": "bce+l1"}}, sets=sets, recipes=registry)
        with pytest.raises(error):
            lookup(config, registry)


def test_the_loss_spec_is_parsed_once_from_flag_to_loss(monkeypatch):
    from ganzoo.components.build import build_loss

    parsed: list[str] = []
    parse = LossSpec.parse.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(LossSpec, "parse", classmethod(lambda cls, text: (parsed.append(text), parse(cls, text))[1]))
    registry = get_registry()
    config = resolve("vanilla-gaussians", flags={"loss": {"name": "bce+0.5*l1"}}, recipes=registry)
    comp = lookup(config, registry)
    loss = build_loss(comp.terms, comp.config.loss_params)
    assert parsed == ["bce+0.5*l1"]
    assert [(t.name, t.weight) for t, _ in loss.terms] == [("bce", 1.0), ("l1", 0.5)]


def test_trainer_builds_from_the_composition_without_looking_up_again(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    registry = get_registry()
    config = resolve(flags={"gen": {"name": "vanilla", "hidden": [8.0]}, "loss": {"name": "bce"},
                            "dataset": {"name": "gaussians", "n": 256}, "out": "r"},
                     sets=["train.steps=2", "train.batch_size=16", "train.device=cpu"], recipes=registry)
    comp = lookup(config, registry)

    def again(*args, **kwargs):
        raise AssertionError("looked up a second time")

    monkeypatch.setattr(ganzoo.training.trainer, "lookup", again)
    monkeypatch.setattr(ganzoo.training.assemble, "lookup", again)
    result = fit(comp, registry=registry)
    assert result.step == 2
    # what was built and recorded is the checked config (8.0 read as the declared int)
    assert result.config.gen["hidden"] == [8] and type(result.config.gen["hidden"][0]) is int


def test_trainer_given_a_config_looks_names_up_itself(toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnknownNameError, match="did you mean toy-mlp"):
        fit({**tiny(), "gen": {"name": "toy-mpl"}})
    assert not (tmp_path / "run").exists()
