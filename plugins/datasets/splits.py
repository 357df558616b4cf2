"""Train / held-out splits of the built-in datasets: one rule, deterministic, stratified by class.

A GAN trains on the ``train`` part; `ganzoo eval` measures its samples against
the ``heldout`` part, which it never saw, and checks for memorization by
comparing the samples' distances to the train part with the held-out images'.
Every dataset here takes ``split`` = "train" (the default), "heldout" or "all".

Datasets that come with their own test split (mnist, fashion-mnist, cifar10)
use it as the held-out part. The others (mnist-10k, folder, gaussians) cut one
out of their images with ``split_indices``: within each class, a seeded
permutation; the held-out quota of each class is proportional to its size
(largest remainders), so the class prior is the same in both parts. The seed
is part of the dataset's definition, never the run's: every run of a dataset
sees the same parts, and the evaluation classifier shipped for mnist-10k
records the digest of the parts it was trained on (see ``split_digest``).

This module imports torch only for tensors; the registration module does not import it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import Tensor

from ganzoo.errors import UsageError

SPLITS = ("train", "heldout", "all")


@dataclass(frozen=True)
class SplitRule:
    """How a dataset cuts its held-out part: ``heldout`` images (an int) or that share of them (a float < 1)."""

    heldout: int | float
    seed: int = 0

    def count(self, n: int) -> int:
        h = self.heldout if isinstance(self.heldout, int) else round(self.heldout * n)
        return max(0, min(int(h), n))


def check_split(split: str, dataset: str) -> str:
    if split not in SPLITS:
        raise UsageError(f"{dataset}: split must be one of {', '.join(SPLITS)}, not {split!r}",
                         "train on 'train' (the default); `ganzoo eval` measures against 'heldout'")
    return split


def split_indices(n: int, labels: Tensor | None, rule: SplitRule) -> tuple[Tensor, Tensor]:
    """(train indices, held-out indices), each sorted, for ``n`` items with optional class ``labels`` (n,)."""
    h = rule.count(n)
    gen = torch.Generator().manual_seed(rule.seed)
    if labels is None or n == 0:
        held = torch.randperm(n, generator=gen)[:h]
    else:
        labels = labels.long().cpu()
        counts = torch.bincount(labels)
        exact = counts.double() * h / n
        quota = exact.floor().long()
        # largest remainders (ties to the lower class index) bring the total to exactly h
        rest = int(h - quota.sum())
        if rest > 0:
            order = sorted(range(len(counts)), key=lambda c: (-(float(exact[c]) - int(quota[c])), c))
            for c in order[:rest]:
                quota[c] += 1
        picks = []
        for c in range(len(counts)):
            members = (labels == c).nonzero().flatten()
            picks.append(members[torch.randperm(len(members), generator=gen)[: int(quota[c])]])
        held = torch.cat(picks) if picks else torch.empty(0, dtype=torch.long)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[held] = True
    return (~mask).nonzero().flatten(), mask.nonzero().flatten()


def split_digest(heldout: Tensor) -> str:
    """A short hash of the held-out indices: equal digests mean the same parts."""
    return hashlib.sha256(heldout.long().contiguous().numpy().tobytes()).hexdigest()[:12]


def take(part: str, n: int, labels: Tensor | None, rule: SplitRule) -> Tensor | None:
    """The indices of ``part`` ("train" / "heldout"), or None for "all" (everything, in order)."""
    if part == "all":
        return None
    train, held = split_indices(n, labels, rule)
    return train if part == "train" else held
