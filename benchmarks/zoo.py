"""Train every built-in recipe, evaluate it offline, and write docs/zoo.md.

    python benchmarks/zoo.py                       # every recipe in the catalogue
    python benchmarks/zoo.py --recipes dcgan-mnist cgan-mnist --jobs 2
    python benchmarks/zoo.py --recipes vanilla-gaussians --steps 50 --docs /tmp/zoo   # a smoke run

For each recipe: `ganzoo run RECIPE` (its own hyper-parameters, nothing
overridden), `ganzoo eval RUN --json` on 5,000 samples, and the run's newest
sample grid copied to docs/zoo/RECIPE.png. Results are merged into
docs/zoo/results.json (so a subset can be rerun) and docs/zoo.md is rendered
from that file alone: the table in the docs is this script's real output.

Each row records the evaluation protocol it was measured under (``PROTOCOL``).
Rows measured before the held-out split (reference and floor drawn from the
training images) are kept, but only in a history section, labelled as such.

``--jobs 2`` trains two recipes at a time with one thread each (halving the
wall time of the whole table on a 2-core machine); the table says how each
row was measured. ``--steps N`` overrides every recipe's length, for a smoke
run: such rows are marked and belong in a scratch ``--docs`` folder.
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
# "heldout": samples measured against the dataset's held-out split, floor = train split vs held-out split,
# plus the memorization check. Rows without a protocol were measured against the training images.
PROTOCOL = "heldout"
# Rows that are a recipe with one override: the ablations the papers report next to their recipe
# (pix2pix, Isola et al. 2017, Table 1: L1 alone, the conditional GAN alone, and both).
ABLATIONS = {
    "pix2pix-mnist-edges+l1": ("pix2pix-mnist-edges", ("--loss", "l1")),
    "pix2pix-mnist-edges+bce": ("pix2pix-mnist-edges", ("--loss", "bce")),
}


def ganzoo(*args: str, threads: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env)


def command(name: str) -> list[str]:
    """What a row trains: its recipe, and for an ablation row the override."""
    recipe, extra = ABLATIONS.get(name, (name, ()))
    return [recipe, *extra]


def measure(recipe: str, work: Path, threads: int, num: int, out: Path, steps: int | None = None,
            reuse: bool = False, weights: Path | None = None) -> dict:
    """Train (or reuse) one row's run and evaluate it. With ``weights``, a recipe's generator is exported
    there as the pretrained file it ships (`ganzoo.pretrained.export`), and the row is measured on that
    very file, so `ganzoo eval RECIPE` after install reproduces it."""
    from ganzoo.checkpoint import find
    from ganzoo.pretrained import export, portable, recorded_metrics
    from ganzoo.rundir import read_metrics

    run = work / recipe
    length = ["--steps", str(steps)] if steps else []
    wall: float | None = None
    if not (reuse and (run / "checkpoints").is_dir()):
        start = time.perf_counter()
        proc = ganzoo("run", *command(recipe), *length, "--out", str(run), "--overwrite", "--quiet", threads=threads)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            return {"recipe": recipe, "error": proc.stderr.strip().splitlines()[-1:]}
    steps_rows = [r for r in read_metrics(run / "metrics.jsonl") if "images_per_sec" in r]
    shipped = weights / f"{recipe}.safetensors" if weights is not None and recipe not in ABLATIONS and not steps else None
    if shipped is not None:
        export(find(run), shipped, name=recipe)
    ev = ganzoo("eval", str(shipped or run), "--json", "--num", str(num), threads=threads)
    metrics = portable(json.loads(ev.stdout) if ev.returncode == 0 else {"error": ev.stderr.strip()})
    pretrained = None
    if shipped is not None and ev.returncode == 0:  # the same weights, now with what they were measured to score
        sha = export(find(run), shipped, name=recipe, metrics=metrics)
        pretrained = {"file": shipped.name, "sha256": sha, "bytes": shipped.stat().st_size}
        metrics = recorded_metrics(shipped)  # the row says what the file says
    grids = sorted((run / "samples").glob("*.png"), key=lambda p: p.stat().st_mtime)
    (out / "zoo").mkdir(parents=True, exist_ok=True)
    if grids:
        shutil.copyfile(grids[-1], out / "zoo" / f"{recipe}.png")
    row = {
        # a reused run (--reuse) was trained earlier: its training time is known, its whole wall time is not
        "recipe": recipe, "protocol": PROTOCOL, "wall_time_s": round(wall, 1) if wall is not None else None,
        "threads": threads, "command": "ganzoo run " + " ".join(command(recipe)),
        "train_time_s": steps_rows[-1]["time"] if steps_rows else None,
        "images_per_sec": (round(sum(r["images_per_sec"] for r in steps_rows) / len(steps_rows), 1)
                           if steps_rows else None),
        "steps": steps_rows[-1]["step"] if steps_rows else None,
        "epochs": steps_rows[-1]["epoch"] if steps_rows else None,
        "metrics": metrics, "grid": f"zoo/{recipe}.png" if grids else None,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, CPU only",
        "measured": time.strftime("%Y-%m-%d"),
        # the settings the run really trained with, so a later change of the recipe is told from run-to-run spread
        "settings": _settings(run / "config.toml"),
    }
    if steps:
        row["steps_override"] = steps
    if pretrained is not None:
        row["pretrained"] = pretrained
    return row


def _settings(config: Path) -> dict:
    import tomllib

    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k in ("gen", "disc", "loss", "dataset", "train")}


def headline(row: dict) -> dict:
    """What a superseded measurement keeps: enough to show how much a recipe varies from run to run."""
    m = row.get("metrics", {})
    keys = ("fd", "fd_floor", "precision", "recall", "classes_covered", "num_classes", "modes_covered", "num_modes",
            "conditional_accuracy", "memorized")
    return {"measured": row.get("measured"), "protocol": row.get("protocol", "training-images"),
            "settings": row.get("settings"), **{k: m[k] for k in keys if k in m}}


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
        against = "" if e.get("protocol") == PROTOCOL else ", measured against the training images"
        # settings recorded on both sides and equal: the same recipe, so the difference is run-to-run spread
        same = e.get("settings") is not None and e.get("settings") == row.get("settings")
        settings = "" if same else ", with the settings of that day"
        parts.append(f"FD {fmt(e.get('fd'))}, precision {fmt(e.get('precision'), 2)} / recall "
                     f"{fmt(e.get('recall'), 2)}, {cover} ({e.get('measured')}{against}{settings})")
    return ("Earlier measurements under this recipe's name (settings that differ from today's are marked; "
            "registry.toml's comments say what changed): " + "; ".join(parts) + ".") if parts else ""


def fmt(value, digits=3):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


HEADER = [
    "# The zoo, measured",
    "",
    "Every built-in recipe, trained with its own hyper-parameters from `registry.toml` and evaluated",
    "offline by `ganzoo eval` on 5,000 samples. This page is written by `python benchmarks/zoo.py`",
    "from `docs/zoo/results.json`; rerun it to reproduce or update a row",
    "(`--recipes NAME ...` for a subset).",
    "",
    "**What the samples are measured against.** Every dataset is split into a train part, which a",
    "run trains on, and a held-out part it never sees (`mnist-10k`: 8,000 and 2,000 images, stratified",
    "by digit; `gaussians`: fresh draws from the same mixture). Samples are scored against the",
    "held-out part, so a generator that memorizes its training images gains nothing from it.",
    "",
    "**How to read the numbers.** FD is the Fréchet distance in the feature space of a small",
    "classifier that ganzoo trains on the dataset's train part (shipped for `mnist-10k`): it is *not*",
    "Inception FID and is not comparable with published FIDs. Each distance is shown with its",
    "real-vs-real floor: the same metric between as many train images as there are samples compared",
    "and the held-out images, i.e. what a generator that draws fresh images from the data's own",
    "distribution scores at this sample size (copies of training images score about the floor, not",
    "below it). Precision is the share of samples on the real data's manifold (fidelity) and recall",
    "the share of real data covered by the samples (diversity), after Kynkäänniemi et al. (2019).",
    "Memorized is the share of samples nearer a training image than 95% of held-out images are",
    "(in the classifier's feature space); real held-out images score about 0.05, copies about 1.",
    "Conditional recipes are asked for classes in the data's own proportions. For `gaussians`,",
    "modes covered and the share of samples within 3σ of a mode centre. Standard FID is computed only",
    "when Inception-v3 weights are already on disk: `$GANZOO_INCEPTION_WEIGHTS`, or torch hub's",
    "`checkpoints/` folder (`pt_inception-2015-12-05-*.pth`, `inception_v3_google-*.pth`);",
    "ganzoo never downloads them.",
    "",
    "**Pretrained.** A recipe's row is measured on the generator it ships (the EMA weights where the",
    "recipe keeps an EMA, as float16, in `plugins/pretrained/`), which this script exports from the run",
    "it trained: right after install, `ganzoo eval RECIPE` reproduces the row and `ganzoo sample RECIPE`",
    "draws from the same weights.",
    "",
]

#: the default recipe must beat today's default, dcgan-mnist, by this much (the zoo's issue 14): held-out
#: FD at most half of it, recall at least 0.8, every class, and at most 10 minutes alone on 2 CPU cores
BASELINE, FD_RATIO, MIN_RECALL, MAX_SECONDS = "dcgan-mnist", 0.5, 0.8, 600


def default_section(current: dict, default: str | None) -> list[str]:
    """The comparison behind the choice of the default recipe: every recipe on mnist-10k against the bar."""
    base = current.get(BASELINE, {}).get("metrics", {}).get("fd")
    if base is None:
        return []
    lines = ["", "## The default recipe", "",
             f"`ganzoo run` with no recipe trains `{default}`. The default must draw better digits than "
             f"`{BASELINE}` did as the default: held-out FD at most {FD_RATIO:g}× its {fmt(base)} "
             f"(≤ {fmt(base * FD_RATIO)}), recall at least {MIN_RECALL:g}, all 10 classes, within "
             f"{MAX_SECONDS // 60} minutes on 2 CPU cores. Every recipe on the bundled MNIST, against that bar "
             "(a wall time measured with one thread while another recipe trained is an upper bound of the "
             "time alone; it counts only when it is under the bar already):", "",
             "| recipe | FD | recall | classes | wall time | meets the bar |", "| --- | --- | --- | --- | --- | --- |"]
    for name, r in sorted(current.items()):
        m = r.get("metrics", {})
        if m.get("dataset") != "mnist-10k" or m.get("fd") is None:
            continue
        wall = r.get("wall_time_s")
        checks = {"FD": m["fd"] <= base * FD_RATIO, "recall": (m.get("recall") or 0) >= MIN_RECALL,
                  "classes": m.get("classes_covered") == m.get("num_classes") == 10,
                  "time": wall is not None and wall <= MAX_SECONDS}
        failed = [k for k, ok in checks.items() if not ok]
        verdict = "yes" if not failed else "no: " + ", ".join(failed)
        where = f" ({r.get('threads')} thread{'s' if r.get('threads') != 1 else ''})" if wall is not None else ""
        mark = " (default)" if name == default else ""
        lines.append(f"| `{name}`{mark} | {fmt(m['fd'])} | {fmt(m.get('recall'), 2)} | {cover(m)} | "
                     f"{duration(r)}{where} | {verdict} |")
    return lines


#: a conditional recipe must draw the asked digit this often, as read by the shipped classifier (issue 14)
MIN_CONDITIONAL = 0.99


def conditional_section(current: dict) -> list[str]:
    """Every conditional recipe's conditional accuracy against the bar, next to the classifier's own."""
    rows = {k: r["metrics"] for k, r in sorted(current.items())
            if r.get("metrics", {}).get("conditional_accuracy") is not None}
    if not rows:
        return []
    lines = ["", "## Conditional recipes: is the asked digit drawn?", "",
             f"A conditional recipe should draw the digit it is asked for at least {MIN_CONDITIONAL:.0%} of the "
             "time, as read by the shipped classifier (whose own accuracy on held-out real digits, the floor, "
             "is what a perfect generator scores):", "",
             "| recipe | discriminator | cond. acc. (floor) | meets the bar |", "| --- | --- | --- | --- |"]
    for name, m in rows.items():
        disc = current[name].get("settings", {}).get("disc", {}).get("name", "?")
        ok = m["conditional_accuracy"] >= MIN_CONDITIONAL
        lines.append(f"| `{name}` | {disc} | {fmt(m['conditional_accuracy'], 4)} "
                     f"({fmt(m.get('conditional_accuracy_floor'), 4)}) | {'yes' if ok else 'no'} |")
    return lines


def render(results: dict, catalogue: dict, default: str | None = None) -> str:
    lines = list(HEADER)
    current = {k: r for k, r in results.items() if r.get("protocol") == PROTOCOL}
    translation = {k: r for k, r in current.items() if r.get("metrics", {}).get("task") == "translation"}
    sampling = {k: r for k, r in current.items() if k not in translation}
    # (recipe, numbers, date) of every measurement made against the training images: rows not yet
    # remeasured, and the headlines that remeasured rows keep of them
    history = [(k, r["metrics"], r.get("measured")) for k, r in sorted(results.items())
               if r.get("protocol") != PROTOCOL and "metrics" in r]
    history += [(k, e, e.get("measured")) for k, r in sorted(results.items()) for e in r.get("earlier", [])
                if e.get("protocol") != PROTOCOL]
    if sampling:
        lines += [
            "| recipe | composition | FD (floor) | precision / recall | classes or modes | cond. acc. | memorized (floor) "
            "| wall time | img/s | command |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
    elif not translation:
        lines += ["No recipe has been measured against the held-out split yet: run `python benchmarks/zoo.py`.",
                  ""]
    for name in sorted(sampling):
        r = sampling[name]
        comp = composition(r, catalogue.get(name, {}))
        if "error" in r:
            lines.append(f"| `{name}` | {comp} | failed: {r['error']} | | | | | | | |")
            continue
        m = r["metrics"]
        smoke = f" ({r['steps_override']} steps only)" if r.get("steps_override") else ""
        lines.append(
            f"| `{name}`{smoke} | {comp} | {fmt(m.get('fd'))} ({fmt(m.get('fd_floor'), 2)}) | "
            f"{fmt(m.get('precision'), 2)} / {fmt(m.get('recall'), 2)} | {cover(m)} | "
            f"{fmt(m.get('conditional_accuracy'), 3)} | {fmt(m.get('memorized'), 2)} "
            f"({fmt(m.get('memorized_floor'), 2)}) | {duration(r)} | "
            f"{fmt(r['images_per_sec'])} | `{r.get('command', 'ganzoo run ' + name)}` |")
    if translation:
        lines += TRANSLATION_HEADER + [
            "| recipe | composition | L1 | PSNR (dB) | SSIM | FD to real targets (floor) | digit kept (floor) "
            "| digit kept after the cycle (floor) | wall time | img/s | command |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
    for name in sorted(translation):
        r, m = translation[name], translation[name]["metrics"]
        smoke = f" ({r['steps_override']} steps only)" if r.get("steps_override") else ""
        lines.append(
            f"| `{name}`{smoke} | {composition(r, catalogue.get(name, {}))} | {fmt(m.get('l1'), 3)} | "
            f"{fmt(m.get('psnr'), 3)} | {fmt(m.get('ssim'), 3)} | {fmt(m.get('fd'))} ({fmt(m.get('fd_floor'), 2)}) | "
            f"{fmt(m.get('digit_kept'), 3)} ({fmt(m.get('digit_kept_floor'), 3)}) | "
            f"{fmt(m.get('cycle_digit_kept'), 3)} ({fmt(m.get('cycle_digit_kept_floor'), 3)}) | {duration(r)} | "
            f"{fmt(r['images_per_sec'])} | `{r.get('command', 'ganzoo run ' + name)}` |")
    if current:
        first = next(iter(current.values()))
        threads = ", ".join(f"{k} {v.get('threads')}" for k, v in sorted(current.items()))
        lines += [
            "",
            f"Measured on {first.get('machine', '?')} ({first.get('measured', '?')}); wall time covers the whole",
            "`ganzoo run` (start-up, training, grids, checkpoints). Rows measured with `--jobs 2` trained two "
            "recipes",
            "at a time with one thread each, so their wall times are longer than a run alone with both cores",
            f"(threads per row: {threads}). Rows whose time says \"training\" were measured from runs trained",
            "earlier (`--reuse`): the time is the training loop's own, from metrics.jsonl.",
        ]
    lines += default_section(current, default)
    lines += conditional_section(current)
    if history:
        lines += [
            "",
            "## History: measured against the training images",
            "",
            "These rows were measured before the held-out split: the reference and the floor were drawn from",
            "the same images the recipes trained on, so a generator that memorized them could beat the",
            "floor, and that floor (5,000 against 5,000 of the same 10,000 images) is not the held-out one.",
            "They are kept for the record, not for comparison with measurements against the held-out split.",
            "",
            "| recipe | FD (floor) | precision / recall | classes or modes | cond. acc. | measured |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, m, measured in sorted(history, key=lambda h: (h[0], str(h[2]))):
            lines.append(f"| `{name}` | {fmt(m.get('fd'))} ({fmt(m.get('fd_floor'), 2)}) | "
                         f"{fmt(m.get('precision'), 2)} / {fmt(m.get('recall'), 2)} | {cover(m)} | "
                         f"{fmt(m.get('conditional_accuracy'), 3)} | {measured} |")
    lines += ["", "## Samples", ""]
    for name in sorted(results):
        if results[name].get("grid"):
            doc = catalogue.get(name, {}).get("doc") or f"`{results[name].get('command', '')}`"
            old = "" if name in current else " (from the run measured against the training images)"
            lines += [f"### {name}", "", doc, "", f"![{name}{old}]({results[name]['grid']})", ""]
            earlier = describe_earlier(results[name])
            if earlier:
                lines += [earlier, ""]
    return "\n".join(lines) + "\n"


TRANSLATION_HEADER = [
    "",
    "## Image-to-image translation",
    "",
    "Translation runs are scored on the held-out split's inputs (`ganzoo eval RUN`): L1 (pixels in",
    "[-1, 1]), PSNR and SSIM (torchmetrics, per image on [0, 1] pixels) of each output against its own",
    "target, for paired data; the FD of the outputs against the held-out split's real target-domain images",
    "(the floor: the train split's real targets against the same, at the same count); and, for the",
    "MNIST-derived sets, the share of outputs that the target domain's classifier reads as the input's",
    "digit (the floor: its accuracy on real held-out targets, what a perfect translator scores), after",
    "the translation and, for CycleGAN, after the full cycle A → B → A. `+l1` and `+bce` rows are the",
    "pix2pix paper's ablation: the recipe trained with `--loss l1` (no discriminator) or `--loss bce`",
    "(no L1 term).",
    "",
]


def composition(row: dict, recipe: dict) -> str:
    """generator · loss · dataset, as the row trained (its recorded settings), else as the recipe says."""
    cfg = row.get("settings") or recipe
    return " · ".join(f"{cfg.get(t, {}).get('name', '')}" for t in ("gen", "loss", "dataset") if t in cfg)


def duration(row: dict) -> str:
    if row.get("wall_time_s") is not None:
        return f"{row['wall_time_s'] / 60:.1f} min"
    return f"{row['train_time_s'] / 60:.1f} min training" if row.get("train_time_s") else "–"


def cover(m: dict) -> str:
    if "modes_covered" in m:
        return f"{m.get('modes_covered')}/{m.get('num_modes')} modes, HQ {fmt(m.get('high_quality_share'), 2)}"
    return f"{m.get('classes_covered')}/{m.get('num_classes')} classes"


def refresh_exports(weights: Path, results: dict, recipes: list[str]) -> None:
    """Export each shipped generator again from itself, with the header this version of ganzoo writes
    (`ganzoo.pretrained.export`): the same weights and the same measured numbers, so the rows stay as they
    are and only the files' digests change. The evaluation's own classifier path is dropped, as
    `ganzoo eval` no longer records it."""
    from ganzoo.pretrained import export, recorded_metrics

    for recipe in recipes:
        path = weights / f"{recipe}.safetensors"
        metrics = recorded_metrics(path)
        for record in metrics.values():  # "classifier", "cycle_classifier": named by their digest
            if isinstance(record, dict) and "digest" in record:
                record.pop("path", None)
        sha = export(path, path, name=recipe, metrics=metrics)
        entry = {"file": path.name, "sha256": sha, "bytes": path.stat().st_size}
        write_index(weights, recipe, entry)
        if recipe in results:
            results[recipe]["pretrained"] = entry
            results[recipe]["metrics"] = recorded_metrics(path)
        print(json.dumps({"recipe": recipe, "refreshed": entry}), flush=True)


def write_index(weights: Path, recipe: str, entry: dict) -> None:
    """Record one recipe's shipped generator in index.json, which the built-in recipes plugin registers."""
    index_file = weights / "index.json"
    index = json.loads(index_file.read_text()) if index_file.exists() else {}
    index[recipe] = {"file": entry["file"], "sha256": entry["sha256"]}
    index_file.write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")


