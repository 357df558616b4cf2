"""The metric interface: what a registered metric is given, what it returns, and how an evaluation runs them.

A metric is registered with what it needs and the numbers it gives (`ganzoo.registry.ComponentRegistrar.metric`,
torch-free), and its factory returns a `Metric`. An evaluation builds one `Evaluation` (the samples, their labels
or targets, the real data and its feature space) and calls every chosen metric with it (`score`). What is
expensive is computed there once, on first use, and shared by all of them: the samples' features and class
probabilities, the real images they are compared with and theirs, the floor's stand-in images and theirs
(`RealSide`, kept between the evaluations of a run), the features of every real image (`RealData`).

A metric returns its numbers by the keys it declared, each with ``KEY_floor`` where it declared a floor: the
same number for real data, as far as this many samples can tell (train-split images standing in for samples,
against the same held-out ones). ganzoo checks the keys, orders them, rounds floats to six significant digits
and turns NaN into null with a note (`ganzoo.evaluation.scoring.finite`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import torch
from torch import Tensor

from ..base.errors import ComponentError, plugin_code
from ..base.specs import ComponentSpec, DataInfo
from .features import FeatureSpace
from .reference import Reference

Log = Callable[[str], None]
T = TypeVar("T")
K = TypeVar("K")
#: what a metric returns: numbers by key, and the extras it declared (a weights file's name, a classifier's details)
Numbers = Mapping[str, object]

__all__ = ["Metric", "Evaluation", "RealSide", "RealData", "RoundTrip", "MIN_COMPARED", "build_metric", "score"]

#: the fewest samples (and real images) set statistics are computed on
MIN_COMPARED = 10


class Metric:
    """A registered metric, built by its factory (``factory()``) for one evaluation.

    Subclass it, declare every parameter of ``__init__`` with a default (the factory is called without
    arguments), and implement `__call__`; its docstring is `ganzoo info`'s help.
    """

    def __call__(self, ev: Evaluation) -> Numbers:  # pragma: no cover
        """The numbers of this evaluation by key (``KEY_floor`` beside each key declared with a floor), and the
        extras it declared; {} when it has nothing to say this time (say why with ``ev.note``)."""
        raise NotImplementedError

    def describe(self, result: Mapping[str, object]) -> list[str]:
        """Lines under `ganzoo eval`'s table saying what its numbers were measured on (default: none)."""
        return []


class RealData:
    """The features of a reference's real images in one feature space, each part embedded once, on first use."""

    def __init__(self, reference: Reference, space: FeatureSpace):
        self.reference, self.space = reference, space
        self._embedded: dict[str, tuple[Tensor, Tensor | None]] = {}

    def embedded(self, part: str) -> tuple[Tensor, Tensor | None]:
        """(features, class probabilities or None) of every image of ``part``: "heldout" or "train"."""
        if part not in self._embedded:
            x = self.reference.heldout_x if part == "heldout" else self.reference.train_x
            if x is None:
                raise ValueError(f"{self.reference.name} has no {part} split")
            self._embedded[part] = self.space.embed(x)
        return self._embedded[part]

    def real_probs(self) -> Tensor | None:
        """Class probabilities of every image samples are measured against (held-out when there is a split)."""
        return self.embedded("heldout" if self.reference.has_heldout else "train")[1]


class RealSide:
    """The real images ``m`` samples are compared with, and the floor's stand-ins for the samples.

    With a held-out split: ``m`` held-out images (``x``, ``y``) and ``m`` train-split images standing in for
    samples (``stand_in_x``), the floor being what the run's own training data scores against the same held-out
    images. Without one: two disjoint halves of the training images. Drawn with ``seed``; features are taken
    from the whole split's (`RealData`), so they do not depend on which metric asks first.
    """

    def __init__(self, data: RealData, m: int, seed: int):
        ref = data.reference
        self.data, self.m, self.seed = data, m, seed
        gen = torch.Generator().manual_seed(seed)
        if ref.heldout_x is not None:
            self._a = torch.randperm(len(ref.heldout_x), generator=gen)[:m]
            self._b = torch.randperm(len(ref.train_x), generator=gen)[:m]
            self.x, self.stand_in_x = ref.heldout_x[self._a], ref.train_x[self._b]
            self.y = ref.heldout_y[self._a] if ref.heldout_y is not None else None
        else:
            perm = torch.randperm(len(ref.train_x), generator=gen)
            self._a, self._b = perm[:m], perm[m:2 * m]
            self.x, self.stand_in_x = ref.train_x[self._a], ref.train_x[self._b]
            self.y = ref.train_y[self._a] if ref.train_y is not None else None
        self._memo: dict[str, object] = {}

    @property
    def reference(self) -> Reference:
        return self.data.reference

    def _own(self) -> tuple[Tensor, Tensor | None, Tensor]:
        def compute() -> tuple[Tensor, Tensor | None, Tensor]:
            if self.reference.heldout_x is not None:
                f_held, p_held = self.data.embedded("heldout")
                f_train, _ = self.data.embedded("train")
                return f_held[self._a], (p_held[self._a] if p_held is not None else None), f_train[self._b]
            fa, pa = self.data.space.embed(self.x)
            fb, _ = self.data.space.embed(self.stand_in_x)
            return fa, pa, fb

        return self.once("features", compute)

    def features(self) -> Tensor:
        """Features (m, D) of ``x``."""
        return self._own()[0]

    def probs(self) -> Tensor | None:
        """Class probabilities (m, K) of ``x`` (None outside a classifier's space)."""
        return self._own()[1]

    def stand_in_features(self) -> Tensor:
        """Features (m, D) of ``stand_in_x``."""
        return self._own()[2]

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for on this real side, the kept value after: what a
        metric computes of real data alone (its floor) is computed once per run, not per evaluation."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[return-value]


