"""The evaluation classifier itself: its network (`SmallCNN`), the images it takes (`prepare`) and its weights file.

Shared by the two modules above it: `ganzoo.evaluation.classifier` finds the weights a dataset is scored with
(shipped, cached, or trained now) and `ganzoo.evaluation.train_classifier` trains them; neither imports the other
for these pieces. See `ganzoo.evaluation.classifier` for what the classifier is for.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TypedDict

import torch.nn.functional as F
from torch import Tensor, nn

FORMAT = 2  # bump when the architecture or the training protocol changes, so cached weights are retrained
META_KEY = "ganzoo_classifier"
MAX_RESOLUTION = 32  # larger images are scored at 32 px: plenty for a feature space, and fast to train
FEATURES = 64


class ClassifierSplit(TypedDict, total=False):
    """Which images a classifier was trained on, and which measured its accuracy."""

    part: str
    images: int
    labels_digest: str  # `labels_digest` of the train part: which labels, in which order
    heldout_images: int
    heldout_from: str  # set when the dataset has no held-out part and some train images were set aside


class ClassifierMeta(TypedDict, total=False):
    """A weights file's metadata (`train_classifier` writes every key; a file from elsewhere may lack some)."""

    format: int
    dataset: str
    params: dict[str, object]
    in_channels: int
    num_classes: int
    resolution: int
    features: int
    feature_scale: float
    accuracy: float
    heldout: int
    train_accuracy: float
    trained_on: int
    split: ClassifierSplit
    seed: int
    epochs: int
    batch_size: int
    lr: float
    train_seconds: float
    torch: str


class SmallCNN(nn.Module):
    """conv(C->16) -> pool -> conv(16->32) -> pool -> 7x7 -> fc 64 (the features) -> fc K."""

    def __init__(self, in_channels: int, num_classes: int, features: int = FEATURES):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, features)
        self.fc2 = nn.Linear(features, num_classes)

    def features(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.adaptive_avg_pool2d(x, 7)  # identity for 28 px input; any other size lands on 7x7 too
        return F.relu(self.fc1(x.flatten(1)))

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.features(x))


def prepare(images: Tensor, resolution: int) -> Tensor:
    """uint8 (N, C, H, W) -> float in [-1, 1] at ``resolution``; real and generated go through the same path."""
    from ..components.interfaces import to_model_range

    x = to_model_range(images.cpu())
    if x.shape[-1] != resolution or x.shape[-2] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                          antialias=x.shape[-1] > resolution)
    return x


def classifier_resolution(shape: tuple[int, ...]) -> int:
    return min(int(shape[-1]), MAX_RESOLUTION)


def labels_digest(labels: Tensor) -> str:
    """A short hash of a part's label sequence: which images (in which order) a classifier was trained on.

    Resizing leaves it unchanged, a different split changes it: the shipped weights are used only
    for the train part they were trained on.
    """
    return hashlib.sha256(labels.long().contiguous().numpy().tobytes()).hexdigest()[:12]


def save(model: SmallCNN, meta: ClassifierMeta, path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(tmp), metadata={META_KEY: json.dumps(meta, sort_keys=True)})
    os.chmod(tmp, 0o644)  # safetensors writes 0600; shipped weights must be readable by everyone
    os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
