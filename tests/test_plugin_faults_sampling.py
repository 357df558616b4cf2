"""A plugin's generator that fails, sys.exit() included, while a trained model is sampled or evaluated: one line
naming it and the documented exit code, as at build and while training (issue 23, item 1's class of bug on the
sampling side)."""

from __future__ import annotations

import sys

import pytest
import torch

import ganzoo
from conftest import fit, tiny
from ganzoo import hookimpl
from ganzoo.base.errors import ComponentError
from test_faults_round2 import ganzoo as cli, lines


class SamplingExit(torch.nn.Module):
    """Trains as a plain MLP; once `SamplingExit.armed`, every forward pass after the first (the probe a load
    makes) calls sys.exit(3): it builds, and fails while it draws."""

    armed = False
    calls = 0

    def __init__(self, data, latent_dim=100):
        super().__init__()
        self.data = data
        self.net = torch.nn.Linear(latent_dim, data.numel)

    def forward(self, z, labels=None):
        if SamplingExit.armed:
            SamplingExit.calls += 1
            if SamplingExit.calls > 1:
                sys.exit(3)
        return self.net(z).view(len(z), *self.data.shape)


class Plugin:
    @hookimpl
    def ganzoo_register_components(self, register):
        register.generator("exits-sampling", SamplingExit)


@pytest.fixture
def trained(add_plugin, toy, tmp_path):
    add_plugin(Plugin(), "exits-later", dist="ganzoo-exits-later", version="1.0")
    cfg = tiny(steps=2)
    cfg["gen"], cfg["disc"], cfg["out"] = {"name": "exits-sampling"}, {"name": "toy-mlp"}, str(tmp_path / "run")
    run = fit(cfg).run_dir
    SamplingExit.armed, SamplingExit.calls = True, 0
    yield run
    SamplingExit.armed = False


def test_load_sample_of_a_generator_calling_sys_exit_is_a_component_error(trained):
    with pytest.raises(ComponentError, match=r"generator 'exits-sampling' from plugin 'exits-later'.* failed while "
                                             r"sampling: it called sys.exit\(3\)"):
        ganzoo.load(trained).sample(4)


@pytest.mark.parametrize("command", [["sample", "--out", "x.png"], ["eval", "--num", "20"]])
def test_sample_and_eval_report_it_in_one_line_with_the_plugin_exit_code(trained, capsys, tmp_path, monkeypatch,
                                                                         command):
    monkeypatch.chdir(tmp_path)
    code, _out, err = cli(capsys, command[0], str(trained), *command[1:])
    assert code == ComponentError.exit_code
    assert len(lines(err)) == 1 and "exits-sampling" in err and "sys.exit(3)" in err, err
    assert not (tmp_path / "x.png").exists()