@dataclass
class RoundTrip:
    """Samples translated back into the inputs' domain (CycleGAN's A -> B -> A), with that domain's real data and
    feature space."""

    samples: Tensor
    reference: Reference
    space: FeatureSpace


#: needs that give a metric the real data
_REAL = ("reference", "features", "classes", "heldout", "modes")

# Real data read and embedded once per run: each entry holds the reference it was made for, so its id is not
# reused while the entry lives. A few, because one translation evaluation measures two domains.
_DATA: dict[tuple[int, str], RealData] = {}
_SIDES: dict[tuple[int, str, int, int], RealSide] = {}
_KEEP = 4


def _kept(cache: dict[K, T], key: K, make: Callable[[], T]) -> T:
    if key not in cache:
        if len(cache) >= _KEEP:
            cache.pop(next(iter(cache)))
        cache[key] = make()
    return cache[key]


def real_data(reference: Reference, space: FeatureSpace) -> RealData:
    """The (kept) `RealData` of ``reference`` in ``space``."""
    data = _kept(_DATA, (id(reference), space.key), lambda: RealData(reference, space))
    if data.reference is not reference:  # pragma: no cover - the entry holds its reference, so ids are not reused
        data = _DATA[(id(reference), space.key)] = RealData(reference, space)
    return data


def real_side(reference: Reference, space: FeatureSpace, m: int, seed: int) -> RealSide:
    """The (kept) `RealSide` of ``m`` images of ``reference`` drawn with ``seed``."""
    return _kept(_SIDES, (id(reference), space.key, m, seed), lambda: RealSide(real_data(reference, space), m, seed))


