"""`ganzoo run` under torchrun: two CPU processes (gloo), one run folder, a checkpoint any world size reads."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import install_toy, toy_env

pytestmark = pytest.mark.slow

# Trains in-process under torchrun and reports, from rank 0, whether both ranks ended with the same weights.
DRIVER = '''
import json, sys, torch, torch.distributed as dist
from ganzoo.trainer import Trainer
dist.init_process_group("gloo")
cfg = json.loads(sys.argv[1])
tr = Trainer(cfg, progress="quiet")
res = tr.fit()
sums = []
for m in (tr.parts.G, tr.parts.D):
    # parameters only: BatchNorm running stats are per rank (buffers are not broadcast)
    s = torch.stack([p.detach().double().sum() for p in m.parameters()]).sum().reshape(1)
    out = [torch.zeros(1, dtype=torch.double) for _ in range(dist.get_world_size())]
    dist.all_gather(out, s)
    sums.append([x.item() for x in out])
if dist.get_rank() == 0:
    with open(sys.argv[2], "w") as fh:
        json.dump({"sums": sums, "step": res.step, "world_size": res.world_size}, fh)
dist.barrier()
dist.destroy_process_group()
'''


def torchrun(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    full = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    return subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)


def _has_builtins() -> bool:
    import ganzoo

    reg = ganzoo.get_registry()
    return reg.has("generator", "vanilla") and reg.has("loss", "bce") and reg.has("dataset", "gaussians")


@pytest.mark.skipif(not _has_builtins(), reason="built-in vanilla/bce/gaussians not available")
def test_torchrun_cli_one_run_folder(tmp_path, cli):
    r = torchrun("-m", "ganzoo", "run", "--gen", "vanilla", "--loss", "bce", "--dataset", "gaussians",
                 "--steps", "3", "--batch-size", "32", "--device", "cpu", "--out", "r", "--set", "train.log_every=1",
                 "--eval-every", "2", "--eval-num", "200", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # one run folder, written by rank 0 alone
    assert r.stdout.count("run finished") + r.stdout.count("run:") == 1  # one summary
    cfg = tomllib.loads((tmp_path / "r" / "config.toml").read_text())
    assert cfg["meta"]["world_size"] == 2 and cfg["meta"]["total_batch_size"] == 64
    assert cfg["train"]["batch_size"] == 32  # per process
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows if "eval" not in row] == [1, 2, 3]
    assert all(math.isfinite(row[k]) for row in rows if "eval" not in row for k in ("d_loss", "g_loss"))
    # rank 0 alone evaluates (the other rank goes on without deadlocking), at step 2 and the last; it prints
    # the last evaluation twice: as it happens and in the summary
    assert [row["step"] for row in rows if "eval" in row] == [2, 3] and r.stdout.count("eval (step 3)") == 2
    s = cli("sample", "r", "--out", "x.png", cwd=tmp_path)
    assert s.returncode == 0, s.stderr
    # resumes with one process, steps being the total
    s = cli("run", "--resume", "r", "--steps", "5", "--quiet", cwd=tmp_path)
    assert s.returncode == 0, s.stderr
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows if "eval" not in row] == [1, 2, 3, 4, 5]


def test_ranks_stay_in_sync(tmp_path):
    """Conditional models with BatchNorm, EMA and 5 critic steps: both ranks end with identical weights."""
    site = install_toy(tmp_path / "site")
    (tmp_path / "driver.py").write_text(DRIVER)
    cfg = {"gen": {"name": "toy-cmlp"}, "disc": {"name": "toy-cmlp"}, "loss": {"name": "toy-critic"},
           "dataset": {"name": "toy-digits"}, "out": "r",
           "train": {"steps": 3, "batch_size": 8, "latent_dim": 4, "ema": 0.9, "device": "cpu", "log_every": 1}}
    r = torchrun("driver.py", json.dumps(cfg), "report.json", cwd=tmp_path, env=toy_env(site))
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["step"] == 3 and report["world_size"] == 2
    (g0, g1), (d0, d1) = report["sums"]
    assert g0 == g1 and d0 == d1
    ck = tmp_path / "r" / "checkpoints" / "latest.safetensors"
    from safetensors import safe_open

    with safe_open(str(ck), "pt") as f:
        keys = set(f.keys())
    assert not any("module." in k for k in keys)  # unwrapped state: loads with any world size
    assert "ema.net.0.weight" in keys
