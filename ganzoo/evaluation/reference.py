"""The real data samples are measured against: a dataset's held-out part, its train part, and its extras.

A dataset that declares a ``split`` parameter ("train" / "heldout" / "all",
see plugins/datasets/splits.py) is read twice: the ``train`` part, which a
run trains on by default, and the ``heldout`` part, which it never sees.
Distances are measured against the held-out part; their floor compares the
train part with it; the memorization check asks whether samples sit closer
to the train part than held-out images do. A dataset without a split is
measured against its own (training) images, with a note saying that a
generator that memorizes can then beat the floor.

What else evaluation may use (shipped classifier weights, a mode metric) is
read from the dataset's registration (``ComponentSpec.evaluation``) and nowhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TypedDict, cast
from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from ..base.errors import DataError
from ..base.specs import ComponentSpec, DataInfo, DatasetEvaluation, import_target
from ..components.interfaces import Dataset

SPLIT_PARAM = "split"
#: a dataset's own mode metric (``DatasetEvaluation.modes``): samples and the dataset -> its numbers by key
ModeMetric = Callable[[Tensor, Dataset], Mapping[str, object]]


class _Counted(TypedDict):
    dataset: str
    split: str | None  # "heldout", or None when samples are measured against the training images
    images: int
    train_images: int


class ReferenceRecord(_Counted, total=False):  # (NotRequired is Python 3.11's)
    """The ``reference`` entry of a result."""

    run_split: str


@dataclass
class Reference:
    """One dataset's real data, read once; ``heldout_x`` is None when the dataset declares no split."""

    name: str
    params: dict[str, object]  # the dataset's parameters without ``split``
    dataset: Dataset  # the train part as built (mode metrics read it)
    train_x: Tensor
    train_y: Tensor | None
    heldout_x: Tensor | None = None
    heldout_y: Tensor | None = None
    extras: DatasetEvaluation | None = None
    run_split: str | None = None  # the part the samples' run trained on, when known
    notes: list[str] = field(default_factory=list)

    @property
    def info(self) -> DataInfo:
        return self.dataset.info

    @property
    def has_heldout(self) -> bool:
        return self.heldout_x is not None

    @property
    def real_x(self) -> Tensor:
        """What samples are measured against: the held-out part, else the training images."""
        return self.heldout_x if self.heldout_x is not None else self.train_x

    @property
    def real_y(self) -> Tensor | None:
        return self.heldout_y if self.heldout_x is not None else self.train_y

    def class_prior(self) -> Tensor | None:
        """Class frequencies (K,) of the images samples are measured against; None without labels."""
        y, k = self.real_y, self.info.num_classes
        if y is None or not k:
            return None
        counts = torch.bincount(y.long(), minlength=k).double()
        return counts / counts.sum()

    def record(self) -> ReferenceRecord:
        """The ``reference`` entry of a result: which split and how many images."""
        d: ReferenceRecord = {"dataset": self.name, "split": "heldout" if self.has_heldout else None,
                              "images": len(self.real_x), "train_images": len(self.train_x)}
        if self.run_split is not None:
            d["run_split"] = self.run_split
        return d


def _spec(name: str) -> ComponentSpec | None:
    from ..plugin.manager import get_registry

    registry = get_registry()
    return registry.get("dataset", name) if registry.has("dataset", name) else None


def _tensors(dataset: Dataset, name: str) -> tuple[Tensor, Tensor | None]:
    if dataset.streaming:
        raise DataError(f"evaluation needs an in-memory dataset; {name!r} streams its data",
                        "raise the dataset's in-memory limit, or score against a smaller copy")
    return dataset.tensors()


def declared_split(spec: ComponentSpec | None) -> str | None:
    """The default of the dataset's ``split`` parameter, or None when it declares none."""
    if spec is None:
        return None
    for p in spec.params:
        if p.name == SPLIT_PARAM:
            return str(p.default) if p.default is not None else "train"
    return None


# a run's periodic evaluation reads its data once; each entry keeps the dataset it was asked with, so
# that object's id cannot be reused while the entry lives
_CACHE: dict[tuple[str, str, int], tuple[Dataset | None, Reference]] = {}


def reference(name: str, params: Mapping[str, object] | None = None, dataset: Dataset | None = None) -> Reference:
    """The real data for samples of dataset ``name`` built with ``params`` (a run's [dataset] table).

    ``dataset``: the already built dataset (the trainer's), reused when it is the train part.
    """
    params = dict(params or {})
    key = (name, json.dumps(params, sort_keys=True, default=str), id(dataset))
    cached = _CACHE.get(key)
    if cached is not None and cached[0] is dataset:
        return cached[1]
    given = dataset
    spec = _spec(name)
    default_split = declared_split(spec)
    split = params.pop(SPLIT_PARAM, default_split)
    run_split = None if split is None else str(split)
    extras = spec.evaluation if spec is not None else None
    notes: list[str] = []
    if default_split is None:
        if dataset is None:
            from ..components.build import build_dataset

            dataset = build_dataset(name, params)
        x, y = _tensors(dataset, name)
        ref = Reference(name, params, dataset, x, y, extras=extras, notes=[
            f"{name} declares no held-out split: samples are measured against its training images, "
            f"so a generator that memorizes them can beat the floor; memorization is not checked"])
    else:
        from ..components.build import build_dataset

        if dataset is None or dataset.info.split != "train":
            dataset = build_dataset(name, {**params, SPLIT_PARAM: "train"})
        x, y = _tensors(dataset, name)
        hx: Tensor | None
        try:
            hx, hy = _tensors(build_dataset(name, {**params, SPLIT_PARAM: "heldout"}), name)
        except DataError as exc:  # e.g. a test split that is not on disk, offline: say so, measure what there is
            hx, hy = None, None
            notes.append(f"the held-out split of {name} is not available ({exc.message}): samples are measured "
                         f"against its training images, so a generator that memorizes them can beat the floor")
        if hx is not None and run_split != "train":
            notes.append(f"the run trained on split {run_split!r} of {name}, not 'train': the held-out images "
                         f"may be in its training data, so the floor and the memorization check do not hold")
        ref = Reference(name, params, dataset, x, y, hx, hy, extras, run_split, notes)
    if len(_CACHE) >= 2:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (given, ref)
    return ref


def mode_metric(ref: Reference) -> Callable[[Tensor], dict[str, object]] | None:
    """The dataset's own mode-coverage function (declared at registration) bound to its data, or None."""
    if ref.extras is None or not ref.extras.modes:
        return None
    fn = cast(ModeMetric, import_target(ref.extras.modes))  # the function the dataset's registration names
    dataset = ref.dataset
    return lambda samples: dict(fn(samples, dataset))
