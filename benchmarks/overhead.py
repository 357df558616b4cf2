"""Trainer overhead: ganzoo against the loops people write by hand, side by side.

For each model (``vanilla`` and ``dcgan`` on the bundled ``mnist-10k``), three
loops train the *same* architecture (built through ganzoo's registry), with the
same batch size, Adam(2e-4, betas (0.5, 0.999)) and BCE-with-logits loss:

* ``hand``: a minimal hand-written PyTorch loop over data held in memory as one
  tensor, batched by index, doing the same math as ganzoo's step (Goodfellow
  et al.'s Algorithm 1: fresh noise for the generator update, D's weights
  frozen while G learns): the reference for ganzoo's *overhead*.
* ``hand-reuse``: the same loop with the common tutorial shortcut of reusing
  the discriminator step's fake batch for the generator update (one generator
  forward less per step); shown for comparison, it is a different algorithm.
* ``tutorial``: the loop from the usual tutorials: a torchvision ``MNIST``
  dataset with per-item PIL ``ToTensor`` and ``Normalize`` through a
  ``DataLoader`` (batch 64, shuffle; ``workers`` as given).
* ``ganzoo``: ``ganzoo.trainer.Trainer(config).fit()`` with the same settings;
  its images/s are the training loop's as ganzoo logs them in metrics.jsonl
  (the hand loops save nothing, so ganzoo's final sample grid and checkpoint
  are left out of the comparison; the whole-run figure is printed too).

Rounds are interleaved so machine noise hits every loop alike; the table shows
median images/s and the ratios. Run:

    python benchmarks/overhead.py [--steps 200] [--rounds 3] [--workers 2] [--device cpu]

On a GPU (what docs/benchmarks.md asks for: dcgan at 64 px, batch 128 and 512,
with and without torch.compile; both loops then use bf16 autocast and
channels-last, as ganzoo does by default on CUDA):

    python benchmarks/overhead.py --device cuda --models dcgan --image-size 64 \
        --width 64 --batch-size 128 --no-tutorial [--compile]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganzoo.build import build_dataset, build_discriminator, build_generator
from ganzoo.trainer import Trainer

MODELS = {"vanilla": {}, "dcgan": {"ngf": 32}}
DISC = {"vanilla": {}, "dcgan": {"ndf": 32}}
OPTS = {"image_size": None, "compile": False}
WHOLE_RUN: list[float] = []


def dataset():
    return build_dataset("mnist-10k", {"image_size": OPTS["image_size"]})


def models(name: str, info, device):
    torch.manual_seed(0)
    G = build_generator(name, info, 100, MODELS[name]).to(device)
    D = build_discriminator(name, info, DISC[name]).to(device)
    if device.type == "cuda" and info.is_image and name != "vanilla":
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    fused = {"fused": True} if device.type == "cuda" else {}
    adam = lambda m: torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999), **fused)  # noqa: E731
    opt_g, opt_d = adam(G), adam(D)
    if OPTS["compile"]:
        G, D = torch.compile(G), torch.compile(D)
    return G, D, opt_g, opt_d


def amp(device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()


def update(opt, loss) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def trainable(model, flag: bool) -> None:
    for p in model.parameters():
        p.requires_grad_(flag)


def gan_step(G, D, opt_g, opt_d, real, reuse_fake: bool = False):
    """The non-saturating step. ``reuse_fake``: the tutorials' shortcut (one G forward per step)."""
    n = real.shape[0]
    z = torch.randn(n, 100, device=real.device)
    with amp(real.device):
        if reuse_fake:
            fake = G(z)
        else:
            with torch.no_grad():
                fake = G(z)
        d_real, d_fake = D(real).view(-1).float(), D(fake.detach()).view(-1).float()
        d_loss = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + \
            F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
    update(opt_d, d_loss)
    if not reuse_fake:
        trainable(D, False)
        fake = None
    with amp(real.device):
        if fake is None:
            fake = G(torch.randn(n, 100, device=real.device))
        d_gen = D(fake).view(-1).float()
        g_loss = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
    update(opt_g, g_loss)
    if not reuse_fake:
        trainable(D, True)
    return d_loss, g_loss


def hand_loop(name: str, steps: int, batch: int, device, reuse_fake: bool = False) -> float:
    ds = dataset()
    x, _ = ds.tensors()
    x = x.to(device).float().div_(127.5).sub_(1.0)
    G, D, opt_g, opt_d = models(name, ds.info, device)
    per_epoch = len(x) // batch
    perm = torch.randperm(len(x), device=device)
    start = time.perf_counter()
    for step in range(steps):
        i = step % per_epoch
        if i == 0 and step:
            perm = torch.randperm(len(x), device=device)
        gan_step(G, D, opt_g, opt_d, x[perm[i * batch:(i + 1) * batch]], reuse_fake)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


