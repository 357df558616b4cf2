"""The default recipe's speed: its images per second, side by side, and its time to the quality target.

Two parts, each run side by side so that the load of a shared machine falls on every contender alike.

**Throughput** (``--parts throughput``). Each contender is its own process training its recipe through
ganzoo's own ``Trainer(config).fit()``, the loop `ganzoo run` runs (the recipe's full settings; grids and
checkpoints pushed past the end, as in overhead.py, so that every window holds the same work):

* ``default``: the default recipe (registry.toml's ``default``, improved-dcgan-mnist), eager;
* ``default-compile``: the same with ``train.compile`` (`--compile`): G and D through torch.compile;
* ``default-no-mbd``: the same without minibatch discrimination (``disc.minibatch_features=0``), so that
  its cost can be told apart from the EMA's;
* ``dcgan-mnist``: the former default.

This script holds a baton: through the trainer's public ``before_step`` callback, a contender trains
``--window`` steps, then waits until every other contender has trained its window. Only one trains at a
time, with the whole machine (``--threads``, default all cores). A window is timed from the callback that
hands it the baton to the one that takes it back: whole iterations of fit()'s loop, the step, the EMA
update, loss tracking and its log lines included. Round 0 is the warm-up (first allocations; the whole
compilation for ``default-compile``) and is reported on its own; then ``--rounds`` rounds, in alternating
order (A B C D, D C B A, ...). A contender's speed ratio to ``default`` is taken per round (its window
against the default's window of the same round) and reported as the median over rounds with a 90%
bootstrap interval (as overhead.py does); images/s are medians over windows.

**Time to quality** (``--parts quality``). `ganzoo run RECIPE --eval-every E --eval-num N` for the default
and for dcgan-mnist, started together as two processes with one thread each (``--quality-threads``; on a
2-core machine each has a core), the whole recipe, nothing else overridden. Each evaluation measures the
EMA/generator the run samples from against the dataset's held-out split (2,000 images never trained on).
Their training clock is metrics.jsonl's ``time`` (seconds since the training loop began) at the
evaluation's step, less the ``eval_seconds`` of every evaluation before it: evaluation time is left out,
and start-up (importing torch, building the models) is reported on its own. The default's target
(issue 22, docs/zoo.md "The default recipe"): FD ≤ 0.6, recall ≥ 0.85 and 10/10 classes.

    python benchmarks/default_speed.py                          # both parts: about 45 minutes on 2 cores
    python benchmarks/default_speed.py --parts throughput       # about 10 minutes
    python benchmarks/default_speed.py --quick --raw-dir /tmp/x # a smoke run of both, about a minute (tests)
    python benchmarks/render.py                                 # docs/benchmarks.md from the raw results

The raw windows and evaluations are saved as docs/benchmarks/raw/default_speed-<time>.json (results.py).
A ``--quick`` run saves only where ``--raw-dir`` says, never into docs/.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from math import gcd
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import results

#: name -> (recipe: None for the registry's default, what is set on top of it, label)
CONTENDERS: dict[str, tuple[str | None, dict[str, Any], str]] = {
    "default": (None, {}, "the default, eager"),
    "default-compile": (None, {"train": {"compile": True}}, "the default, `--compile`"),
    "default-no-mbd": (None, {"disc": {"minibatch_features": 0}}, "the default without minibatch discrimination"),
    "dcgan-mnist": ("dcgan-mnist", {}, "the former default"),
}
#: what each override is on the command line, for the table
FLAGS = {"default-compile": "--compile", "default-no-mbd": "--set disc.minibatch_features=0"}
QUALITY_RECIPES = [None, "dcgan-mnist"]  # None: the default recipe
LOG_EVERY = 50  # train.log_every's default: metrics.jsonl has a "time" at these steps (and the last)


# -- throughput: one process per contender, a baton passed between them -------------------------------------
def contender_main(conn: Connection, name: str, recipe: str, overrides: dict[str, Any], steps: int, window: int,
                   threads: int, out: str) -> None:
    """A contender's process: ``steps`` steps of its recipe, holding the baton for ``window`` steps at a time.

    Messages to the scheduler: ("ready", info) before step 1, ("window", seconds) at the end of each window,
    ("done", None) after fit() returns, ("error", text) if anything fails. From it: "go".
    """
    try:
        import torch

        torch.set_num_threads(threads)
        from ganzoo.config import resolve
        from ganzoo.plugin.manager import get_registry
        from ganzoo.training.trainer import Trainer

        registry = get_registry()
        flags = {**overrides, "out": out,
                 "train": {**overrides.get("train", {}), "steps": steps, "device": "cpu",
                           "sample_every": 10 * steps, "checkpoint_every": 10 * steps}}
        config = resolve(recipe=recipe, flags=flags, recipes=registry)
        started, mark = time.perf_counter(), [0.0]
        last = steps - 1  # the window that ends at this step's callback is the contender's last

        def before_step(step: int) -> None:
            if step == 1:
                parts = trainer.parts
                conn.send(("ready", {"setup_s": time.perf_counter() - started, "threads": torch.get_num_threads(),
                                     "images_per_step": parts.algorithm.batches_per_step
                                     * trainer.config.settings.batch_size}))
            elif (step - 1) % window == 0:
                conn.send(("window", time.perf_counter() - mark[0]))
                if step - 1 == last:
                    return  # keep the baton: the last step and the end of the run are nobody's window
            else:
                return
            if conn.recv() != "go":
                raise RuntimeError(f"{name}: the scheduler stopped")
            mark[0] = time.perf_counter()

        trainer = Trainer(config, progress="quiet", overwrite=True, handle_signals=False, registry=registry,
                          before_step=before_step)
        trainer.fit()
        conn.send(("done", None))
    except BaseException:  # everything goes back to the scheduler, which reports it
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:  # the scheduler is gone (it stopped after another contender failed)
            pass


def schedule(names: list[str], rounds: int, warmup: int) -> list[str]:
    """Whose window comes next: ``warmup`` rounds in the given order, then ``rounds`` in alternating order."""
    order: list[str] = []
    for r in range(warmup + rounds):
        order += names if r < warmup or (r - warmup) % 2 == 0 else names[::-1]
    return order


def median_ci(values: list[float], level: float = 0.90, reps: int = 4000) -> list[float]:
    """The median and a bootstrap interval for it (overhead.py's, fixed seed)."""
    from overhead import median_ci as ci

    return list(ci(values, level, reps))


def throughput(args: argparse.Namespace, default_recipe: str, work: Path) -> dict[str, Any]:
    names = args.contenders
    order = schedule(names, args.rounds, args.warmup)
    steps = (args.rounds + args.warmup) * args.window + 1  # the last step runs after the last window closed
    ctx = mp.get_context("spawn")  # a fresh interpreter per contender, as `ganzoo run` is
    procs: dict[str, Any] = {}
    conns: dict[str, Connection] = {}
    info: dict[str, dict[str, Any]] = {}
    windows: dict[str, list[float]] = {n: [] for n in names}

    def receive(name: str, expect: str) -> Any:
        try:
            kind, payload = conns[name].recv()
        except EOFError:
            procs[name].join(timeout=5)
            raise SystemExit(f"{name} ended without a word (exit code {procs[name].exitcode})") from None
        if kind == "error":
            raise SystemExit(f"{name} failed:\n{payload}")
        if kind != expect:
            raise SystemExit(f"{name}: expected {expect!r}, got {kind!r}")
        return payload

    try:
        for name in names:  # one at a time: a contender's setup never overlaps another's training
            recipe, overrides, _ = CONTENDERS[name]
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=contender_main, daemon=True,
                               args=(child, name, recipe or default_recipe, overrides, steps, args.window,
                                     args.threads, str(work / f"throughput-{name}")))
            proc.start()
            child.close()  # the contender's end is its own: when it dies, receive() hears of it
            procs[name], conns[name] = proc, parent
            info[name] = receive(name, "ready")
            print(f"  {name}: set up in {info[name]['setup_s']:.1f} s, {info[name]['threads']} threads", flush=True)
        left = {n: order.count(n) for n in names}
        for i, name in enumerate(order):
            conns[name].send("go")
            windows[name].append(receive(name, "window"))
            left[name] -= 1
            if left[name] == 0:
                receive(name, "done")  # its last step and end of run, before anyone else trains
            if (i + 1) % len(names) == 0:
                r = (i + 1) // len(names) - 1
                print(f"  round {r}{' (warm-up)' if r < args.warmup else ''}: " + ", ".join(
                    f"{n} {args.window * info[n]['images_per_step'] / windows[n][r]:.0f}" for n in names)
                    + " img/s", flush=True)
    finally:
        for conn in conns.values():  # a contender still waiting for its turn (after a failure) ends on EOF
            conn.close()
        for proc in procs.values():
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
    speeds = {n: [args.window * info[n]["images_per_step"] / s for s in windows[n]] for n in names}
    steady = {n: v[args.warmup:] for n, v in speeds.items()}
    out: dict[str, Any] = {"contenders": {}, "ratios": {}}
    for n in names:
        med = statistics.median(steady[n])
        out["contenders"][n] = {**info[n], "windows_s": windows[n], "images_per_sec": med,
                                "warmup_s": sum(windows[n][:args.warmup]),
                                # what the warm-up steps take at the steady speed: the rest is warm-up's own
                                "warmup_steady_s": args.warmup * args.window * info[n]["images_per_step"] / med}
        if n != "default" and "default" in names:
            out["ratios"][n] = median_ci([a / b for a, b in zip(steady[n], steady["default"])])
    return out


