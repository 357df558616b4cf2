"""What every algorithm shares (EMA, AMP, compile, DDP) is the trainer's, or the algorithm's registration says it
does not support it and the run is refused in one line; models and algorithms name what they need of each
other, checked before torch is imported (issue 24, items 1 and 2).

Each test does what a third-party author does: a plugin defined here, registered with ``add_plugin``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from conftest import fit, make_dist, one_line, run_cli, tiny
from ganzoo import hookimpl
from ganzoo.training.algorithm import Algorithm, update
from ganzoo.runs.checkpoint import load
from ganzoo.training.composition import lookup
from ganzoo.config.runconfig import resolve
from ganzoo.config.settings import TrainSettings
from ganzoo.base.errors import ComponentError, UsageError
from ganzoo.components.interfaces import LossInputs
from ganzoo.runs.sampling import fixed_batch, generate, write_picture
from ganzoo.testing import check_algorithm


class Alternating(Algorithm):
    """D's turn on odd steps, G's on even ones; keeps the run's EMA through the shared service when asked."""

    def __init__(self, setup, keep=True):
        self.setup, self.loss = setup, setup.loss
        self.G, self.D = setup.generator(), setup.discriminator()
        self.modules = {"generator": self.G, "discriminator": self.D}
        # the shared EMA (None when the run keeps none): the trainer updates it after every step and gives
        # it standing BatchNorm statistics before it is sampled, evaluated or saved
        self.ema = setup.keep_ema(self.G) if keep else None
        if self.ema is not None:
            self.modules["ema"] = self.ema.module
        self.optimizers = {"opt_g": setup.optimizer(self.G.parameters(), "g"),
                           "opt_d": setup.optimizer(self.D.parameters(), "d")}
        t = setup.config.train
        self.z_fixed, _, self.nrow = fixed_batch(self.G, setup.info, t["latent_dim"], t["seed"], False)

    def step(self, next_batch, step, total):
        real, _ = next_batch()
        z = torch.randn(len(real), self.setup.config.train["latent_dim"], generator=self.setup.noise)
        d_turn = step % 2 == 1
        fake = self.G(z)
        shown = fake.detach() if d_turn else fake
        inputs = LossInputs(real, shown, self.D(shown), self.D(real), None, self.D, step, generator=self.G,
                            total=total)
        side = "d_loss" if d_turn else "g_loss"
        value, _ = getattr(self.loss, side)(inputs)
        update(self.optimizers["opt_d" if d_turn else "opt_g"], value, "discriminator" if d_turn else "generator",
               inputs, {}, "alternating")
        return {side: value.detach()}

    def grid(self, path, step):
        model = self.ema.module if self.ema is not None else self.G
        return write_picture(generate(model, self.z_fixed, None), path, self.setup.info, None, self.nrow)


class Plain(Alternating):
    """The same step, registered without declaring any shared service."""


class NeedsAlgorithm:
    """Models that train only with the algorithm 'acme-special', and an algorithm that trains only them."""

    @hookimpl
    def ganzoo_register_components(self, register):
        register.generator("acme-needy", "ganzoo_toy:ToyGen", algorithm="acme-special")
        register.discriminator("acme-needy", "ganzoo_toy:ToyDisc")
        register.algorithm("acme-special", Alternating, generators=("acme-needy",), supports=("ema",))


@pytest.fixture
def acme(toy, add_plugin):
    class Acme:
        @hookimpl
        def ganzoo_register_components(self, register):
            register.algorithm("acme-ema", Alternating, supports=("ema",))
            register.algorithm("acme-plain", Plain)  # declares nothing it shares with the trainer
            register.algorithm("acme-forgets", lambda setup: Alternating(setup, keep=False), supports=("ema",))

    return add_plugin(Acme(), "acme")


def run(algo, tmp_path, name="run", **train):
    cfg = {**tiny(**train), "algo": {"name": algo}}
    cfg["out"] = str(tmp_path / name)
    return cfg


# -- item 1: EMA, AMP, compile and DDP -------------------------------------------------------------------

@pytest.mark.parametrize("form", [{"ema_kimg": 1.0}, {"ema": 0.9}])
def test_an_algorithm_that_declares_no_ema_is_refused_a_run_with_one_before_anything_is_written(acme, tmp_path,
                                                                                                  form):
    with pytest.raises(UsageError) as err:
        fit(run("acme-plain", tmp_path, **form))
    msg = one_line(err)
    key = next(iter(form))
    assert "algorithm 'acme-plain'" in msg and "keeps no EMA" in msg and f"train.{key}" in msg, msg
    assert "train.ema=0" in msg or "train.ema_kimg=0" in msg, msg  # the suggestion
    assert not (tmp_path / "run").exists()