def tutorial_root(tmp: Path) -> Path:
    """torchvision's raw MNIST layout, made from the bundled test split (train=False reads t10k files)."""
    from importlib import resources

    raw = tmp / "MNIST" / "raw"
    raw.mkdir(parents=True)
    data = resources.files("ganzoo_plugins") / "datasets" / "data"
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(data / f"{stem}.gz") as src, open(raw / stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return tmp


def tutorial_loop(name: str, steps: int, batch: int, device, root: Path, workers: int) -> float:
    from torchvision import datasets, transforms

    class TestSplitMNIST(datasets.MNIST):
        # Only the test split ships with ganzoo; torchvision would also insist on the train files.
        raw_folder = property(lambda self: str(Path(self.root) / "MNIST" / "raw"))

        def _check_exists(self) -> bool:
            return all((Path(self.raw_folder) / f"t10k-{k}-idx{d}-ubyte").exists() for k, d in (("images", 3), ("labels", 1)))

    size = [transforms.Resize(OPTS["image_size"])] if OPTS["image_size"] else []
    tf = transforms.Compose([*size, transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    data = TestSplitMNIST(str(root), train=False, transform=tf, download=False)
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True)
    G, D, opt_g, opt_d = models(name, dataset().info, device)
    done, start = 0, time.perf_counter()
    while done < steps:
        for real, _ in loader:
            gan_step(G, D, opt_g, opt_d, real.to(device), reuse_fake=True)
            done += 1
            if done == steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


def ganzoo_loop(name: str, steps: int, batch: int, device, out: Path) -> float:
    config = {
        "gen": {"name": name, **MODELS[name]}, "disc": {"name": name, **DISC[name]},
        "loss": {"name": "bce"}, "out": str(out),
        "dataset": {"name": "mnist-10k", **({"image_size": OPTS["image_size"]} if OPTS["image_size"] else {})},
        "train": {"steps": steps, "batch_size": batch, "lr": 2e-4, "seed": 0, "device": device.type,
                  "compile": OPTS["compile"],
                  "log_every": steps, "sample_every": 10 * steps, "checkpoint_every": 10 * steps},
    }
    result = Trainer(config, progress="quiet", overwrite=True, handle_signals=False).fit()
    WHOLE_RUN.append(result.images_per_sec)
    rows = [json.loads(line) for line in result.metrics_path.read_text().splitlines() if line.strip()]
    return [r for r in rows if "images_per_sec" in r][-1]["images_per_sec"]


def main() -> None:
    parser = argparse.ArgumentParser(description="ganzoo trainer overhead against hand-written loops")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the tutorial loop")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--image-size", type=int, default=None, help="resize mnist-10k (dcgan: 32 or 64)")
    parser.add_argument("--compile", action="store_true", help="torch.compile G and D in both loops")
    parser.add_argument("--no-tutorial", action="store_true", help="skip the torchvision/DataLoader loop")
    parser.add_argument("--width", type=int, default=32, help="dcgan's ngf and ndf (64: the classic 64-px DCGAN)")
    args = parser.parse_args()
    OPTS.update(image_size=args.image_size, compile=args.compile)
    MODELS["dcgan"]["ngf"] = DISC["dcgan"]["ndf"] = args.width
    device = torch.device(args.device)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {device}"
          f"{' (' + torch.cuda.get_device_name() + ')' if device.type == 'cuda' else ''}; "
          f"{args.steps} steps x batch {args.batch_size}, image size {args.image_size or 28}, "
          f"compile {args.compile}, "
          f"median of {args.rounds} interleaved rounds, tutorial DataLoader workers={args.workers}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = tutorial_root(Path(tmp))
        for name in args.models:
            speeds: dict[str, list[float]] = {"hand": [], "hand-reuse": [], "tutorial": [], "ganzoo": []}
            for r in range(args.rounds + 1):  # round 0 warms caches and is not counted
                got = {"hand": hand_loop(name, args.steps, args.batch_size, device),
                       "hand-reuse": hand_loop(name, args.steps, args.batch_size, device, reuse_fake=True),
                       "ganzoo": ganzoo_loop(name, args.steps, args.batch_size, device, Path(tmp) / f"run-{name}"),
                       "tutorial": (float("nan") if args.no_tutorial else
                                    tutorial_loop(name, args.steps, args.batch_size, device, root, args.workers))}
                if r:
                    for k, v in got.items():
                        speeds[k].append(v)
            med = {k: statistics.median(v) for k, v in speeds.items()}
            print(f"{name}: ganzoo whole run incl. final grid and checkpoint: "
                  f"{statistics.median(WHOLE_RUN[-args.rounds:]):.0f} img/s", flush=True)
            ratio = statistics.median(g / h for g, h in zip(speeds["ganzoo"], speeds["hand"]))
            rows.append((name, med["hand"], med["ganzoo"], ratio, med["hand-reuse"], med["tutorial"],
                         med["ganzoo"] / med["tutorial"]))
    print(f"{'model':<9}{'hand img/s':>12}{'ganzoo img/s':>14}{'ganzoo/hand':>13}{'hand-reuse img/s':>18}"
          f"{'tutorial img/s':>16}{'ganzoo/tutorial':>17}")
    for name, hand, gz, ratio, reuse, tut, speedup in rows:
        print(f"{name:<9}{hand:>12.0f}{gz:>14.0f}{ratio:>12.3f}x{reuse:>18.0f}{tut:>16.0f}{speedup:>16.2f}x")


if __name__ == "__main__":
    main()
