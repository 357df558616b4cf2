"""A small CNN classifier whose penultimate layer is ganzoo's feature space for FD, KID and precision/recall.

This is deliberately not Inception: it is trained by ganzoo on the dataset's
own real images, so its features know digits (say) and nothing else, and it
runs in seconds on a CPU. Numbers computed with it are "FD-classifier",
comparable only between runs scored with the same weights; the weights' hash
is reported with every score for that reason.

Weights are trained on the dataset's train part only (what a GAN trains on),
never on the held-out part samples are measured against. Where they come
from, first match wins:
1. the file the dataset's registration declares (``DatasetEvaluation.classifier``;
   ganzoo ships ``mnist-10k``'s), when it was trained on this very train part
   (same name, channels, classes and label sequence: see ``matches``);
2. the cache: ``$GANZOO_CACHE/classifiers/<dataset>-<hash>.safetensors``
   (``GANZOO_CACHE`` defaults to ``~/.cache/ganzoo``);
3. trained now on the train part (seeded) and written to the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ..base.errors import DataError
from .cnn import FEATURES, FORMAT, META_KEY, ClassifierMeta, SmallCNN, labels_digest, prepare, save
from .train_classifier import train_classifier

if TYPE_CHECKING:
    from .reference import Reference


def cache_root() -> Path:
    return Path(os.environ.get("GANZOO_CACHE") or "~/.cache/ganzoo").expanduser()


@dataclass
class Classifier:
    """Loaded weights plus what they were trained on; ``embed`` is the entry point for metrics."""

    model: SmallCNN
    meta: ClassifierMeta
    source: str  # "shipped", "cache" or "trained"
    path: Path | None = None
    digest: str = field(default="")

    @property
    def resolution(self) -> int:
        return int(self.meta["resolution"])

    @property
    def accuracy(self) -> float | None:
        return self.meta.get("accuracy")

    @torch.no_grad()
    def embed(self, images: Tensor, batch: int = 500, device: str | torch.device = "cpu") -> tuple[Tensor, Tensor]:
        """uint8 images (N, C, H, W) -> (features (N, 64), class probabilities (N, K)), deterministic."""
        self.model.eval()
        feats, probs = [], []
        for i in range(0, len(images), batch):
            x = prepare(images[i:i + batch], self.resolution).to(device)
            f = self.model.features(x)
            feats.append(f.cpu() * float(self.meta.get("feature_scale", 1.0)))
            probs.append(self.model.fc2(f).softmax(dim=1).cpu())
        return torch.cat(feats), torch.cat(probs)


def load(path: Path, source: str) -> Classifier:
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta: ClassifierMeta = json.loads((fh.metadata() or {})[META_KEY])
        state = load_file(str(path))
        with torch.random.fork_rng(devices=[]):  # the throw-away initial weights must not move the global RNG
            model = SmallCNN(int(meta["in_channels"]), int(meta["num_classes"]), int(meta.get("features", FEATURES)))
        model.load_state_dict(state)
    except Exception as exc:
        raise DataError(f"classifier weights {path} are unreadable: {type(exc).__name__}: {exc}",
                        "delete the file to retrain it") from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return Classifier(model.eval(), meta, source, path, digest)


def shipped_path(ref: Reference) -> Path | None:
    """The weights file the dataset's registration declares, if it exists."""
    declared = ref.extras.classifier if ref.extras is not None else None
    path = Path(declared) if declared else None
    return path if path is not None and path.is_file() else None


def matches(clf: Classifier, ref: Reference) -> str:
    """Why ``clf`` does not fit ``ref``'s train part ("" when it does)."""
    info = ref.info
    if clf.meta.get("in_channels") != info.channels or clf.meta.get("num_classes") != info.num_classes:
        return "its channels or classes differ from the dataset's"
    if clf.meta.get("dataset") != ref.name:
        return f"they were trained on {clf.meta.get('dataset')!r}"
    split = clf.meta.get("split") or {}
    if ref.train_y is None or split.get("labels_digest") != labels_digest(ref.train_y):
        return "they were trained on other images than this train split"
    return ""


def cache_key(name: str, params: dict[str, object] | None, images: Tensor, labels: Tensor) -> str:
    """Hash of what the weights depend on: name, parameters, shape, and a fingerprint of the data."""
    h = hashlib.sha256(json.dumps([FORMAT, name, params or {}, list(images.shape)], sort_keys=True,
                                  default=str).encode())
    h.update(images[:64].contiguous().numpy().tobytes())
    h.update(labels.contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def get_classifier(ref: Reference, train: bool = True, log: Callable[[str], None] | None = None) -> Classifier | None:
    """The classifier for a labelled image dataset: shipped, cached, or trained now (see the module doc).

    It is trained on ``ref``'s train part only, and its accuracy is measured on the held-out part
    when there is one. Returns None for datasets it does not apply to (points, or no labels).
    ``log`` (a callable taking a string) hears about training on first use.
    """
    info = ref.info
    images, labels = ref.train_x, ref.train_y
    if not info.is_image or not info.num_classes or labels is None:
        return None
    path = shipped_path(ref)
    if path is not None:
        clf = load(path, "shipped")
        why = matches(clf, ref)
        if not why:
            return clf
        if log:
            log(f"not using the shipped classifier {path.name}: {why}")
    path = cache_root() / "classifiers" / f"{ref.name}-{cache_key(ref.name, ref.params, images, labels)}.safetensors"
    if path.is_file():
        return load(path, "cache")
    if not train:
        return None
    if log:
        log(f"training the evaluation classifier for {ref.name} (first use; cached in {path.parent})")
    heldout = (ref.heldout_x, ref.heldout_y) if ref.heldout_x is not None and ref.heldout_y is not None else None
    model, meta = train_classifier(images, labels, name=ref.name, params=ref.params, heldout=heldout)
    try:
        save(model, meta, path)
    except OSError as exc:  # a read-only cache costs a retrain next time, not this evaluation
        if log:
            log(f"could not cache the classifier in {path.parent}: {exc.strerror or exc}")
        return Classifier(model.eval(), meta, "trained", None, "unsaved")
    return load(path, "trained")