# -- time to quality: two `ganzoo run` processes side by side ---------------------------------------------------
def training_clock(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each evaluation line of metrics.jsonl with ``train_s``: the loop's time at its step, evaluations before it
    left out. A loss line's ``time`` is written before that step's evaluation, so it holds only earlier ones."""
    times = {r["step"]: float(r["time"]) for r in rows if "eval" not in r and "time" in r}
    evals, spent = [], 0.0
    for r in rows:
        if "eval" not in r:
            continue
        if r["step"] not in times:
            raise SystemExit(f"no loss line at evaluation step {r['step']}: eval_every must be a multiple of "
                             f"train.log_every")
        e = r["eval"]
        evals.append({"step": r["step"], "epoch": r["epoch"], "train_s": round(times[r["step"]] - spent, 3),
                      "eval_s": r["eval_seconds"], **{k: e.get(k) for k in (
                          "fd", "precision", "recall", "classes_covered", "num_classes", "num_compared")}})
        spent += r["eval_seconds"]
    return evals


def meets(e: dict[str, Any], target: dict[str, Any]) -> bool:
    return (e["fd"] is not None and e["fd"] <= target["fd"] and (e["recall"] or 0) >= target["recall"]
            and e["classes_covered"] == e["num_classes"] == target["classes"])


def quality(args: argparse.Namespace, default_recipe: str, work: Path, target: dict[str, Any]) -> dict[str, Any]:
    recipes = [r or default_recipe for r in args.quality_recipes]
    log_every = gcd(args.eval_every, LOG_EVERY)
    length = ["--steps", str(args.quality_steps)] if args.quality_steps else []
    extra = [] if log_every == LOG_EVERY else ["--set", f"train.log_every={log_every}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.quality_threads), "MKL_NUM_THREADS": str(args.quality_threads)}
    runs: dict[str, dict[str, Any]] = {}
    for recipe in recipes:
        cmd = ["run", recipe, "--eval-every", str(args.eval_every), "--eval-num", str(args.eval_num), *length,
               *extra, "--device", "cpu"]
        run = work / f"quality-{recipe}"
        log = open(work / f"quality-{recipe}.log", "w")  # closed when the process ends
        proc = subprocess.Popen([sys.executable, "-m", "ganzoo", *cmd, "--out", str(run), "--overwrite", "--quiet"],
                                cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
        runs[recipe] = {"proc": proc, "log": log, "start": time.perf_counter(), "run": run,
                        "command": "ganzoo " + " ".join(cmd)}
    print(f"  training {', '.join(recipes)} side by side, {args.quality_threads} thread(s) each", flush=True)
    try:
        while any("wall_s" not in r for r in runs.values()):
            time.sleep(0.5)
            for r in runs.values():
                if "wall_s" not in r and r["proc"].poll() is not None:
                    r["wall_s"] = time.perf_counter() - r["start"]
    finally:
        for r in runs.values():
            if r["proc"].poll() is None:
                r["proc"].terminate()
            r["log"].close()
    from ganzoo.runs.rundir import read_metrics

    out: dict[str, Any] = {}
    for recipe, r in runs.items():
        if r["proc"].returncode != 0:
            tail = (work / f"quality-{recipe}.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise SystemExit(f"{r['command']} failed:\n" + "\n".join(tail))
        rows = read_metrics(r["run"] / "metrics.jsonl")
        evals = training_clock(rows)
        last = max(x["step"] for x in rows)
        # the last loss line's time holds every evaluation but the one at the last step, written after it
        loop_s = round(max(float(x["time"]) for x in rows if "time" in x)
                       - sum(e["eval_s"] for e in evals if e["step"] < last), 3)
        met = next((e for e in evals if meets(e, target)), None)
        best = min((e for e in evals if e["fd"] is not None), key=lambda e: e["fd"], default=None)
        out[recipe] = {"command": r["command"], "evals": evals, "wall_s": r["wall_s"], "loop_s": loop_s,
                       "eval_s": sum(e["eval_s"] for e in evals),
                       # start-up (import, build), the last step's grid and checkpoint, the GIF and exit
                       "outside_loop_s": r["wall_s"] - loop_s - sum(e["eval_s"] for e in evals),
                       "steps": last, "met": met, "best": best}
        if met is not None:
            said = f"target met at step {met['step']}, {met['train_s'] / 60:.1f} min of training"
        else:
            said = "target not met" + (f"; best FD {best['fd']:.3g} at {best['train_s'] / 60:.1f} min" if best else "")
        print(f"  {recipe}: {said}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", choices=("throughput", "quality"), default=["throughput", "quality"])
    parser.add_argument("--quick", action="store_true", help="a smoke run: a few steps of everything (saved only "
                        "with --raw-dir)")
    parser.add_argument("--threads", type=int, default=None,
                        help="throughput: torch threads of each contender (default: all cores; --quick: 1)")
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS))
    parser.add_argument("--window", type=int, default=10, help="throughput: steps per timed window")
    parser.add_argument("--rounds", type=int, default=40, help="throughput: timed rounds (a window each)")
    parser.add_argument("--warmup", type=int, default=1, help="throughput: warm-up rounds, reported on their own")
    parser.add_argument("--quality-recipes", nargs="+", default=QUALITY_RECIPES,
                        help="time to quality: recipes trained side by side (default: the default and dcgan-mnist)")
    parser.add_argument("--quality-threads", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help="time to quality: threads of each run (default: half the cores)")
    parser.add_argument("--quality-steps", type=int, default=None, help="time to quality: stop after N steps "
                        "(default: the recipe's own length)")
    parser.add_argument("--eval-every", type=int, default=250, help="time to quality: steps between evaluations")
    parser.add_argument("--eval-num", type=int, default=2000, help="time to quality: samples per evaluation")
    parser.add_argument("--raw-dir", type=Path, default=None, help="where the raw results go (default: "
                        "docs/benchmarks/raw; a --quick run saves nothing without it)")
    parser.add_argument("--no-save", dest="save", action="store_false", help="save no raw results")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run folders here (an empty or new "
                        "folder; default: a temporary one), e.g. to `ganzoo eval` the time-to-quality runs")
    args = parser.parse_args()
    if args.quick:  # a few steps each, on one thread: a busy machine (CI) runs it in seconds
        args.threads = args.threads or 1
        args.window, args.rounds = min(args.window, 3), min(args.rounds, 2)
        args.quality_steps, args.eval_every, args.eval_num = args.quality_steps or 10, 5, 100
    args.threads = args.threads or os.cpu_count() or 1
    if args.quick and args.raw_dir is not None and args.raw_dir.resolve() == results.RAW.resolve():
        parser.error("a --quick run is no measurement: give it a scratch --raw-dir, not docs/benchmarks/raw")
    if "default" not in args.contenders:
        parser.error("--contenders must include default: the others are compared with it")
    args.quality_recipes = [None if r == "default" else r for r in args.quality_recipes]

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # overhead.py, zoo.py, results.py
    from zoo import DEFAULT_TARGET

    from ganzoo.plugin.manager import get_registry

    default_recipe = get_registry().default_recipe
    if default_recipe is None:
        raise SystemExit("no default recipe is registered")
    target = {k: DEFAULT_TARGET[k] for k in ("fd", "recall", "classes", "seconds")}
    print(f"default recipe {default_recipe}; {os.cpu_count()} cpus; parts: {', '.join(args.parts)}"
          + (" (quick)" if args.quick else ""), flush=True)
    found: dict[str, Any] = {}
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        if any(args.keep.iterdir()):
            parser.error(f"--keep {args.keep}: not empty")
    with tempfile.TemporaryDirectory(prefix="ganzoo-default-speed-") as tmp:
        work = args.keep.resolve() if args.keep is not None else Path(tmp)
        if "throughput" in args.parts:
            print(f"throughput: {', '.join(args.contenders)}; {args.warmup} warm-up + {args.rounds} rounds of "
                  f"{args.window} steps each, {args.threads} threads", flush=True)
            found["throughput"] = throughput(args, default_recipe, work)
            report_throughput(found["throughput"])
        if "quality" in args.parts:
            print(f"time to quality: evaluations every {args.eval_every} steps on {args.eval_num} samples, "
                  f"held-out split", flush=True)
            found["quality"] = quality(args, default_recipe, work, target)
    settings = {"quick": args.quick, "device": "cpu", "default_recipe": default_recipe, "parts": args.parts,
                "threads": args.threads, "window": args.window, "rounds": args.rounds, "warmup": args.warmup,
                "order": args.contenders,  # the raw file sorts its keys: the table's order is this list
                "contenders": {n: {"recipe": CONTENDERS[n][0] or default_recipe, "label": CONTENDERS[n][2],
                                   "flags": FLAGS.get(n, "")} for n in args.contenders},
                "quality_recipes": [r or default_recipe for r in args.quality_recipes],
                "quality_threads": args.quality_threads, "quality_steps": args.quality_steps,
                "eval_every": args.eval_every, "eval_num": args.eval_num, "split": "heldout", "target": target}
    if args.save and (args.raw_dir is not None or not args.quick):
        results.save("default_speed", settings, found, folder=args.raw_dir or results.RAW)


def report_throughput(found: dict[str, Any]) -> None:
    print("images/s: median over windows; vs default: median over rounds [90% bootstrap interval]")
    for n, c in found["contenders"].items():
        ratio = found["ratios"].get(n)
        print(f"  {n:<16} {c['images_per_sec']:7.0f} img/s" + (f"  x{ratio[0]:.3f} [{ratio[1]:.3f}, {ratio[2]:.3f}]"
                                                                if ratio else "")
              + f"  warm-up {c['warmup_s']:.1f} s ({c['warmup_steady_s']:.1f} s at the steady speed)")


if __name__ == "__main__":
    main()
