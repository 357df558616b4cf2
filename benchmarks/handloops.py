"""The loops people write by hand, as step generators, for benchmarks/overhead.py.

Every loop trains the architecture ganzoo builds for ``name`` (through its
registry, so the models are identical), with Adam(2e-4, betas (0.5, 0.999))
and BCE with logits. Each generator yields once per training step, so the
benchmark can run any of them a few steps at a time, in between ganzoo's.

* `hand_steps`: a minimal hand-written loop over data held in memory as one
  float tensor, batched by index. It does the math of a ganzoo step
  (Goodfellow et al.'s Algorithm 1: fresh noise for the generator update, D's
  weights frozen while G learns); ``fused`` picks Adam's fused kernel, which
  ganzoo uses wherever torch has one; ``reuse_fake`` takes the tutorials'
  shortcut of reusing D's fake batch for the G update (one G forward less per
  step: a slightly different algorithm).
* `tutorial_steps`: the loop of the usual tutorials: torchvision's ``MNIST``
  with per-item PIL ``ToTensor`` + ``Normalize`` through a shuffling
  ``DataLoader`` (with the reuse shortcut, as the tutorials have it).

On CUDA every loop uses bf16 autocast, channels-last and fused Adam, as ganzoo
does by default there.
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import time
from pathlib import Path
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from ganzoo.components.build import build_dataset, build_discriminator, build_generator

MODELS = {"vanilla": {}, "dcgan": {"ngf": 32}}
DISC = {"vanilla": {}, "dcgan": {"ndf": 32}}
OPTS = {"image_size": None, "compile": False}


def dataset():
    return build_dataset("mnist-10k", {"image_size": OPTS["image_size"]})


def models(name: str, info, device, fused: bool = False):
    torch.manual_seed(0)
    G = build_generator(name, info, 100, MODELS[name]).to(device)
    D = build_discriminator(name, info, DISC[name]).to(device)
    if device.type == "cuda" and info.is_image and name != "vanilla":
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    kernel = {"fused": True} if fused or device.type == "cuda" else {}
    adam = lambda m: torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999), **kernel)
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


def hand_steps(name: str, batch: int, device, reuse_fake: bool = False, fused: bool = False) -> Iterator[None]:
    ds = dataset()
    x, _ = ds.tensors()
    x = x.to(device).float().div_(127.5).sub_(1.0)
    G, D, opt_g, opt_d = models(name, ds.info, device, fused)
    per_epoch = len(x) // batch
    while True:
        perm = torch.randperm(len(x), device=device)
        for i in range(per_epoch):
            gan_step(G, D, opt_g, opt_d, x[perm[i * batch:(i + 1) * batch]], reuse_fake)
            yield


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


def tutorial_steps(name: str, batch: int, device, root: Path, workers: int) -> Iterator[None]:
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
    while True:
        for real, _ in loader:
            gan_step(G, D, opt_g, opt_d, real.to(device), reuse_fake=True)
            yield


def timed(steps: Iterator[None], n: int, batch: int, device) -> float:
    """Images/s of the next ``n`` steps of ``steps`` (a device sync at the end, as a log line has)."""
    start = time.perf_counter()
    for _ in range(n):
        next(steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n * batch / (time.perf_counter() - start)
