"""Write the measured sections of docs/benchmarks.md from the raw results in docs/benchmarks/raw.

    python benchmarks/render.py          # rewrite the generated blocks
    python benchmarks/render.py --check  # exit 1 if docs/benchmarks.md is not what the raw results give

docs/benchmarks.md keeps its prose; each table sits between
``<!-- begin generated: KIND -->`` and ``<!-- end generated: KIND -->`` and
is replaced whole, so no figure in it is typed by hand. Each run is shown
with the machine, torch version and commit it was measured on.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import results

DOC = results.ROOT / "docs" / "benchmarks.md"
TARGET = 0.97  # ganzoo's speed against a like-for-like hand loop (issue 7)


def _machine(run: dict[str, Any]) -> str:
    m = run["machine"]
    parts = [f"{m.get('machine')}, {m.get('cpus')} CPUs"]
    if m.get("device_name"):
        parts.append(m["device_name"])
    if m.get("torch"):
        parts.append(f"torch {m['torch']} ({m.get('threads')} threads)")
    parts.append(f"python {m.get('python')}")
    if m.get("commit"):
        parts.append(f"commit {m['commit']}")
    return ", ".join(parts)


def _ci(r: list[float]) -> str:
    return f"{r[0]:.3f} [{r[1]:.3f}, {r[2]:.3f}]"


def overhead(runs: list[dict[str, Any]]) -> list[str]:
    if not runs:
        return ["No run of `benchmarks/overhead.py` is saved yet."]
    lines = ["| run | settings | model | ganzoo img/s | ganzoo/hand | **ganzoo/hand-fused** | ganzoo/hand-reuse "
             "| ganzoo/tutorial | pairs |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    notes = []
    for i, run in enumerate(runs, 1):
        s = run["settings"]
        setting = (f"{s['device']}, batch {s['batch_size']}, {s.get('image_size') or 28} px, width {s['width']}"
                   + (", compile" if s.get("compile") else "") + f"; {s['rounds']}x{s['steps']} steps")
        for model, r in run["results"].items():
            ratios = r["ratios"]
            tut = _ci(ratios["tutorial"]) + "×" if "tutorial" in ratios else "—"
            lines.append(f"| {i} | {setting} | {model} | {r['speeds']['ganzoo']:.0f} | {_ci(ratios['hand'])} | "
                         f"**{_ci(ratios['hand-fused'])}** | {_ci(ratios['hand-reuse'])} | {tut} | "
                         f"{sum(v for k, v in r['counts'].items() if k != 'tutorial')} |")
            low = ratios["hand-fused"][1]
            verdict = "holds" if low >= TARGET else "does not hold"
            notes.append(f"- run {i}, {model}: the ≥ {TARGET} target against the like-for-like loop {verdict} "
                         f"(lower end of the 90% interval {low:.3f}).")
        notes.append(f"- run {i} was measured {run['time']} on {_machine(run)}: `{run['command']}`.")
    return lines + [""] + notes


def startup(runs: list[dict[str, Any]]) -> list[str]:
    if not runs:
        return ["No run of `benchmarks/startup.py` is saved yet."]
    lines = ["| run | command | median wall time | vs `python -c \"import torch\"` |", "| --- | --- | --- | --- |"]
    notes = []
    for i, run in enumerate(runs, 1):
        times = run["results"]["times"]
        base = statistics.median(times["import torch"])
        # the reference first, then the commands in the order the script runs them (the raw file sorts keys)
        order = ["import torch", "ganzoo --help", "ganzoo list", "ganzoo run --steps 1"]
        for name in sorted(times, key=lambda n: order.index(n) if n in order else len(order)):
            values = times[name]
            med = statistics.median(values)
            lines.append(f"| {i} | `{name}` | {med:.3f} s | {med / base:.2f}× |")
        notes.append(f"- run {i}: median of {run['settings']['repeats']} interleaved runs, measured {run['time']} "
                     f"on {_machine(run)}.")
    return lines + [""] + notes


def loggers(runs: list[dict[str, Any]]) -> list[str]:
    if not runs:
        return ["No run of `benchmarks/loggers.py` is saved yet."]
    lines = ["| run | logger | settings | speed with/without (median [range]) | time inside logger calls |",
             "| --- | --- | --- | --- | --- |"]
    notes = []
    for i, run in enumerate(runs, 1):
        s, r = run["settings"], run["results"]
        ratios = sorted(r["ratios"])
        median = statistics.median(ratios)
        lines.append(f"| {i} | {', '.join(s['loggers'])} | vanilla on gaussians, batch {s['batch_size']}, "
                     f"log_every {s['log_every']}, {s['threads']} thread(s); {s['rounds']}x{s['steps']} steps | "
                     f"{median:.3f} [{ratios[0]:.3f}, {ratios[-1]:.3f}] | {100 * r['in_logger_calls']:.2f}% |")
        notes.append(f"- run {i} was measured {run['time']} on {_machine(run)}: `{run['command']}`.")
    return lines + [""] + notes


SECTIONS = {"overhead": overhead, "startup": startup, "loggers": loggers}


def render(text: str, folder: Path = results.RAW) -> str:
    for kind, fn in SECTIONS.items():
        pattern = re.compile(rf"(<!-- begin generated: {kind} -->\n).*?(<!-- end generated: {kind} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{DOC} has no generated block for {kind!r}")
        body = "\n".join(fn(results.load(kind, folder))) + "\n"
        text = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the doc is up to date")
    args = parser.parse_args()
    current = DOC.read_text(encoding="utf-8")
    new = render(current)
    if args.check:
        if new != current:
            sys.exit(f"{DOC} is stale: run python benchmarks/render.py")
        return
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
