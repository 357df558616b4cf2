"""Feature spaces the distances are computed in, chosen by what the dataset is.

- labelled images: the ganzoo classifier's penultimate layer (64-d), plus its
  class probabilities for coverage metrics ("classifier");
- points (e.g. gaussians): the points themselves ("points");
- unlabelled images: pixels average-pooled to at most 16x16 ("pixels"), a weak
  but honest fallback that needs no weights.

Inception features for standard FID live in inception.py and are optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from .reference import Reference


@dataclass
class FeatureSpace:
    name: str
    embed: Callable[[Tensor], tuple[Tensor, Tensor | None]]  # samples -> (features, class probs or None)
    info: dict[str, str | float | None]  # what the result reports of the space (a classifier's digest, a note)

    @property
    def key(self) -> str:
        """Identifies these weights, for caching real-data features between calls."""
        return f"{self.name}:{self.info.get('digest', '')}"


def _points(x: Tensor) -> tuple[Tensor, None]:
    return x.detach().float().reshape(len(x), -1).cpu(), None


def pixels(x: Tensor) -> Tensor:
    """uint8 images -> model-range pixels average-pooled to at most 16x16, flattened (N, C*h*w)."""
    from ..components.interfaces import to_model_range

    out = []
    for i in range(0, len(x), 1000):
        chunk = to_model_range(x[i:i + 1000].cpu())
        if chunk.shape[-1] > 16:
            chunk = F.adaptive_avg_pool2d(chunk, 16)
        out.append(chunk.flatten(1))
    return torch.cat(out)


def _pixels(x: Tensor) -> tuple[Tensor, None]:
    return pixels(x), None


def feature_space(ref: Reference, device: str | torch.device = "cpu",
                  log: Callable[[str], None] | None = None) -> FeatureSpace:
    """The space ``ref``'s samples are compared in (see the module doc)."""
    info = ref.info
    if not info.is_image:
        return FeatureSpace("points", _points, {})
    from .classifier import get_classifier

    clf = get_classifier(ref, log=log)
    if clf is None:
        return FeatureSpace("pixels", _pixels, {"note": "no labels: distances use 16x16 pixels, not a classifier"})
    clf.model.to(device)

    def embed(x: Tensor) -> tuple[Tensor, Tensor]:
        f, p = clf.embed(x, device=device)
        return f.cpu(), p.cpu()

    split = clf.meta.get("split") or {}
    # named by its digest, not its path: a result travels (into a pretrained file, a report) and the folder
    # layout of the machine that scored it is nobody's business
    meta: dict[str, str | float | None] = {
        "source": clf.source, "accuracy": clf.accuracy, "digest": clf.digest, "trained_on": clf.meta.get("dataset"),
        "trained_images": split.get("images"), "accuracy_on": split.get("heldout_images")}
    return FeatureSpace("classifier", embed, meta)
