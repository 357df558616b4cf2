"""Resizing shared by every image dataset, and the in-memory dataset base class."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import UsageError
from ganzoo.interfaces import Dataset
from ganzoo.specs import DataInfo

from .splits import SplitRule, take

# Resizing a whole training set at once in float would take gigabytes (60,000 images
# at 64 px is ~1 GB); chunks keep the peak small.
_CHUNK = 2048


def check_size(image_size: int | None, name: str) -> None:
    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise UsageError(f"{name}: image_size must be a positive integer, not {image_size!r}")


def resize_center_crop(x: Tensor, size: int) -> Tensor:
    """uint8 images (C, H, W) or (N, C, H, W) to ``size`` x ``size``.

    The central square (side = the shorter side) is cut out and then resized, which
    is the same as resizing the shorter side to ``size`` and centre-cropping, at a
    fraction of the cost. Antialiasing keeps downscaled digits and faces smooth.
    """
    single = x.dim() == 3
    if single:
        x = x.unsqueeze(0)
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[..., top:top + side, left:left + side]
    if side != size:
        out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8)
        for i in range(0, len(x), _CHUNK):
            chunk = F.interpolate(x[i:i + _CHUNK].float(), size=(size, size), mode="bilinear",
                                  align_corners=False, antialias=side > size)
            out[i:i + _CHUNK] = chunk.round_().clamp_(0, 255).to(torch.uint8)
        x = out
    else:
        x = x.contiguous()
    return x[0] if single else x


class InMemory(Dataset):
    """A dataset held as one tensor: uint8 images (N, C, H, W) or float points (N, D)."""

    streaming = False

    def _hold(self, x: Tensor, labels: Tensor | None, class_names: tuple[str, ...] | None = None,
              modality: str = "image", split: str | None = None) -> None:
        """Keep ``x``/``labels``; ``split`` names the part they are ("train", "heldout", "all")."""
        self._x = x
        self._labels = labels.long() if labels is not None else None
        self.info = DataInfo(tuple(x.shape[1:]), len(class_names) if class_names else None, len(x),
                             modality, tuple(class_names) if class_names else None, split)

    def _hold_part(self, x: Tensor, labels: Tensor | None, class_names: tuple[str, ...] | None, split: str,
                   rule: SplitRule, modality: str = "image") -> None:
        """Keep the ``split`` part of the whole data ``x``/``labels``, cut by ``rule`` (see splits.py)."""
        idx = take(split, len(x), labels, rule)
        if idx is not None:
            x, labels = x[idx], labels[idx] if labels is not None else None
        self._hold(x, labels, class_names, modality, split)

    def tensors(self) -> tuple[Tensor, Tensor | None]:
        return self._x, self._labels

    def __len__(self) -> int:
        return self.info.size

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.info.size}, shape={self.info.shape})"
