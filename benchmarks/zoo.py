"""Train every built-in recipe, evaluate it offline, and write docs/zoo.md.

    python benchmarks/zoo.py                       # every recipe in the catalogue
    python benchmarks/zoo.py --recipes dcgan-mnist cgan-mnist --jobs 2

For each recipe: `ganzoo run RECIPE` (its own hyper-parameters, nothing
overridden), `ganzoo eval RUN --json` on 5,000 samples, and the run's newest
sample grid copied to docs/zoo/RECIPE.png. Results are merged into
docs/zoo/results.json (so a subset can be rerun) and docs/zoo.md is rendered
from that file alone: the table in the docs is this script's real output.

``--jobs 2`` trains two recipes at a time with one thread each (halving the
wall time of the whole table on a 2-core machine); the table says how each
row was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
OUT = DOCS / "zoo"


def ganzoo(*args: str, threads: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env)


def measure(recipe: str, work: Path, threads: int, num: int) -> dict:
    run = work / recipe
    start = time.perf_counter()
    proc = ganzoo("run", recipe, "--out", str(run), "--overwrite", "--quiet", threads=threads)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"recipe": recipe, "error": proc.stderr.strip().splitlines()[-1:]}
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [r for r in rows if "images_per_sec" in r]
    ev = ganzoo("eval", str(run), "--json", "--num", str(num), threads=threads)
    metrics = json.loads(ev.stdout) if ev.returncode == 0 else {"error": ev.stderr.strip()}
    grids = sorted((run / "samples").glob("*.png"), key=lambda p: p.stat().st_mtime)
    OUT.mkdir(parents=True, exist_ok=True)
    if grids:
        shutil.copyfile(grids[-1], OUT / f"{recipe}.png")
    return {
        "recipe": recipe, "wall_time_s": round(wall, 1), "threads": threads,
        "train_time_s": steps[-1]["time"] if steps else None,
        "images_per_sec": round(sum(r["images_per_sec"] for r in steps) / len(steps), 1) if steps else None,
        "steps": steps[-1]["step"] if steps else None, "epochs": steps[-1]["epoch"] if steps else None,
        "metrics": metrics, "grid": f"zoo/{recipe}.png" if grids else None,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, CPU only",
        "measured": time.strftime("%Y-%m-%d"),
    }


def headline(row: dict) -> dict:
    """What a superseded measurement keeps: enough to show how much a recipe varies from run to run."""
    m = row.get("metrics", {})
    keys = ("fd", "precision", "recall", "classes_covered", "num_classes", "modes_covered", "num_modes",
            "conditional_accuracy")
    return {"measured": row.get("measured"), **{k: m[k] for k in keys if k in m}}


def with_history(new: dict, old: dict | None) -> dict:
    """``new``, remembering the headline numbers of the measurements it replaces (failed runs left out)."""
    earlier = list(old.get("earlier", [])) if old else []
    if old and "error" not in old and "metrics" in old:
        earlier.append(headline(old))
    return {**new, "earlier": earlier} if earlier else new


def describe_earlier(row: dict) -> str:
    parts = []
    for e in row.get("earlier", []):
        cover = (f"{e['classes_covered']}/{e.get('num_classes', '?')} classes" if "classes_covered" in e
                 else f"{e['modes_covered']}/{e.get('num_modes', '?')} modes" if "modes_covered" in e else "")
        parts.append(f"FD {fmt(e.get('fd'))}, precision {fmt(e.get('precision'), 2)} / recall "
                     f"{fmt(e.get('recall'), 2)}, {cover} ({e.get('measured')})")
    return ("Earlier runs of the same recipe, for its run-to-run spread: " + "; ".join(parts) + ".") if parts else ""


def fmt(value, digits=3):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def render(results: dict, catalogue: dict) -> str:
    lines = [
        "# The zoo, measured",
        "",
        "Every built-in recipe, trained with its own hyper-parameters from `registry.toml` and evaluated",
        "offline by `ganzoo eval` on 5,000 samples. This page is written by `python benchmarks/zoo.py`",
        "from `docs/zoo/results.json`; rerun it to reproduce or update a row",
        "(`--recipes NAME ...` for a subset).",
        "",
        "**How to read the numbers.** FD is the Fréchet distance in the feature space of a small",
        "classifier that ganzoo trains on the dataset itself (shipped for `mnist-10k`): it is *not*",
        "Inception FID and is not comparable with published FIDs. Each distance is shown with its",
        "real-vs-real floor (the same metric between two halves of the real data), the best a",
        "generator can be told apart from the data with this many samples. Precision is the share of",
        "samples on the real data's manifold (fidelity) and recall the share of real data covered by the",
        "samples (diversity), after Kynkäänniemi et al. (2019). For `gaussians`, modes covered and",
        "the share of samples within 3σ of a mode centre. Standard FID is computed only when",
        "Inception-v3 weights are already on disk: `$GANZOO_INCEPTION_WEIGHTS`, or torch hub's",
        "`checkpoints/` folder (`pt_inception-2015-12-05-*.pth`, `inception_v3_google-*.pth`);",
        "ganzoo never downloads them.",
        "",
        "| recipe | composition | FD (floor) | precision / recall | classes or modes | cond. acc. | wall time | img/s | command |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in sorted(results):
        r = results[name]
        cfg = catalogue.get(name, {})
        comp = " · ".join(f"{cfg.get(t, {}).get('name', '')}" for t in ("gen", "loss", "dataset") if t in cfg)
        if "error" in r:
            lines.append(f"| `{name}` | {comp} | failed: {r['error']} | | | | | | |")
            continue
        m = r["metrics"]
        cover = (f"{m.get('modes_covered')}/{m.get('num_modes')} modes, HQ {fmt(m.get('high_quality_share'), 2)}"
                 if "modes_covered" in m else f"{m.get('classes_covered')}/{m.get('num_classes')} classes")
        lines.append(
            f"| `{name}` | {comp} | {fmt(m.get('fd'))} ({fmt(m.get('fd_floor'), 2)}) | "
            f"{fmt(m.get('precision'), 2)} / {fmt(m.get('recall'), 2)} | {cover} | "
            f"{fmt(m.get('conditional_accuracy'), 2)} | {r['wall_time_s'] / 60:.1f} min | {fmt(r['images_per_sec'])} | "
            f"`ganzoo run {name}` |")
    first = next(iter(results.values()), {})
    threads = ", ".join(f"{k} {v.get('threads')}" for k, v in sorted(results.items()))
    lines += [
        "",
        f"Measured on {first.get('machine', '?')} ({first.get('measured', '?')}); wall time covers the whole",
        "`ganzoo run` (start-up, training, grids, checkpoints). Rows measured with `--jobs 2` trained two recipes",
        "at a time with one thread each, so their wall times are longer than a run alone with both cores",
        f"(threads per row: {threads}).",
        "",
        "## Samples",
        "",
    ]
    for name in sorted(results):
        if results[name].get("grid"):
            doc = catalogue.get(name, {}).get("doc", "")
            lines += [f"### {name}", "", doc, "", f"![{name}]({results[name]['grid']})", ""]
            earlier = describe_earlier(results[name])
            if earlier:
                lines += [earlier, ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    import tomllib

    parser = argparse.ArgumentParser(description="train, evaluate and document every built-in recipe")
    parser.add_argument("--recipes", nargs="*", help="a subset (default: every recipe in registry.toml)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--num", type=int, default=5000)
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "ganzoo" / "zoo-runs"))
    args = parser.parse_args()
    catalogue = tomllib.loads((ROOT / "registry.toml").read_text())["recipes"]
    recipes = args.recipes or sorted(catalogue)
    threads = max(1, (os.cpu_count() or 2) // args.jobs)
    store = OUT / "results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    with ThreadPoolExecutor(args.jobs) as pool:
        for row in pool.map(lambda r: measure(r, Path(args.work), threads, args.num), recipes):
            results[row["recipe"]] = with_history(row, results.get(row["recipe"]))
            print(json.dumps({k: v for k, v in row.items() if k != "metrics"}), flush=True)
            OUT.mkdir(parents=True, exist_ok=True)
            store.write_text(json.dumps(results, indent=2, sort_keys=True))
            (DOCS / "zoo.md").write_text(render(results, catalogue))
    print(f"wrote {DOCS / 'zoo.md'}")


if __name__ == "__main__":
    main()
