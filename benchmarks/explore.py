"""How fast `ganzoo explore` answers: the time to draw one grid of 64 samples, per shipped generator.

Measured server-side, as the page asks for it (`ganzoo.explore.zoo.Zoo.grid`: sampling and PNG encoding),
with the generator loaded once and held in memory, as the server holds it; each grid has a new seed, as
"new seed" asks for one. Translators are timed on one picture (`Zoo.translate`), the canvas's request.
The issue's target: under a second for every shipped MNIST generator on two CPU cores.

    python benchmarks/explore.py [--threads 2] [--repeats 5] [--only dcgan-mnist ...]

Timings are printed, never asserted (tests/test_benchmark_scripts.py runs this with one repeat).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch's intra-op threads (default 2: two cores)")
    parser.add_argument("--repeats", type=int, default=5, help="grids timed per generator (after one warm-up)")
    parser.add_argument("--only", nargs="*", default=None, help="these pretrained names only")
    args = parser.parse_args()

    import torch
    from PIL import Image

    from ganzoo.explore.zoo import Zoo

    torch.set_num_threads(args.threads)
    zoo = Zoo("no-runs")
    entries = [e for e in zoo.entries() if e.group == "pretrained" and (not args.only or e.name in args.only)]
    canvas = io.BytesIO()
    Image.new("L", (280, 280), 0).save(canvas, format="PNG")  # the page's canvas: 280 px, sent as a PNG
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats} after a warm-up")
    print(f"{'generator':<26} {'what':<22} {'ms per request':>14}  {'under 1 s':>9}")
    for entry in entries:
        info = zoo.describe(entry.id)  # loads it once; every request below reuses it
        if info["takes"] == "image":
            what = "translate 1 picture"

            def request(seed: int, id: str = entry.id) -> bytes:
                return zoo.translate(id, canvas.getvalue(), seed=seed)
        else:
            n = 8 * len(info["classes"]) if info["conditional"] else (64 if info["modality"] == "image" else 1000)
            what = f"grid of {n} {'samples' if info['modality'] == 'image' else 'points'}"

            def request(seed: int, id: str = entry.id) -> bytes:
                return zoo.grid(id, seed=seed)
        request(0)  # warm-up: first-call allocations, lazy imports
        times = []
        for seed in range(1, args.repeats + 1):
            start = time.perf_counter()
            request(seed)
            times.append(time.perf_counter() - start)
        ms = statistics.median(times) * 1000
        print(f"{entry.name:<26} {what:<22} {ms:>14.1f}  {'yes' if ms < 1000 else 'NO':>9}", flush=True)


if __name__ == "__main__":
    main()
