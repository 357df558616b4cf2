"""Write the measured sections of docs/benchmarks.md from the raw results in docs/benchmarks/raw.

    python benchmarks/render.py          # rewrite the generated blocks
    python benchmarks/render.py --check  # exit 1 if docs/benchmarks.md is not what the raw results give
    python benchmarks/render.py --doc /tmp/page.md --raw /tmp/raw   # a scratch copy, from a smoke run's results

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


def _command(c: dict[str, Any], default_recipe: str) -> str:
    """A contender as `ganzoo run` would train it."""
    recipe = "" if c["recipe"] == default_recipe else f" {c['recipe']}"
    return f"`ganzoo run{recipe}{' ' + c['flags'] if c.get('flags') else ''}`"


def _throughput(i: int, run: dict[str, Any]) -> list[str]:
    s, r = run["settings"], run["results"]["throughput"]
    lines = ["| run | contender | as | img/s | speed vs the default, eager | warm-up window | windows |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    window = s["window"] * s["warmup"]
    for name in s.get("order", sorted(r["contenders"])):
        c, about = r["contenders"][name], s["contenders"][name]
        ratio = "1 (reference)" if name == "default" else _ci(r["ratios"][name]) + "×"
        lines.append(f"| {i} | {about['label']} | {_command(about, s['default_recipe'])} | "
                     f"{c['images_per_sec']:.0f} | {ratio} | {c['warmup_s']:.1f} s ({c['warmup_steady_s']:.1f} s at "
                     f"its steady speed) | {len(c['windows_s']) - s['warmup']} |")
    notes = []
    ratios, contenders = r["ratios"], r["contenders"]
    if "dcgan-mnist" in ratios:
        m, lo, hi = ratios["dcgan-mnist"]
        notes.append(f"- run {i}: a step of the default takes {m:.2f}× [{lo:.2f}, {hi:.2f}] as long as one of the "
                     "former default `dcgan-mnist` (minibatch discrimination, the EMA update and label smoothing "
                     "together).")
    if "default-no-mbd" in ratios:
        m, lo, hi = ratios["default-no-mbd"]
        notes.append(f"- run {i}: minibatch discrimination alone makes the default's step {m:.2f}× [{lo:.2f}, "
                     f"{hi:.2f}] as long ({100 * (m - 1):+.0f}%).")
    if "default-compile" in ratios:
        m, lo, hi = ratios["default-compile"]
        c, eager = contenders["default-compile"], contenders["default"]["images_per_sec"]
        extra = c["warmup_s"] - c["warmup_steady_s"]
        text = (f"- run {i}: `--compile` trains the default at {m:.2f}× [{lo:.2f}, {hi:.2f}] its eager speed once "
                f"compiled; compiling took about {extra:.0f} s (the first {window} steps took {c['warmup_s']:.1f} s, "
                f"{c['warmup_steady_s']:.1f} s at the compiled speed), ")
        if m > 1:
            saved = 1 / eager - 1 / c["images_per_sec"]  # seconds per image
            text += f"paid back after about {extra / saved / 1000:.0f}k images."
        else:
            text += "never paid back: on this machine the compiled step is not faster."
        notes.append(text)
    notes.append(f"- run {i}: {s['warmup']} warm-up and {s['rounds']} timed rounds of {s['window']} steps per "
                 f"contender, {s['threads']} threads.")
    return lines + [""] + notes


def _quality(i: int, run: dict[str, Any]) -> list[str]:
    s, q = run["settings"], run["results"]["quality"]
    target, recipes = s["target"], [r for r in s["quality_recipes"] if r in q]
    head = "| step | epoch | " + " | ".join(f"`{r}`: training min | FD | recall | classes | target" for r in recipes)
    lines = [f"Run {i}, time to quality:", "", head + " |", "| --- " * (2 + 5 * len(recipes)) + "|"]
    by_step: dict[int, dict[str, dict[str, Any]]] = {}
    for recipe, r in q.items():
        for e in r["evals"]:
            by_step.setdefault(e["step"], {})[recipe] = e
    for step in sorted(by_step):
        got = by_step[step]
        epoch = next(iter(got.values()))["epoch"]
        cells = []
        for recipe in recipes:
            e = got.get(recipe)
            if e is None:  # this run had ended (or not evaluated here)
                cells.append(" | ".join(["–"] * 5))
                continue
            ok = (e["fd"] is not None and e["fd"] <= target["fd"] and (e["recall"] or 0) >= target["recall"]
                  and e["classes_covered"] == e["num_classes"] == target["classes"])
            fd = "–" if e["fd"] is None else f"{e['fd']:.3g}"
            recall = "–" if e["recall"] is None else f"{e['recall']:.2f}"
            classes = "–" if e["classes_covered"] is None else f"{e['classes_covered']}/{e['num_classes']}"
            cells.append(f"{e['train_s'] / 60:.1f} | {fd} | {recall} | {classes} | {'**yes**' if ok else 'no'}")
        lines.append(f"| {step} | {epoch} | " + " | ".join(cells) + " |")
    aim = f"FD ≤ {target['fd']:g}, recall ≥ {target['recall']:g}, {target['classes']}/{target['classes']} classes"
    limit = (f" (the target allows {target['seconds'] / 60:g} min of wall time on 2 cores; this run had "
             f"{s['quality_threads']} thread(s))")
    notes = [""]
    for recipe in recipes:
        r = q[recipe]
        met, best = r["met"], r["best"]
        if met is not None:
            notes.append(f"- run {i}, `{recipe}`: the target ({aim}) is met first at step {met['step']} (epoch "
                         f"{met['epoch']}), after {met['train_s'] / 60:.1f} min of training{limit}.")
        else:
            worst = (f"; best FD {best['fd']:.3g} at {best['train_s'] / 60:.1f} min (step {best['step']}: recall "
                     f"{best['recall'] or 0:.2f}, {best['classes_covered']}/{best['num_classes']} classes)"
                     if best else "")
            notes.append(f"- run {i}, `{recipe}`: the target ({aim}) is not met within the run ({r['steps']} steps, "
                         f"{r['loop_s'] / 60:.1f} min of training){worst}.")
        notes.append(f"- run {i}, `{recipe}`: `{r['command']}` took {r['wall_s'] / 60:.1f} min of wall time: "
                     f"{r['loop_s'] / 60:.1f} min training, {r['eval_s'] / 60:.1f} min evaluating, "
                     f"{r['outside_loop_s']:.0f} s start-up and end of run.")
    compared = sorted({e["num_compared"] for r in q.values() for e in r["evals"] if e["num_compared"] is not None})
    notes.append(f"- run {i}: every evaluation drew {s['eval_num']} samples (`--eval-num`) every {s['eval_every']} "
                 f"steps and measured them against the {'held-out' if s['split'] == 'heldout' else s['split']} "
                 f"split, FD and precision/recall on {', '.join(map(str, compared))} of them; "
                 f"{len(recipes)} runs side by side, {s['quality_threads']} thread(s) each.")
    return lines + notes


def default_speed(runs: list[dict[str, Any]]) -> list[str]:
    if not runs:
        return ["No run of `benchmarks/default_speed.py` is saved yet."]
    out: list[str] = []
    for i, run in enumerate(runs, 1):
        if out:
            out.append("")
        if "throughput" in run["results"]:
            out += _throughput(i, run)
        if "quality" in run["results"]:
            out += ([""] if "throughput" in run["results"] else []) + _quality(i, run)
        smoke = " **A `--quick` smoke run, not a measurement.**" if run["settings"].get("quick") else ""
        out.append(f"- run {i} was measured {run['time']} on {_machine(run)}: `{run['command']}`.{smoke}")
    return out


SECTIONS = {"overhead": overhead, "startup": startup, "loggers": loggers, "default_speed": default_speed}


def render(text: str, folder: Path = results.RAW) -> str:
    for kind, fn in SECTIONS.items():
        pattern = re.compile(rf"(<!-- begin generated: {kind} -->\n).*?(<!-- end generated: {kind} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{DOC} has no generated block for {kind!r}")
        body = "\n".join(fn(results.load(kind, folder))) + "\n"
        text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)  # noqa: B023 - used at once
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the doc is up to date")
    parser.add_argument("--doc", type=Path, default=DOC, help="the page to rewrite (a scratch copy for smoke runs)")
    parser.add_argument("--raw", type=Path, default=results.RAW, help="the raw results to render from")
    args = parser.parse_args()
    current = args.doc.read_text(encoding="utf-8")
    new = render(current, args.raw)
    if args.check:
        if new != current:
            sys.exit(f"{args.doc} is stale: run python benchmarks/render.py")
        return
    args.doc.write_text(new, encoding="utf-8")
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
