"""A run's seed is bounded where ganzoo derives other seeds from it: a seed torch cannot take is one line at
the start, not a traceback after the run folder exists (issue 23, the same class as sample's --seed)."""

from __future__ import annotations

import pytest

from ganzoo.base.errors import ConfigError
from ganzoo.config.settings import TrainSettings


@pytest.mark.parametrize("seed", [2**32, 2**64, 2**70])
def test_a_seed_beyond_32_bits_is_refused_by_the_settings(seed):
    with pytest.raises(ConfigError, match=r"train.seed must be an integer >= 0 and < 4294967296"):
        TrainSettings.from_table({"seed": seed})


def test_the_largest_seed_trains_its_ema(tmp_path, toy):
    """2**32 - 1 passes, and the seeds derived from it (the EMA's standing statistics) are ones torch takes."""
    from conftest import fit, tiny

    assert TrainSettings.from_table({"seed": 2**32 - 1}).seed == 2**32 - 1
    cfg = tiny(steps=2, seed=2**32 - 1, ema_kimg=1)
    cfg["out"] = str(tmp_path / "run")
    assert fit(cfg).run_dir.is_dir()


def test_run_with_a_huge_seed_is_one_line_and_writes_nothing(cli, tmp_path):
    r = cli("run", "--seed", str(2**64), "--steps", "1", "--out", "r", cwd=tmp_path)
    assert r.returncode == ConfigError.exit_code
    assert r.stderr.strip().count("\n") == 0 and "train.seed" in r.stderr
    assert not (tmp_path / "r").exists()
