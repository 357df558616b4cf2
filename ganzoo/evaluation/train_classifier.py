"""Train the evaluation classifier on a dataset's train part and write it as safetensors.

    python -m ganzoo.evaluation.train_classifier                 # mnist-10k -> the shipped weights file
    python -m ganzoo.evaluation.train_classifier --dataset fashion-mnist --out clf.safetensors

Seeded and reproducible on one machine (up to float reduction order across
thread counts). The classifier sees only the images a GAN trains on (the
dataset's ``train`` split); its accuracy is measured on the ``heldout`` split
that `ganzoo eval` scores against, and written into the file's metadata with
the split it was trained on. A dataset without a split holds out 10% of its
images, chosen by the seed, for the accuracy instead.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .cnn import (FEATURES, FORMAT, ClassifierMeta, ClassifierSplit, SmallCNN, classifier_resolution, labels_digest,
                  prepare, save)

MAX_TRAIN = 20000  # big datasets are subsampled: first-use training must stay around a minute on a CPU


def _shift(x: Tensor, gen: torch.Generator, pixels: int = 2) -> Tensor:
    """Random translations of up to ``pixels`` per image: generated digits are rarely centred exactly."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pixels,) * 4, value=-1.0)  # -1 is background (black) in model range
    dy = torch.randint(0, 2 * pixels + 1, (n, 1, 1, 1), generator=gen)
    dx = torch.randint(0, 2 * pixels + 1, (n, 1, 1, 1), generator=gen)
    rows = (dy + torch.arange(h).view(1, 1, h, 1)).expand(n, c, h, w + 2 * pixels)
    cols = (dx + torch.arange(w).view(1, 1, 1, w)).expand(n, c, h, w)
    return padded.gather(2, rows).gather(3, cols)


def train_classifier(images: Tensor, labels: Tensor, name: str = "", params: dict[str, object] | None = None,
                     heldout: tuple[Tensor, Tensor] | None = None, epochs: int | None = None, seed: int = 0,
                     batch_size: int = 64, lr: float = 2e-3,
                     log: Callable[[str], None] | None = None) -> tuple[SmallCNN, ClassifierMeta]:
    """Train on ``images`` (uint8 N, C, H, W) / ``labels``, a dataset's train part; returns (model, metadata).

    ``heldout``: the dataset's held-out images and labels, for the reported accuracy only; without
    it 10% of ``images`` are set aside for that. ``epochs`` defaults to 15 for mnist-sized sets
    (about 30 s on 2 CPU cores, ~99% held-out accuracy on mnist-10k) and fewer for bigger ones,
    so that training on first use stays near a minute.
    """
    # Seeded in a fork of the global RNG: training on first use inside a run (periodic evaluation)
    # must not change the run's own random stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _train(images, labels, name, params, heldout, epochs, seed, batch_size, lr, log)


def _train(images: Tensor, labels: Tensor, name: str, params: dict[str, object] | None,
           heldout: tuple[Tensor, Tensor] | None, epochs: int | None, seed: int, batch_size: int, lr: float,
           log: Callable[[str], None] | None) -> tuple[SmallCNN, ClassifierMeta]:
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    labels = labels.long()
    num_classes = int(labels.max()) + 1
    split: ClassifierSplit = {"part": "train", "images": len(images), "labels_digest": labels_digest(labels)}
    if heldout is not None:
        train_idx = torch.randperm(len(images), generator=gen)[:MAX_TRAIN]
        x_test, y_test = heldout[0], heldout[1].long()
        split["heldout_images"] = len(x_test)
        num_classes = max(num_classes, int(y_test.max()) + 1)
    else:  # no held-out part declared: set 10% of the images aside for the accuracy
        order = torch.randperm(len(images), generator=gen)[: MAX_TRAIN + MAX_TRAIN // 9]
        held = max(1, len(order) // 10)
        train_idx = order[held:]
        x_test, y_test = images[order[:held]], labels[order[:held]]
        split["heldout_images"] = int(held)
        split["heldout_from"] = "10% of the train part, never trained on"
    if epochs is None:
        epochs = max(5, min(15, 150_000 // max(len(train_idx), 1)))
    res = classifier_resolution(tuple(images.shape))
    x_train, y_train = prepare(images[train_idx], res), labels[train_idx]
    x_test = prepare(x_test, res)
    model = SmallCNN(images.shape[1], num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x_train) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x_train), generator=gen)
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(_shift(x_train[idx], gen)), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x_test[i:i + 1000]).argmax(1) for i in range(0, len(x_test), 1000)])
        feats = torch.cat([model.features(x_train[i:i + 1000]) for i in range(0, len(x_train), 1000)])
        train_pred = model.fc2(feats).argmax(1)
    # One global factor so that real features have mean squared norm D, i.e. x.y / D ~ 1 as KID's
    # kernel assumes; a scalar changes no geometry (precision/recall), it only puts FD and KID in
    # readable units, whatever scale training happened to give the features.
    scale = float((feats.shape[1] / feats.pow(2).sum(1).mean()).sqrt())
    meta: ClassifierMeta = {
        "format": FORMAT, "dataset": name, "params": params or {}, "in_channels": int(images.shape[1]),
        "num_classes": num_classes, "resolution": res, "features": FEATURES,
        "feature_scale": round(scale, 6),
        "accuracy": round(float((pred == y_test).float().mean()), 4), "heldout": len(y_test),
        "train_accuracy": round(float((train_pred == y_train).float().mean()), 4),
        "trained_on": len(train_idx), "split": split, "seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr,
        "train_seconds": round(time.perf_counter() - start, 1), "torch": torch.__version__.split("+")[0],
    }
    return model, meta


def main(argv: list[str] | None = None) -> None:
    from .reference import reference

    p = argparse.ArgumentParser(prog="python -m ganzoo.evaluation.train_classifier", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="mnist-10k")
    p.add_argument("--out", type=Path, default=None,
                   help="default: the weights file the dataset's registration declares "
                        "(plugins/datasets/data/mnist-10k-classifier.safetensors for mnist-10k)")
    p.add_argument("--epochs", type=int, default=None, help="default: 15 for mnist-10k, fewer for bigger sets")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    ref = reference(args.dataset)
    if ref.train_y is None or not ref.info.is_image:
        p.error(f"{args.dataset} is not a labelled image dataset")
    declared = ref.extras.classifier if ref.extras is not None else None
    out = args.out or (Path(declared) if declared else None)
    if out is None:
        p.error(f"{args.dataset} declares no classifier weights file; pass --out")
    heldout = (ref.heldout_x, ref.heldout_y) if ref.heldout_x is not None and ref.heldout_y is not None else None
    model, meta = train_classifier(ref.train_x, ref.train_y, name=args.dataset, heldout=heldout, epochs=args.epochs,
                                   seed=args.seed, log=print)
    save(model, meta, out)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB): trained on {meta['trained_on']} images of the train "
          f"split (accuracy {meta['train_accuracy']:.4f} on them), accuracy {meta['accuracy']:.4f} on "
          f"{meta['heldout']} held-out images, {meta['train_seconds']} s")


if __name__ == "__main__":
    main()