def main() -> None:
    import tomllib

    from ganzoo.pretrained import portable

    parser = argparse.ArgumentParser(description="train, evaluate and document every built-in recipe")
    parser.add_argument("--recipes", nargs="*", help="a subset (default: every recipe in registry.toml)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--num", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=None,
                        help="override every recipe's length (a smoke run; its rows are marked)")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs",
                        help="where zoo.md, zoo/results.json and the grids go (default: docs/)")
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "ganzoo" / "zoo-runs"))
    parser.add_argument("--reuse", action="store_true",
                        help="measure runs already in --work (trained earlier) instead of training them again")
    parser.add_argument("--weights", type=Path, default=ROOT / "plugins" / "pretrained",
                        help="where the recipes' pretrained generators and their index.json go (not for --steps)")
    parser.add_argument("--no-weights", action="store_true", help="measure the runs themselves, export nothing")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite zoo.md from zoo/results.json without training (after a change of the page)")
    parser.add_argument("--refresh-exports", action="store_true",
                        help="rewrite the shipped files' headers from their own weights and numbers (after a change "
                             "of what an export records), without training or measuring")
    args = parser.parse_args()
    registry_toml = tomllib.loads((ROOT / "registry.toml").read_text())
    catalogue, default = registry_toml["recipes"], registry_toml.get("default")
    recipes = args.recipes or sorted(catalogue) + sorted(a for a, (r, _) in ABLATIONS.items() if r in catalogue)
    threads = max(1, (os.cpu_count() or 2) // args.jobs)
    docs: Path = args.docs
    store = docs / "zoo" / "results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    if args.render_only or args.refresh_exports:
        recipes = []
    weights = None if args.no_weights or args.steps else args.weights
    if args.refresh_exports:
        shipped = json.loads((args.weights / "index.json").read_text())
        refresh_exports(args.weights, results, [r for r in args.recipes or sorted(shipped) if r in shipped])
    with ThreadPoolExecutor(args.jobs) as pool:
        for row in pool.map(lambda r: measure(r, Path(args.work), threads, args.num, docs, args.steps,
                                                      args.reuse, weights), recipes):
            results[row["recipe"]] = with_history(row, results.get(row["recipe"]))
            if weights is not None and "pretrained" in row:
                write_index(weights, row["recipe"], row["pretrained"])
            print(json.dumps({k: v for k, v in row.items() if k != "metrics"}), flush=True)
            store.parent.mkdir(parents=True, exist_ok=True)
            store.write_text(json.dumps(portable(results), indent=2, sort_keys=True))
            (docs / "zoo.md").write_text(render(results, catalogue, default))
    # results.json is published: no path of the machine that measured it (`ganzoo.pretrained.portable`)
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(portable(results), indent=2, sort_keys=True))
    (docs / "zoo.md").write_text(render(results, catalogue, default))
    print(f"wrote {docs / 'zoo.md'}")


if __name__ == "__main__":
    main()
