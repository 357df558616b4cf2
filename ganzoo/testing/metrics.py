"""Conformance checks for metrics: a registered metric against its own declaration, on a tiny evaluation.

The evaluation is made here, in memory (no dataset is read, no classifier trained): 48 random 8x8 grey images
with labels and targets, 48 held-out and 64 train-split real ones with labels, a fixed feature space that
acts as a classifier (a seeded random projection, and a softmax over 4 classes), a mode metric, and a round
trip. It gives every need (`ganzoo.specs.NEEDS`), so what a metric returns here is what it returns when an
evaluation meets its needs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ..base.errors import PLUGIN_FAULTS, GanzooError
from ..base.specs import NEEDS, TAKES, DataInfo, DatasetEvaluation
from ..components.interfaces import Dataset
from ._common import Report, error_text, fail, lookup, new_report

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.metric import Evaluation
    from ..plugin.registry import Registry

SHAPE, CLASSES, NUM, HELD, TRAIN = (1, 8, 8), 4, 48, 48, 64


class _ToyData(Dataset):
    """The train split of the tiny evaluation's real data."""

    def __init__(self, x: Tensor, y: Tensor):
        self.x, self.y = x, y
        self.info = DataInfo(SHAPE, CLASSES, len(x), "image", None, "train")

    def tensors(self) -> tuple[Tensor, Tensor | None]:
        return self.x, self.y


def toy_modes(samples: Tensor, dataset: object) -> dict[str, float]:
    """A mode metric for the tiny evaluation: four brightness bands are its modes."""
    band = (samples.float().mean(dim=(1, 2, 3)) / 64).long().clamp(0, 3)
    counts = torch.bincount(band, minlength=4)
    return {"modes_covered": int((counts > 0).sum()), "num_modes": 4,
            "high_quality_share": float((band == band.mode().values).float().mean())}


def _images(n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    y = torch.randint(0, CLASSES, (n,), generator=gen)
    x = (torch.rand(n, *SHAPE, generator=gen) * 128 + y.view(-1, 1, 1, 1) * 32).to(torch.uint8)
    return x, y


def toy_evaluation(takes: str, seed: int = 0) -> Evaluation:
    """A tiny `ganzoo.evaluation.metric.Evaluation` of generators that take ``takes``, meeting every need."""
    from ..evaluation.features import FeatureSpace
    from ..evaluation.metric import Evaluation, RoundTrip
    from ..evaluation.reference import Reference

    gen = torch.Generator().manual_seed(1234)
    train_x, train_y = _images(TRAIN, gen)
    held_x, held_y = _images(HELD, gen)
    samples, labels = _images(NUM, gen)
    targets, _ = _images(NUM, gen)
    project = torch.randn(math.prod(SHAPE), 8, generator=gen)
    head = torch.randn(8, CLASSES, generator=gen)

    def embed(x: Tensor) -> tuple[Tensor, Tensor]:
        f = (x.float().flatten(1) / 255) @ project
        return f, torch.softmax(f @ head, dim=1)

    ref = Reference("toy", {}, _ToyData(train_x, train_y), train_x, train_y, held_x, held_y,
                    DatasetEvaluation(modes=f"{__name__}:toy_modes"), "train")
    space = FeatureSpace("classifier", embed, {"source": "toy", "digest": f"toy{seed}"})
    image = takes == "image"
    ev = Evaluation(samples, takes, labels, targets if image else None, ref, space, min(NUM, HELD, TRAIN), seed)
    if image:
        ev.round_trip = lambda: RoundTrip(samples.flip(-1), ref, space)
    return ev


def check_metric(name: str, *, registry: Registry | None = None, seed: int = 0) -> Report:
    """Check a registered metric against its declaration (`register.metric`), on a tiny evaluation made for it.

    It declares what it needs (names of `ganzoo.specs.NEEDS`), what it measures (``takes``) and at least one
    number; its factory builds without arguments; called on an evaluation of each kind it measures, it reads only
    the inputs it declares, returns
    only the keys it declares (each declared floor beside its number, its extras), at least one of them, finite
    numbers; twice on the same inputs, the same numbers; and `describe` gives lines of text. A metric that
    returns nothing and says why in a note (standard FID without Inception weights on disk) marks the report
    skipped. Raises ``ConformanceError``.
    """
    from ..evaluation.metric import build_metric, check_numbers

    spec = lookup("metric", name, registry)
    report = new_report(spec)
    info = spec.metric
    if info is None or not info.keys:
        raise fail(spec, "declares no numbers (register.metric(..., keys=...))")
    unknown = [n for n in info.needs if n not in NEEDS] + [t for t in info.takes if t not in TAKES]
    if unknown:
        raise fail(spec, f"declares needs or takes no evaluation gives: {', '.join(unknown)}")
    report.passed("declaration")
    try:
        metric = build_metric(spec)
    except PLUGIN_FAULTS as exc:  # a ganzoo error too: the factory takes no arguments
        raise fail(spec, f"its factory does not build without arguments: {error_text(exc)}") from exc
    report.passed("builds")
    for takes in info.takes:
        results = []
        for _ in range(2):
            ev = toy_evaluation(takes, seed)
            ev.declared, ev.who = frozenset(info.needs), spec.who  # what an evaluation holds it to (score)
            try:
                numbers = dict(metric(ev))
            except GanzooError as exc:  # it read an input it did not declare
                raise fail(spec, str(exc)) from None
            except PLUGIN_FAULTS as exc:
                raise fail(spec, f"raised on a tiny evaluation of {takes} generators: {error_text(exc)}") from exc
            results.append(numbers)
        numbers = results[0]
        if not numbers:
            report.skipped = f"it computed nothing here: {'; '.join(ev.notes) or 'and said nothing why'}"
            if not ev.notes:
                raise fail(spec, f"returned nothing on a tiny evaluation of {takes} generators, and noted no "
                                 f"reason (ev.note(...) says why)")
            return report
        try:
            check_numbers(spec, numbers)
        except GanzooError as exc:
            raise fail(spec, str(exc)) from None
        for key, value in numbers.items():
            declared = info.key(key)
            if declared is not None and declared.floor and f"{key}_floor" not in numbers:
                raise fail(spec, f"returned {key!r} without {key}_floor, which it declares")
            values = value if isinstance(value, list) else [value]
            if key not in info.extras and not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
                raise fail(spec, f"returned {key!r} = {value!r} on a tiny evaluation: not a finite number")
        if results[1] != numbers:
            raise fail(spec, f"returned other numbers for the same inputs: {numbers} then {results[1]}")
        describe = getattr(metric, "describe", None)
        if callable(describe):
            lines = describe({**numbers, "num_compared": ev.num_compared})
            if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
                raise fail(spec, f"describe returned {lines!r}, not a list of lines")
        report.passed(f"numbers of {takes} generators")
    return report
