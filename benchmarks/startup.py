"""Start-up cost of the command line, measured against `python -c "import torch"`.

Runs each command REPEATS times, interleaved so that machine noise hits all
of them alike, and prints the median wall times and their ratios:

    python benchmarks/startup.py [--repeats 7]

`ganzoo list` should cost a fraction of importing torch (it never imports it);
`ganzoo run --steps 1` necessarily imports torch and builds a model.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import results


def wall(cmd: list[str], cwd: str) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-save", dest="save", action="store_false",
                        help="do not write the raw results under docs/benchmarks/raw")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "import torch": [py, "-c", "import torch"],
            "ganzoo --help": [py, "-m", "ganzoo", "--help"],
            "ganzoo list": [py, "-m", "ganzoo", "list"],
            "ganzoo run --steps 1": [py, "-m", "ganzoo", "run", "--steps", "1", "--quiet", "--overwrite",
                                      "--out", os.path.join(tmp, "run")],
        }
        for cmd in commands.values():  # warm the page cache once
            wall(cmd, tmp)
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                times[name].append(wall(cmd, tmp))
    if args.save:
        results.save("startup", {"repeats": args.repeats}, {"times": times})
    base = statistics.median(times["import torch"])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"python {platform.python_version()}; median of {args.repeats} interleaved runs")
    print(f"{'command':<24}{'median s':>10}{'vs import torch':>18}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<24}{med:>10.3f}{med / base:>17.2f}x")


if __name__ == "__main__":
    main()