def test_the_shared_ema_of_a_plugin_algorithm_is_kept_updated_saved_and_resumed_bit_for_bit(acme, tmp_path):
    res = fit(run("acme-ema", tmp_path, steps=4, ema=0.5))
    c = load(res.checkpoint)
    G, ema = c.section("generator"), c.section("ema")
    assert ema and set(ema) == set(G)
    w = "net.0.weight"
    assert not torch.equal(ema[w], G[w])  # averaged, not a copy and not the initial weights
    # the trainer's EMA: a plugin that declares it and calls setup.keep_ema passes the resume check with it on
    report = check_algorithm("acme-ema", {**tiny(ema=0.5), "algo": {"name": "acme-ema"}})
    assert "bit-exact resume" in report.checks


def test_the_shared_ema_decays_as_the_builtin_one(acme, tmp_path):
    """Step by step: ema <- beta * ema + (1 - beta) * G after each step, beta the run's decay (0.5 here)."""
    seen = []
    from ganzoo.training import ema as ema_mod

    real_update = ema_mod.update

    def watch(ema, G, decay):
        seen.append(decay)
        return real_update(ema, G, decay)

    import unittest.mock as mock

    with mock.patch.object(ema_mod, "update", watch):
        fit(run("acme-ema", tmp_path, steps=3, ema=0.5))
    assert seen == [0.5, 0.5, 0.5]


def test_an_algorithm_that_declares_ema_but_keeps_none_is_blamed(acme, tmp_path):
    with pytest.raises(ComponentError) as err:
        fit(run("acme-forgets", tmp_path, ema=0.9))
    msg = one_line(err)
    assert "algorithm 'acme-forgets'" in msg and "keep_ema" in msg, msg


def test_compile_and_ddp_are_refused_an_algorithm_that_does_not_declare_them(acme, tmp_path, monkeypatch):
    with pytest.raises(UsageError) as err:
        fit(run("acme-plain", tmp_path, compile=True))
    assert "algorithm 'acme-plain'" in one_line(err) and "train.compile" in str(err.value)
    monkeypatch.setenv("WORLD_SIZE", "2")  # as under torchrun: refused before the process group is joined
    with pytest.raises(UsageError) as err:
        fit(run("acme-plain", tmp_path))
    assert "algorithm 'acme-plain'" in one_line(err) and "DDP" in str(err.value) and "2 processes" in str(err.value)
    assert not (tmp_path / "run").exists()


def test_amp_is_refused_on_cuda_alone_where_it_would_apply(acme):
    from ganzoo.training.composition import check_supports

    spec = acme.get("algorithm", "acme-plain")
    train = TrainSettings.from_table({"amp": True, "compile": False, "ema": 0.0, "ema_kimg": 0.0})
    check_supports(spec, train, world_size=1, cuda=False)  # bf16 autocast is a no-op off CUDA
    with pytest.raises(UsageError, match=r"algorithm 'acme-plain' .*AMP.*--no-amp"):
        check_supports(spec, train, world_size=1, cuda=True)
    for name in ("gan", "progan", "pix2pix", "cyclegan"):  # the built-ins share all of it (cyclegan: no EMA)
        check_supports(acme.get("algorithm", name), replace(train, compile=True), world_size=2, cuda=True)


def test_ganzoo_info_shows_what_an_algorithm_shares(toy):
    proc = run_cli("info", "cyclegan", "--json")
    info = json.loads(proc.stdout)
    entry = info[0] if isinstance(info, list) else info
    assert entry["supports"] == ["amp", "compile", "ddp"]


# -- item 2: models and algorithms name what they need of each other, before torch ---------------------------

def test_a_model_that_needs_an_algorithm_is_refused_another_one_and_picks_it_when_none_is_named(toy, add_plugin):
    registry = add_plugin(NeedsAlgorithm(), "needy")
    base = {"gen": {"name": "acme-needy"}, "loss": {"name": "toy-bce"}, "dataset": {"name": "toy-blobs"}}
    # named none: the algorithm the generator needs, not the default gan
    names = lookup(resolve(base=base, recipes=registry), registry)
    assert names.algorithm.name == "acme-special"
    with pytest.raises(UsageError) as err:
        lookup(resolve(base={**base, "algo": {"name": "gan"}}, recipes=registry), registry)
    msg = one_line(err)
    assert "generator 'acme-needy'" in msg and "acme-special" in msg and "gan" in msg and "--algo acme-special" in msg
    # and the algorithm names the generators it trains
    with pytest.raises(UsageError) as err:
        lookup(resolve(base={**base, "gen": {"name": "toy-mlp"}, "disc": {"name": "toy-mlp"},
                             "algo": {"name": "acme-special"}}, recipes=registry), registry)
    assert "acme-special trains the acme-needy generator" in one_line(err) and "--gen acme-needy" in str(err.value)


