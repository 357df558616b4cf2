"""Feeding real batches to the trainer: in-memory (index batching on the device) or streaming (DataLoader).

Both feeders split an epoch into ``steps_per_epoch`` groups of ``n_critic``
batches (one group per generator step) and drop what is left, so epochs and
steps line up. Their position (epoch, batches consumed, the data-order RNG
state at the start of the epoch) goes into checkpoints, so a resumed run
sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from typing import cast

import torch
from torch import Tensor

from ..base.errors import DataError
from ..components.interfaces import Dataset, to_model_range


@dataclass(frozen=True)
class FeedSettings:
    """How a feeder batches: per-process batch size, critic batches per step, the data-order seed, the
    process's shard (``rank`` of ``world``), where batches go and in which layout, and whether labels go with them."""

    batch_size: int
    n_critic: int
    seed: int
    rank: int
    world: int
    device: torch.device
    channels_last: bool
    need_labels: bool


class Feeder:
    """What the trainer reads real batches from (see the module doc); `make_feeder` picks the kind."""

    def __init__(self, settings: FeedSettings):
        self.batch_size, self.n_critic, self.seed = settings.batch_size, max(1, settings.n_critic), settings.seed
        self.rank, self.world, self.device = settings.rank, settings.world, settings.device
        self.channels_last, self.need_labels = settings.channels_last, settings.need_labels
        self.epoch = -1        # index of the epoch being read; -1 before the first
        self.pos = 0           # batches consumed in this epoch
        self.batches_per_epoch = 0

    @property
    def steps_per_epoch(self) -> int:
        return self.batches_per_epoch // self.n_critic

    @property
    def usable(self) -> int:
        return self.steps_per_epoch * self.n_critic

    @property
    def epoch_done(self) -> bool:
        return self.epoch >= 0 and self.pos >= self.usable

    def _check_size(self, n: int, name: str) -> None:
        if self.steps_per_epoch < 1:
            need = self.batch_size * self.n_critic * self.world
            raise DataError(f"dataset {name!r} has {n} samples, fewer than one step needs "
                            f"(batch_size {self.batch_size} x {self.n_critic} critic steps x {self.world} processes = {need})",
                            "lower --batch-size")

    def _finish(self, x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor | None]:
        x = to_model_range(x)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, (y if self.need_labels else None)

    def next(self) -> tuple[Tensor, Tensor | None]:
        if self.epoch < 0 or self.pos >= self.usable:
            self._new_epoch()
        batch = self._take()
        self.pos += 1
        return batch

    def position(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos, "world": self.world, "batch_size": self.batch_size}

    def _resumed_pos(self, position: Mapping[str, int]) -> int:
        """This feeder's batches that a saved position amounts to, whatever world size and batch saved it.

        Every rank slices the epoch's one permutation ``rank::world``, so ``pos`` batches on each of the
        ``world`` ranks are exactly its first ``pos * batch_size * world`` samples: resuming at that sample
        (rounded down) goes on with the rest of the epoch, none skipped, even with another number of processes.
        """
        pos = int(position.get("pos", 0))
        seen = pos * int(position.get("batch_size", self.batch_size)) * int(position.get("world", self.world))
        return min(seen // (self.batch_size * self.world), self.usable)

    @property
    def data_state(self) -> Tensor | None:
        return None

    # subclasses
    def _new_epoch(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def _take(self) -> tuple[Tensor, Tensor | None]:  # pragma: no cover
        raise NotImplementedError

    def restore(self, position: Mapping[str, int], data_state: Tensor | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def real_points(self, n: int = 2000) -> Tensor | None:
        return None


class InMemoryBatches(Feeder):
    """The whole dataset held once on the device; batches are index_select of a per-epoch permutation."""

    def __init__(self, dataset: Dataset, name: str, settings: FeedSettings):
        super().__init__(settings)
        x, y = dataset.tensors()
        if len(x) == 0:
            raise DataError(f"dataset {name!r} is empty")
        self.n = len(x)
        self._points = None if dataset.info.is_image else x[:2000].float().clone()
        self.x = x.to(self.device)
        self.y = y.to(self.device) if (self.need_labels and y is not None) else None
        self.shard = self.n // self.world
        self.batches_per_epoch = self.shard // self.batch_size
        self._check_size(self.n, name)
        self.gen = torch.Generator().manual_seed(self.seed)
        self._epoch_state: Tensor | None = None
        self._order: Tensor | None = None

    def _new_epoch(self) -> None:
        self.epoch += 1
        self.pos = 0
        self._epoch_state = self.gen.get_state()
        perm = torch.randperm(self.n, generator=self.gen)
        self._order = perm[self.rank::self.world][: self.shard].to(self.device)

    def _take(self) -> tuple[Tensor, Tensor | None]:
        bs = self.batch_size
        assert self._order is not None, "_new_epoch comes first"
        idx = self._order[self.pos * bs:(self.pos + 1) * bs]
        x = self.x.index_select(0, idx)
        y = self.y.index_select(0, idx) if self.y is not None else None
        return self._finish(x, y)

    @property
    def data_state(self) -> Tensor | None:
        return self._epoch_state

    def restore(self, position: Mapping[str, int], data_state: Tensor | None) -> None:
        epoch, pos = int(position.get("epoch", -1)), self._resumed_pos(position)
        if epoch < 0:
            return
        if data_state is not None:
            self.gen.set_state(data_state)
        else:  # no saved state: replay the permutations from the seed
            self.gen.manual_seed(self.seed)
            for _ in range(epoch):
                torch.randperm(self.n, generator=self.gen)
        self.epoch = epoch - 1
        self._new_epoch()
        self.pos = min(pos, self.usable)

    def real_points(self, n: int = 2000) -> Tensor | None:
        return None if self._points is None else self._points[:n]


class StreamingBatches(Feeder):
    """A DataLoader over ``dataset.torch_dataset()`` with a seeded DistributedSampler (any world size)."""

    def __init__(self, dataset: Dataset, name: str, settings: FeedSettings):
        super().__init__(settings)
        from torch.utils.data import DataLoader
        from torch.utils.data.distributed import DistributedSampler

        ds = dataset.torch_dataset()
        self.sampler: DistributedSampler[int] = DistributedSampler(ds, num_replicas=self.world, rank=self.rank,
                                                                   shuffle=True, seed=self.seed, drop_last=True)
        workers = min(4, os.cpu_count() or 1)
        self.loader = DataLoader(ds, batch_size=self.batch_size, sampler=self.sampler, drop_last=True,
                                 num_workers=workers, pin_memory=self.device.type == "cuda",
                                 persistent_workers=workers > 0, worker_init_fn=_ignore_sigint)
        self.batches_per_epoch = len(self.loader)
        self._check_size(len(cast(Sized, ds)), name)  # a map-style dataset: the sampler needs its len too
        self._it: Iterator[Sequence[Tensor]] | None = None  # batches as the default collate gives them: [x, y]

    def _new_epoch(self) -> None:
        self.epoch += 1
        self.pos = 0
        self.sampler.set_epoch(self.epoch)
        self._it = iter(self.loader)

    def _take(self) -> tuple[Tensor, Tensor | None]:
        assert self._it is not None, "_new_epoch comes first"
        x, y = next(self._it)
        x = x.to(self.device, non_blocking=True)
        labels = y.to(self.device, non_blocking=True) if self.need_labels else None
        return self._finish(x, labels)

    def restore(self, position: Mapping[str, int], data_state: Tensor | None) -> None:
        epoch, pos = int(position.get("epoch", -1)), self._resumed_pos(position)
        if epoch < 0:
            return
        self.epoch = epoch - 1
        self._new_epoch()
        assert self._it is not None
        for _ in range(min(pos, self.usable)):
            next(self._it)
        self.pos = min(pos, self.usable)


def _ignore_sigint(worker_id: int) -> None:
    """Ctrl-C reaches the workers too; the trainer finishes its step (which needs them) before stopping."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_feeder(dataset: Dataset, name: str, settings: FeedSettings) -> Feeder:
    cls: type[InMemoryBatches] | type[StreamingBatches] = StreamingBatches if dataset.streaming else InMemoryBatches
    return cls(dataset, name, settings)