@dataclass(eq=False)
class Evaluation:
    """What every metric of one evaluation is given; built once, and what is expensive is computed on first use
    and shared.

    ``samples``: uint8 images (N, C, H, W) or float points (N, D) on the CPU: drawn from a generator
    (``takes="noise"``) or translated from input images (``takes="image"``). ``labels`` (N,): the class each was
    drawn for (a conditional generator) or its input's class; ``targets``: each one's own target (paired
    translation). ``reference``: the real data they imitate, ``space`` its feature space. ``num_compared``: how
    many samples set statistics compare with as many real images. ``round_trip``: for a translator with a
    reverse generator, what makes the samples translated back (called at most once). ``seed`` seeds every draw.
    """

    samples: Tensor
    takes: str = "noise"
    labels: Tensor | None = None
    targets: Tensor | None = None
    reference: Reference | None = None
    space: FeatureSpace | None = None
    num_compared: int = 0
    seed: int = 0
    device: torch.device | str = "cpu"
    log: Log | None = None
    round_trip: Callable[[], RoundTrip | None] | None = None
    notes: list[str] = field(default_factory=list)
    #: the needs of the metric being called (set by `score`): reading an input it did not declare is its bug, said
    #: in one line, not an evaluation that happens to work until the input is missing; None: not checked
    declared: frozenset[str] | None = field(default=None, repr=False, init=False)
    who: str = field(default="a metric", repr=False, init=False)
    _cache: dict[str, object] = field(default_factory=dict, repr=False, init=False)

    def _needs(self, what: str, *needs: str) -> None:
        if self.declared is not None and not self.declared & set(needs):
            raise ComponentError(f"{self.who} reads {what} without declaring it needs {' or '.join(needs)}",
                                 "add it to register.metric(..., needs=...)")

    def note(self, line: str) -> None:
        """Add a line to the result's notes (why a number is missing, what it was measured with)."""
        self.notes.append(line)

    @property
    def info(self) -> DataInfo:
        """The real data's description (shape, classes, modality)."""
        if self.reference is None:
            raise ValueError("this evaluation has no reference data")
        return self.reference.info

    def _once(self, key: str, compute: Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]  # type: ignore[return-value]

    def _space(self) -> FeatureSpace:
        if self.space is None:
            raise ValueError("this evaluation has no feature space")
        return self.space

    def _embedded(self) -> tuple[Tensor, Tensor | None]:
        return self._once("embedded", lambda: self._space().embed(self.samples))

    def features(self) -> Tensor:
        """Features (N, D) of every sample, in the data's feature space (need "features")."""
        self._needs("the samples' features", "features")
        return self._embedded()[0]

    def probs(self) -> Tensor | None:
        """Class probabilities (N, K) of every sample (need "classes"; None outside a classifier's space)."""
        self._needs("the samples' class probabilities", "classes")
        return self._embedded()[1]

    def _pick(self) -> Tensor:
        return self._once("pick", lambda: torch.randperm(
            len(self.samples), generator=torch.Generator().manual_seed(self.seed + 1))[:self.num_compared])

    def compared(self) -> Tensor:
        """Features of the ``num_compared`` samples drawn (with ``seed + 1``) for comparison with real ones."""
        return self.features()[self._pick()]

    def compared_samples(self) -> Tensor:
        """Those samples themselves (need "features")."""
        self._needs("the samples drawn for comparison", "features")
        return self.samples[self._pick()]

    def real(self) -> RealSide:
        """The ``num_compared`` real images the samples are compared with, and the floor's stand-ins (need
        "reference", or one it implies: "features", "classes", "heldout", "modes")."""
        self._needs("the real images", *_REAL)
        if self.reference is None:
            raise ValueError("this evaluation has no reference data")
        return real_side(self.reference, self._space(), self.num_compared, self.seed)

    def real_data(self) -> RealData:
        """Every real image's features (`RealData`; need as for `real`)."""
        self._needs("the real images", *_REAL)
        if self.reference is None:
            raise ValueError("this evaluation has no reference data")
        return real_data(self.reference, self._space())

    def translated_back(self) -> RoundTrip | None:
        """The samples translated back (`RoundTrip`, need "round-trip"), made on first use; None when the
        evaluation cannot."""
        self._needs("the samples translated back", "round-trip")
        make = self.round_trip
        return self._once("round_trip", lambda: make() if make is not None else None)


def build_metric(spec: ComponentSpec) -> Metric:
    """The metric ``spec`` registers, built for one evaluation (a failure is one line naming its plugin)."""
    with plugin_code(spec.who, "while importing"):
        factory = spec.load_factory()
    with plugin_code(spec.who, "while building"):
        metric = factory()
    if not callable(metric):
        raise ComponentError(f"{spec.who}: its factory returned {type(metric).__name__}, not a metric",
                             "the factory returns a ganzoo.evaluation.metric.Metric")
    return metric


def floor_key(spec: ComponentSpec, key: str) -> bool:
    """Whether ``key`` is the floor of a number ``spec`` declares with one."""
    info = spec.metric
    base = key[:-len("_floor")] if key.endswith("_floor") else None
    return info is not None and base is not None and (k := info.key(base)) is not None and k.floor


def check_numbers(spec: ComponentSpec, numbers: Mapping[str, object]) -> None:
    """A metric's result holds only what it declared: its keys, their floors and its extras."""
    info = spec.metric
    assert info is not None
    for key, value in numbers.items():
        if info.key(key) is None and not floor_key(spec, key) and key not in info.extras:
            raise ComponentError(f"{spec.who} returned {key!r}, which it does not declare",
                                 "declare it in register.metric(..., keys=...) or extras=")
        if (info.key(key) is not None or floor_key(spec, key)) and not _number(value):
            raise ComponentError(f"{spec.who} returned {key!r} = {value!r}, not a number (or a list of counts)")


def _number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)) or value is None:
        return True
    return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def score(ev: Evaluation, metrics: Sequence[ComponentSpec]) -> dict[str, object]:
    """Run ``metrics`` on ``ev``, in order: their numbers, then the floors, then their extras."""
    values: dict[str, object] = {}
    floors: dict[str, object] = {}
    extras: dict[str, object] = {}
    for spec in metrics:
        metric = build_metric(spec)
        assert spec.metric is not None
        ev.declared, ev.who = frozenset(spec.metric.needs), spec.who
        try:
            with plugin_code(spec.who, "while scoring"):
                numbers = dict(metric(ev))
        finally:
            ev.declared, ev.who = None, "a metric"
        check_numbers(spec, numbers)
        for key, value in numbers.items():
            info = spec.metric
            assert info is not None
            target = floors if floor_key(spec, key) else extras if key in info.extras else values
            target[key] = value
    return {**values, **floors, **extras}
