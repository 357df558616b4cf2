"""Trainer overhead: ganzoo's training loop against the loops people write by hand.

For ``vanilla`` and ``dcgan`` on the bundled ``mnist-10k``, ganzoo's own
``Trainer(config).fit()`` trains while the hand loops of `handloops` (same
models, batch, Adam and loss) run *inside* it: before every ``--window``-th
ganzoo step, the benchmark runs a window of the same number of steps of one
hand loop (``hand``, ``hand-fused``, ``hand-reuse`` in turn). So every ganzoo
window has a hand window right beside it, under the same machine load: on a
shared 2-core machine the speed drifts by ±20% over seconds, far more than
the few per cent measured here, and only pairs taken this close cancel it.

A ganzoo window is timed from the end of one hand window to the start of the
next: ``--window`` whole iterations of ganzoo's loop, its step, loss tracking,
progress and log lines included. Ratios are the median over all pairs, with a
bootstrap interval; images/s are medians over windows.

* **ganzoo/hand**: against the minimal hand loop (plain ``torch.optim.Adam``).
* **ganzoo/hand-fused**: against the same loop with Adam's fused kernel, as
  ganzoo uses it: like for like, so this is the trainer's overhead alone.
* **ganzoo/tutorial**: against one epoch of the tutorials' torchvision +
  DataLoader loop (its worker start-up included, as every epoch pays it),
  timed after each round: the speed-up a tutorial user gets.

ganzoo's grids and checkpoints are pushed past the run (the hand loops save
nothing), so they are left out. Run:

    python benchmarks/overhead.py [--rounds 3] [--steps 600] [--window 10] [--threads N]

On a GPU (docs/benchmarks.md: dcgan at 64 px, batch 128 and 512, with and
without torch.compile; every loop then uses bf16 autocast, channels-last and
fused Adam, as ganzoo does by default on CUDA):

    python benchmarks/overhead.py --device cuda --models dcgan --image-size 64 \
        --width 64 --batch-size 128 --no-tutorial [--compile]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import results
from handloops import DISC, MODELS, OPTS, dataset, hand_steps, timed, tutorial_root, tutorial_steps

from ganzoo.training.trainer import Trainer

HANDS = ("hand", "hand-fused", "hand-reuse")


class Interleaved:
    """A window of a hand loop before every ``window``-th step of ganzoo's fit() (see the module doc).

    Passed to the trainer as its public ``before_step`` callback.
    """

    def __init__(self, hands: dict, window: int, batch: int, device: torch.device):
        self.hands, self.window, self.batch, self.device = hands, window, batch, device
        self.pairs: list[tuple[float, str, float]] = []  # (ganzoo img/s, hand loop, its img/s)
        self.mark = 0.0

    def __call__(self, step: int) -> None:
        if step > 1 and (step - 1) % self.window == 0:
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            ganzoo = self.window * self.batch / (time.perf_counter() - self.mark)
            name = HANDS[len(self.pairs) % len(HANDS)]
            self.pairs.append((ganzoo, name, timed(self.hands[name], self.window, self.batch, self.device)))
            self.mark = time.perf_counter()
        elif step == 1:
            self.mark = time.perf_counter()


def ganzoo_config(name: str, steps: int, batch: int, device, out: Path) -> dict:
    return {
        "gen": {"name": name, **MODELS[name]}, "disc": {"name": name, **DISC[name]},
        "loss": {"name": "bce"}, "out": str(out),
        "dataset": {"name": "mnist-10k", **({"image_size": OPTS["image_size"]} if OPTS["image_size"] else {})},
        "train": {"steps": steps, "batch_size": batch, "lr": 2e-4, "seed": 0, "device": device.type,
                  "compile": OPTS["compile"], "sample_every": 10 * steps, "checkpoint_every": 10 * steps},
    }


def one_round(name: str, args, device, out: Path) -> list[tuple[float, str, float]]:
    hands = {"hand": hand_steps(name, args.batch_size, device),
             "hand-fused": hand_steps(name, args.batch_size, device, fused=True),
             "hand-reuse": hand_steps(name, args.batch_size, device, reuse_fake=True)}
    for steps in hands.values():  # first steps allocate (Adam's moments, autograd buffers): not timed
        timed(steps, 2, args.batch_size, device)
    interleaved = Interleaved(hands, args.window, args.batch_size, device)
    Trainer(ganzoo_config(name, args.steps + 1, args.batch_size, device, out), progress="quiet", overwrite=True,
            handle_signals=False, before_step=interleaved).fit()
    return interleaved.pairs[1:]  # the first ganzoo window holds its warm-up


def median_ci(values: list[float], level: float = 0.90, reps: int = 4000) -> tuple[float, float, float]:
    """The median and a bootstrap confidence interval for it (fixed seed: reruns print alike)."""
    gen = torch.Generator().manual_seed(0)
    v = torch.tensor(values, dtype=torch.float64)
    meds = v[torch.randint(len(v), (reps, len(v)), generator=gen)].median(dim=1).values.sort().values
    return statistics.median(values), float(meds[int(reps * (1 - level) / 2)]), float(meds[int(reps * (1 + level) / 2) - 1])


def main() -> None:
    parser = argparse.ArgumentParser(description="ganzoo trainer overhead against hand-written loops")
    parser.add_argument("--rounds", type=int, default=3, help="ganzoo runs per model (fresh models each)")
    parser.add_argument("--steps", type=int, default=600, help="ganzoo steps per round (as many hand steps beside)")
    parser.add_argument("--window", type=int, default=10, help="steps per timed window")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the tutorial loop")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--image-size", type=int, default=None, help="resize mnist-10k (dcgan: 32 or 64)")
    parser.add_argument("--compile", action="store_true", help="torch.compile G and D in every loop")
    parser.add_argument("--no-tutorial", action="store_true", help="skip the torchvision/DataLoader loop")
    parser.add_argument("--width", type=int, default=32, help="dcgan's ngf and ndf (64: the classic 64-px DCGAN)")
    parser.add_argument("--no-save", dest="save", action="store_false",
                        help="do not write the raw results under docs/benchmarks/raw (smoke runs)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    OPTS.update(image_size=args.image_size, compile=args.compile)
    MODELS["dcgan"]["ngf"] = DISC["dcgan"]["ndf"] = args.width
    device = torch.device(args.device)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {device}"
          f"{' (' + torch.cuda.get_device_name() + ')' if device.type == 'cuda' else ''}; "
          f"batch {args.batch_size}, image size {args.image_size or 28}, compile {args.compile}; "
          f"{args.rounds} rounds of {args.steps} ganzoo steps, windows of {args.window} steps", flush=True)
    rows = []
    raw: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = tutorial_root(Path(tmp))
        for name in args.models:
            pairs: list[tuple[float, str, float]] = []
            tutorial: list[tuple[float, float]] = []  # (ganzoo's median window, one tutorial epoch), per round
            for r in range(args.rounds):
                got = one_round(name, args, device, Path(tmp) / f"run-{name}")
                pairs += got
                line = {k: statistics.median(g / h for g, n, h in got if n == k) for k in HANDS}
                if not args.no_tutorial:
                    steps = tutorial_steps(name, args.batch_size, device, root, args.workers)
                    epoch = dataset().info.size // args.batch_size
                    tutorial.append((statistics.median(g for g, _, _ in got), timed(steps, epoch, args.batch_size, device)))
                    steps.close()  # its DataLoader workers stop before the next round
                    line["tutorial"] = tutorial[-1][0] / tutorial[-1][1]
                print(f"  {name} round {r + 1}: ganzoo/" + ", ganzoo/".join(f"{k} {v:.3f}" for k, v in line.items()),
                      flush=True)
            speeds = {"ganzoo": [g for g, _, _ in pairs], **{k: [h for _, n, h in pairs if n == k] for k in HANDS}}
            ratios = {k: median_ci([g / h for g, n, h in pairs if n == k]) for k in HANDS}
            if tutorial:
                speeds["tutorial"] = [t for _, t in tutorial]
                ratios["tutorial"] = median_ci([g / t for g, t in tutorial])
            rows.append((name, {k: statistics.median(v) for k, v in speeds.items()}, ratios,
                         {**{k: sum(n == k for _, n, _ in pairs) for k in HANDS}, "tutorial": len(tutorial)}))
            raw[name] = {"pairs": [{"ganzoo": g, "hand": n, "hand_speed": h} for g, n, h in pairs],
                         "tutorial": [{"ganzoo": g, "tutorial": t} for g, t in tutorial],
                         "speeds": rows[-1][1], "ratios": {k: list(v) for k, v in ratios.items()},
                         "counts": rows[-1][3]}
    print("\nimages/s: median over windows; ganzoo/X: median over pairs [90% bootstrap interval]")
    for name, speed, ratios, counts in rows:
        print(f"{name}: " + ", ".join(f"{k} {v:.0f}" for k, v in speed.items()))
        for k, (m, lo, hi) in ratios.items():
            unit = "rounds" if k == "tutorial" else "pairs"
            print(f"  ganzoo/{k:<11} {m:.3f}  [{lo:.3f}, {hi:.3f}]  ({counts[k]} {unit})")
    if args.save:
        settings = {k: getattr(args, k) for k in ("rounds", "steps", "window", "batch_size", "workers", "device",
                                                  "image_size", "compile", "width")}
        results.save("overhead", settings, raw, device=args.device)


if __name__ == "__main__":
    main()
