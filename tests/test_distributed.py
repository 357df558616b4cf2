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
import torch
from conftest import install_toy, toy_env

from ganzoo.interfaces import Dataset

pytestmark = pytest.mark.slow

# Trains in-process under torchrun and reports, from rank 0, whether both ranks ended with the same weights.
DRIVER = '''
import json, sys, torch, torch.distributed as dist
from ganzoo.training.trainer import Trainer
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


# -- randomness per rank, and resume ----------------------------------------------------------------

# Trains (or resumes) in-process under torchrun; rank 0 reports each rank's draw from the global RNG after setup.
RESUME_DRIVER = '''
import json, sys, torch, torch.distributed as dist
from ganzoo.training.trainer import Trainer
dist.init_process_group("gloo")
cfg, resume = json.loads(sys.argv[1]), sys.argv[2] == "resume"
Trainer(cfg, progress="quiet", resume=resume).fit()
draw = torch.rand(4)  # after training: where each rank's global stream (dropout, wgan-gp's eps) stands
out = [torch.zeros(4) for _ in range(dist.get_world_size())]
dist.all_gather(out, draw)
if dist.get_rank() == 0:
    with open(sys.argv[3], "w") as fh:
        json.dump([o.tolist() for o in out], fh)
dist.barrier()
dist.destroy_process_group()
'''

# vanilla's D has dropout, and wgan-gp draws an ε per sample: both from the global RNG, which must differ by rank
DROPOUT_GP = {"gen": {"name": "vanilla", "hidden": [16, 16]}, "disc": {"name": "vanilla", "hidden": [16, 16]},
              "loss": {"name": "wgan-gp", "wgan-gp": {"n_critic": 2}}, "dataset": {"name": "gaussians"},
              "train": {"steps": 6, "batch_size": 16, "latent_dim": 4, "ema": 0.9, "device": "cpu", "log_every": 1,
                        "checkpoint_every": 3, "sample_every": 0}}


@pytest.mark.skipif(not _has_builtins(), reason="built-in vanilla/wgan-gp/gaussians not available")
def test_two_process_resume_is_exact_and_ranks_draw_their_own_noise(tmp_path):
    from safetensors.torch import load_file

    (tmp_path / "driver.py").write_text(RESUME_DRIVER)

    def launch(out: str, steps: int, resume: bool, report: str) -> list[list[float]]:
        cfg = {**DROPOUT_GP, "out": out, "train": {**DROPOUT_GP["train"], "steps": steps}}
        r = torchrun("driver.py", json.dumps(cfg), "resume" if resume else "new", report, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        return json.loads((tmp_path / report).read_text())

    whole = launch("a", 6, False, "a.json")
    launch("b", 3, False, "b3.json")
    resumed = launch("b", 6, True, "b.json")
    assert whole == resumed  # every rank's stream continues where it stood, not only rank 0's
    assert whole[0] != whole[1]  # and the ranks' streams differ
    ta = load_file(str(tmp_path / "a" / "checkpoints" / "latest.safetensors"))
    tb = load_file(str(tmp_path / "b" / "checkpoints" / "latest.safetensors"))
    assert ta.keys() == tb.keys() and "rng.rank1.torch" in ta and "rng.rank1.noise" in ta
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    assert not torch.equal(ta["rng.torch"], ta["rng.rank1.torch"])

    def losses(run: str) -> list[tuple]:
        rows = [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        return [(r["step"], r["d_loss"], r["g_loss"], r["d/wgan-gp"]) for r in rows if "eval" not in r]

    assert losses("a") == losses("b") and len(losses("a")) == 6


class _Indexed(Dataset):
    """n points whose value is their index, so a batch says which samples it holds."""

    def __init__(self, n: int):
        from ganzoo.base.specs import DataInfo

        self.info = DataInfo((1,), size=n, modality="points")
        self.n = n

    def tensors(self):
        return torch.arange(self.n, dtype=torch.float32)[:, None], None


def _feeder(world: int, rank: int, batch_size: int = 4):
    from ganzoo.training.batches import FeedSettings, make_feeder

    return make_feeder(_Indexed(64), "indexed", FeedSettings(batch_size=batch_size, n_critic=1, seed=3, rank=rank,
                                                             world=world, device=torch.device("cpu"),
                                                             channels_last=False, need_labels=False))


@pytest.mark.parametrize("world, new_world, new_batch, taken", [
    (2, 1, 4, 3), (1, 2, 4, 4), (2, 2, 2, 3), (2, 4, 4, 4),  # whole batches of the new layout
    (1, 2, 4, 3)])                                           # 12 samples seen, resumed at 8: 4 come twice
def test_resume_with_another_world_size_goes_on_with_the_rest_of_the_epoch(world, new_world, new_batch, taken):
    """Resumed, the epoch goes on from the sample it had reached, with any world size or batch: no sample skipped."""
    seen = []
    feeders = [_feeder(world, r) for r in range(world)]
    for _ in range(taken):
        for f in feeders:
            seen += f.next()[0].view(-1).int().tolist()
    done = len(seen)
    position, state = feeders[0].position(), feeders[0].data_state
    resumed = [_feeder(new_world, r, new_batch) for r in range(new_world)]
    for f in resumed:
        f.restore(position, state)
        while not f.epoch_done:
            seen += f.next()[0].view(-1).int().tolist()
    usable = 64 - 64 % (new_batch * new_world)
    assert set(seen) >= set(seen[done:]) and len(set(seen)) == usable  # the whole epoch, no gap
    assert len(seen) - len(set(seen)) == done % (new_batch * new_world)  # repeats only from rounding down


def test_the_stop_flag_is_agreed_every_few_steps_not_every_step(monkeypatch):
    """Each agreement is a host all-reduce that waits for every rank; one process asks every step (it is free)."""
    from ganzoo.training import distributed
    from ganzoo.training.trainer import Trainer

    calls = []
    monkeypatch.setattr(distributed, "any_flag", lambda flag, env: calls.append(flag) or flag)
    trainer = Trainer({"gen": {"name": "vanilla"}, "loss": {"name": "bce"}, "dataset": {"name": "gaussians"}})
    trainer._stop = 15
    for world in (2, 1):
        trainer.env = distributed.DistEnv(world_size=world)
        calls.clear()
        stops = []
        for step in range(30):
            trainer.step = step
            stops.append(trainer._stopping())
        every = distributed.STOP_CHECK_EVERY if world > 1 else 1
        assert len(calls) == 30 // every
        assert stops == [15 if step % every == 0 else 0 for step in range(30)]  # every rank decides at one step
