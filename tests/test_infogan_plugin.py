"""A third-party algorithm that owns its whole life (issue 24): InfoGAN, as the package tests/infogan_plugin.

The package is written from docs/plugins.md alone and installed here as a distribution with an entry point,
as pip would. Its generator takes named latent codes, its discriminator has an auxiliary head; it trains
with --ema, resumes bit for bit, samples by code in its own grid layout, evaluates with its own metric, and
ships a pretrained generator that `ganzoo sample NAME` and `ganzoo.load(NAME)` read back.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import run_cli

PACKAGE = Path(__file__).resolve().parent / "infogan_plugin" / "ganzoo_infogan"
STEPS = 80


def _install(site: Path) -> Path:
    """The package and its .dist-info under ``site``, as `pip install tests/infogan_plugin --target site` lays
    them out (without pip's seconds of start-up)."""
    shutil.copytree(PACKAGE, site / "ganzoo_infogan", ignore=shutil.ignore_patterns("__pycache__"))
    info = site / "ganzoo_infogan-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ganzoo-infogan\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganzoo]\ninfogan = ganzoo_infogan\n")
    return site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return _install(tmp_path_factory.mktemp("infogan-site"))


def _env(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


@pytest.fixture
def installed(site, monkeypatch):
    """The package importable and discovered in this process too (entry points are read from sys.path)."""
    import ganzoo.plugin.manager as gp

    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    gp.reset()
    yield site
    gp.reset()
    for name in [m for m in sys.modules if m.startswith("ganzoo_infogan")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def run(site, tmp_path_factory) -> Path:
    """A short run of the package's recipe from the command line, with the trainer's EMA."""
    out = tmp_path_factory.mktemp("infogan") / "run"
    proc = run_cli("run", "infogan-mnist", "--steps", str(STEPS), "--batch-size", "32", "--ema-kimg", "1", "--set", "train.log_every=20",
                   "--out", str(out), "--quiet", env=_env(site))
    assert proc.returncode == 0, proc.stderr
    return out


def test_it_registers_through_its_entry_point(site):
    proc = run_cli("info", "infogan-d", "--json", env=_env(site))
    assert proc.returncode == 0, proc.stderr
    entry = json.loads(proc.stdout)
    assert entry["kind"] == "discriminator" and entry["heads"] == ["q"] and entry["distribution"] == "ganzoo-infogan"
    proc = run_cli("list", "--pretrained", env=_env(site))
    assert "infogan-mnist" in proc.stdout


def test_a_loss_it_does_not_train_with_is_refused_before_torch(site, tmp_path):
    proc = run_cli("run", "infogan-mnist", "--loss", "wgan-gp", "--out", str(tmp_path / "r"), env=_env(site))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "infogan trains with the loss terms bce, lsgan, hinge; the loss spec names 'wgan-gp'" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_it_trains_with_the_trainers_ema_and_its_head_learns(run):
    from ganzoo.runs.checkpoint import load

    ck = load(run / "checkpoints" / "latest.safetensors")
    assert ck.step == STEPS and ck.section("ema") and any(k.startswith("q.") for k in ck.section("discriminator"))
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    info = [r["d/info_cat"] for r in lines if "d/info_cat" in r]
    # Q starts at chance on 10 categories (cross-entropy ln 10) and learns to recover the code G was given
    assert len(info) == 4 and info[-1] < math.log(10) - 0.5, info


def test_it_resumes_bit_for_bit(installed):
    from ganzoo.testing import check_algorithm

    report = check_algorithm("infogan")  # three steps straight, and stopped at 2 then resumed: the same tensors
    assert report.passed


def test_it_samples_by_code_in_its_own_layout(run, site, tmp_path):
    proc = run_cli("sample", str(run), "--out", str(tmp_path / "grid.safetensors"), env=_env(site))
    assert proc.returncode == 0, proc.stderr
    codes = load_file(str(tmp_path / "grid.safetensors"))["codes"]
    # the paper's figure: a row per value of the categorical code, the continuous c1 swept across the columns
    assert torch.equal(codes[:, :10].argmax(1), torch.arange(10).repeat_interleave(8))
    assert torch.allclose(codes[:, 10], torch.linspace(-2, 2, 8).repeat(10))
    proc = run_cli("sample", str(run), "--out", str(tmp_path / "grid.png"), env=_env(site))
    with Image.open(tmp_path / "grid.png") as im:
        assert im.size == (2 + 8 * 30, 2 + 10 * 30)  # 8 columns, 10 rows of 28 px digits
    proc = run_cli("sample", str(run), "--code", "digit=3", "--code", "c2=0.5", "--num", "6",
                   "--out", str(tmp_path / "three.safetensors"), env=_env(site))
    assert proc.returncode == 0, proc.stderr
    codes = load_file(str(tmp_path / "three.safetensors"))["codes"]
    assert len(codes) == 6 and (codes[:, :10].argmax(1) == 3).all() and (codes[:, 11] == 0.5).all()
    assert not (codes[:, 10] == codes[0, 10]).all()  # the codes not given are drawn from their prior


@pytest.mark.parametrize(("args", "says"), [
    (["--code", "digit=12"], "--code digit=12: out of range (0..9)"),
    (["--code", "angle=1"], "takes no code.angle (it takes --code digit=..., --code c1=..., --code c2=...)"),
    (["--code", "digit"], "--code 'digit': expected NAME=VALUE"),
    (["--truncation", "0.5"], "declares no truncation trick"),
])
def test_a_wrong_code_is_one_line(run, site, tmp_path, args, says):
    proc = run_cli("sample", str(run), *args, "--out", str(tmp_path / "x.png"), env=_env(site))
    assert proc.returncode == 2 and says in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()


def test_it_evaluates_with_its_own_metric(run, site):
    proc = run_cli("eval", str(run), "--metric", "code-purity", "--num", "200", "--json", env=_env(site))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert 0.1 <= result["code_purity"] <= 1 and "fd" not in result  # that metric alone
    # plain `ganzoo eval`: the reader's default set, with code-purity and without conditional-accuracy (codes
    # are not the data's classes)
    proc = run_cli("eval", "infogan-mnist", "--num", "200", "--json", "--no-inception", env=_env(site))
    result = json.loads(proc.stdout)
    assert proc.returncode == 0 and {"fd", "recall", "code_purity"} <= set(result), proc.stderr
    assert "conditional_accuracy" not in result and result["source"] == "infogan-mnist"
    # its shipped generator's categorical code tells the digit far better than chance (0.1)
    assert result["code_purity"] > 0.3


def test_its_shipped_generator_samples_and_loads_by_name(installed, tmp_path):
    import ganzoo
    from ganzoo_infogan.trained import InfoGANModel

    proc = run_cli("sample", "infogan-mnist", "--code", "digit=1", "--out", str(tmp_path / "p.png"),
                   env=_env(installed))
    assert proc.returncode == 0, proc.stderr
    loaded = ganzoo.load("infogan-mnist")
    assert isinstance(loaded, InfoGANModel) and loaded.pretrained == "infogan-mnist" and loaded.ema
    a = loaded.sample(4, seed=1, **{"code.digit": 2})
    assert a.shape == (4, 1, 28, 28) and torch.equal(a, loaded.sample(4, seed=1, **{"code.digit": 2}))
    assert not torch.equal(a, loaded.sample(4, seed=1, **{"code.digit": 5}))  # the code reaches the generator


def test_the_docs_show_this_package_as_it_is():
    """docs/plugins.md §11.1 quotes this package: each line of its registration block is the package's own."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    section = doc[doc.index("### 11.1"):doc.index("## 12.")]
    import re

    (registration,) = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "register.generator(" in b]
    source = " ".join((PACKAGE / "__init__.py").read_text().split())
    for line in registration.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            assert " ".join(line.split()) in source, line
