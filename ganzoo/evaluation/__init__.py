"""Offline evaluation of generated samples by registered metrics: FD/KID/precision/recall, class and mode
coverage, memorization, and whatever a plugin registers.

Everything runs without a network. Samples are measured against the dataset's
held-out split, which the GAN never trained on (see ``reference``). Distances
use a small classifier trained by ganzoo on the dataset's train split (weights
for mnist-10k ship with ganzoo); standard Inception FID is added only when its
weights are already on disk (see ``ganzoo.evaluation.inception``). Each number
comes with a real-vs-real floor: the train split against the held-out split.
Entry points (imported lazily: this package root does not import torch):

``evaluate_generator(generator, dataset, data_info=None, *, num=5000, device=None, conditional=False, seed=0,
dataset_name=None, dataset_params=None, latent_dim=None, inception=False, log=None, metrics=None) -> dict``
    sample an in-memory generator and score it (used by the trainer's periodic evaluation).
``evaluate_samples(samples, labels, dataset_name, *, dataset=None, dataset_params=None, seed=0, device="cpu",
inception=True, log=None, metrics=None) -> dict``
    score uint8 images (N, C, H, W) or float points (N, D).
``evaluate(path, num=None, seed=0, dataset=None, ..., metrics=None) -> dict``
    what `ganzoo eval PATH` computes: a run folder, a checkpoint or a samples file.
``Metric``, ``Evaluation``
    the interface of a registered metric (the ``metric`` kind, `ganzoo.evaluation.metric`); which metrics an
    evaluation computes is `ganzoo.evaluation.selection`'s.
``load_samples(path, num=None, seed=0, dataset=None) -> Samples``
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names `__getattr__` imports on first use, typed as they are (F401: they are in __all__)
    import torch

    from .classifier import get_classifier  # noqa: F401
    from .metric import Evaluation, Metric, RealSide, RoundTrip  # noqa: F401
    from .metrics import (class_metrics, frechet_distance, kernel_inception_distance,  # noqa: F401
                          memorized_share, precision_recall)
    from .reference import reference  # noqa: F401
    from .runs import sample_generator  # noqa: F401
    from .samples import Samples  # noqa: F401
    from .scoring import evaluate_generator, evaluate_samples  # noqa: F401
    from .sources import load_samples  # noqa: F401

_LAZY = {
    "Metric": "metric", "Evaluation": "metric", "RealSide": "metric", "RoundTrip": "metric",
    "evaluate_generator": "scoring", "evaluate_samples": "scoring", "sample_generator": "runs",
    "load_samples": "sources", "Samples": "samples",
    "frechet_distance": "metrics", "kernel_inception_distance": "metrics", "precision_recall": "metrics",
    "class_metrics": "metrics", "memorized_share": "metrics", "reference": "reference",
    "get_classifier": "classifier",
}

__all__ = ["evaluate", *_LAZY]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def evaluate(path: str | Path, num: int | None = None, seed: int = 0, dataset: str | None = None,
             device: str | torch.device = "cpu", inception: bool = True, log: Callable[[str], None] | None = None,
             metrics: Iterable[str] | None = None) -> dict[str, object]:
    """Score a run folder, a checkpoint or a .safetensors of samples; the dict `ganzoo eval --json` prints.

    ``metrics``: registered metric names (None: the default set). An unknown one, or one the source cannot
    serve (labels from an unconditional generator), is refused in one line before anything is drawn.
    """
    from ..plugin.manager import get_registry
    from .scoring import check_num, evaluate_samples
    from .report import notes
    from .selection import resolve
    from .sources import load_samples

    if num is not None:
        check_num(num)
    asked = resolve(metrics, get_registry())
    if asked is not None:
        from .runs import check_metrics

        check_metrics(path, dataset, asked)
    s = load_samples(path, num, seed, dataset, device)
    result = evaluate_samples(s.x, s.labels, s.dataset, dataset_params=s.dataset_params, seed=seed, device=device,
                              inception=inception, log=log, metrics=[a.name for a in asked] if asked else None)
    result["source"] = str(path)
    if s.dataset_params:
        result["dataset_params"] = s.dataset_params
    result["notes"] = [*s.notes, *notes(result)]
    return result