def test_progan_the_algorithm_names_its_models_before_torch():
    """ProGAN's step follows the growth of the progan models: it needs them. The progan generator merely prefers
    its algorithm (it trains under gan too: its D then fades its own inputs), so it declares none."""
    code = ("import sys\n"
            "from ganzoo.training.composition import lookup\nfrom ganzoo.config.runconfig import resolve\n"
            "from ganzoo.base.errors import UsageError\nfrom ganzoo.plugin.manager import get_registry\n"
            "r = get_registry()\n"
            "try:\n"
            "    lookup(resolve(base={'algo': {'name': 'progan'}, 'gen': {'name': 'dcgan'}, 'loss': {'name': 'bce'},"
            " 'dataset': {'name': 'mnist-10k'}}, recipes=r), r)\n"
            "except UsageError as e:\n    print(e)\n"
            "print('torch' in sys.modules)\n"
            "print(lookup(resolve(base={'gen': {'name': 'progan'}, 'loss': {'name': 'wgan-gp'}, "
            "'dataset': {'name': 'mnist-10k'}}, recipes=r), r).algorithm.name)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stderr
    assert lines[0].startswith("progan trains the progan generator"), lines
    assert lines[1:] == ["False", "gan"]


def test_ganzoo_run_of_a_model_under_another_algorithm_is_one_line(dist_site, tmp_path):
    toy_src = (Path(__file__).parent / "toy_plugin" / "ganzoo_toy.py").read_text()
    make_dist(dist_site, "ganzoo-needy", "0.1", {
        "ganzoo_toy.py": toy_src,
        "ganzoo_needy.py": ("from ganzoo import hookimpl\n\n@hookimpl\ndef ganzoo_register_components(register):\n"
                            "    register.generator('acme-needy', 'ganzoo_toy:ToyGen', algorithm='toy-alternating')\n"
                            "    register.discriminator('acme-needy', 'ganzoo_toy:ToyDisc')\n")},
        {"needy": "ganzoo_needy", "toy": "ganzoo_toy"})
    proc = run_cli("run", "--algo", "gan", "--gen", "acme-needy", "--loss", "toy-bce", "--dataset", "toy-blobs",
                   "--steps", "1", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2, proc.stderr
    assert "generator 'acme-needy' from plugin 'needy'" in proc.stderr and "--algo toy-alternating" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "r").exists()


# -- item 4: algorithms declare their optimizers and param groups ---------------------------------------------

class Grouped(Alternating):
    """G with two param groups (its first layer at a tenth of the rate) under SGD with momentum; D with Adam."""

    def __init__(self, setup):
        super().__init__(setup, keep=False)
        first, rest = list(self.G.net[0].parameters()), [p for p in list(self.G.net.parameters())[2:]]
        lr = setup.config.train["lr"]
        self.optimizers["opt_g"] = setup.optimizer([{"params": first, "lr": lr / 10}, {"params": rest}], "g",
                                                   torch.optim.SGD, momentum=0.9)


def test_an_algorithms_own_optimizer_and_param_groups_resume_exactly(toy, add_plugin, tmp_path):
    class Acme:
        @hookimpl
        def ganzoo_register_components(self, register):
            register.algorithm("acme-grouped", Grouped)

    add_plugin(Acme(), "acme")
    from ganzoo.training.trainer import Trainer

    cfg = run("acme-grouped", tmp_path, steps=4, lr=0.05)
    trainer = Trainer(cfg, progress="quiet")
    trainer.fit()
    opt = trainer.algorithm.optimizers["opt_g"]
    assert isinstance(opt, torch.optim.SGD) and [g["lr"] for g in opt.param_groups] == [0.005, 0.05]
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    # stopped at 2 and resumed, every group keeps its own rate and its momentum buffers: bit for bit
    report = check_algorithm("acme-grouped", {**tiny(lr=0.05), "algo": {"name": "acme-grouped"}})
    assert "bit-exact resume" in report.checks
    resumed = Trainer({**cfg, "out": str(tmp_path / "r"), "train": {**cfg["train"], "steps": 2}}, progress="quiet")
    resumed.fit()
    again = Trainer({**cfg, "out": str(tmp_path / "r"), "train": {**cfg["train"], "steps": 4}}, resume=True,
                    progress="quiet")
    again.fit()
    assert [g["lr"] for g in again.algorithm.optimizers["opt_g"].param_groups] == [0.005, 0.05]
