"""evaluate_samples / evaluate_generator: the registered metrics of samples, each beside its real-data reference.

Samples are measured against the dataset's held-out part, which the GAN never
trained on (see reference.py). ``m`` = min(samples, held-out images, train
images) of each are compared. The reference ("floor") of a distance is the
same distance between ``m`` train images and the same ``m`` held-out images:
what a generator that draws fresh images from the data's own distribution
scores, at this sample size. A generator that copies its training images now
scores about the floor, not below it; the memorization metric catches it. For
one-set metrics (coverage, confidence, modes) the reference is the value the
held-out images score. Keys: ``<key>`` and ``<key>_floor``. A dataset that
declares no split falls back to two disjoint halves of its training images,
with a note, and no memorization check.

Which metrics run is `ganzoo.evaluation.selection`'s: the default set (what
plain `ganzoo eval` computes), or the names asked for. The metrics themselves
are registered plugins (`ganzoo.evaluation.metric`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import torch
from torch import Tensor

from ..base.errors import UsageError
from ..base.specs import ComponentSpec, DataInfo
from ..components.interfaces import Dataset
from .features import feature_space
from .metric import MIN_COMPARED, Evaluation, score
from .reference import Reference, mode_metric, reference
from .report import notes as notes_of
from .selection import Source, choose, resolve

DEFAULT_NUM = 5000
# At most this many samples are scored: 50,000 is what papers quote FID at, and the samples alone take
# N * C * H * W bytes (a 64x64 RGB set of 100,000 is 1.2 GB before any feature is computed).
MAX_NUM = 100_000
#: needs met by the real data through its feature space: an evaluation builds the space only for metrics that
#: have one of them
SPACE_NEEDS = frozenset({"reference", "features", "classes", "heldout", "modes"})


def check_num(num: int, sample_bytes: int | None = None) -> int:
    """``num`` if eval can score that many samples, else a one-line UsageError (before anything is drawn)."""
    if num > MAX_NUM:
        size = f" (the samples alone would take {num * sample_bytes / 2**30:,.1f} GiB)" if sample_bytes else ""
        raise UsageError(f"{num:,} samples are more than eval scores: at most {MAX_NUM:,}{size}",
                         "papers quote FID at 50,000 samples; pass --num 50000 or fewer")
    return num


def finite(result: Mapping[str, object]) -> dict[str, object]:
    """Floats rounded to six significant digits; NaN and inf become None (JSON has no NaN), with a note."""
    out: dict[str, object] = {}
    bad = []
    for k, v in result.items():
        if isinstance(v, float):
            if math.isfinite(v):
                v = float(f"{v:.6g}")  # float32 sums print as 0.1264999955892563; six digits is all they hold
            else:
                bad.append(k)
                v = None
        out[k] = v
    if bad:
        out["notes"] = [*notes_of(out),
                        f"{', '.join(bad)}: not a finite number (the samples or their features hold NaN or inf), "
                        f"shown as null"]
    return out


def compared(ref: Reference, num: int) -> int:
    """How many of ``num`` samples are compared with as many real images (and the floor's stand-ins)."""
    if ref.heldout_x is not None:
        return min(num, len(ref.heldout_x), len(ref.train_x))
    return min(num, len(ref.train_x) // 2)


def data_source(ref: Reference, takes: str, m: int, *, labels: bool, what: str = "this evaluation",
                why: dict[str, str] | None = None, has: Iterable[str] = ()) -> Source:
    """What an evaluation against ``ref`` can give its metrics, ``m`` samples compared; ``labels``: whether the
    samples come with theirs; ``has``: what else the caller gives (pairs, a round trip); ``why``: its reasons
    for what it does not."""
    info, name = ref.info, ref.name
    given = {"reference", "inception", *has}
    reasons = dict(why or {})
    if labels:
        given.add("labels")
    if m >= MIN_COMPARED:
        given.add("features")
    else:
        reasons.setdefault("features", f"{m} compared; it needs {MIN_COMPARED}")
    if info.is_image:
        given.add("images")
    else:
        reasons["images"] = f"{name} holds points"
    if info.is_image and info.num_classes and ref.train_y is not None:
        given.add("classes")
    else:
        reasons["classes"] = f"{name} has no classifier (its samples are not labelled images)"
    if ref.heldout_x is not None:
        given.add("heldout")
    else:
        reasons["heldout"] = f"{name} has no held-out split here"
    if mode_metric(ref) is not None:
        given.add("modes")
    else:
        reasons["modes"] = f"dataset {name!r} declares no mode metric"
    return Source(takes, what, frozenset(given), reasons)


def needs_space(chosen: Iterable[ComponentSpec]) -> bool:
    """Whether any of ``chosen`` needs the data's feature space (loading or training its classifier)."""
    return any(s.metric is not None and SPACE_NEEDS & set(s.metric.needs) for s in chosen)


def evaluate_samples(samples: Tensor, labels: Tensor | None, dataset_name: str, *, dataset: Dataset | None = None,
                     dataset_params: Mapping[str, object] | None = None, seed: int = 0,
                     device: str | torch.device = "cpu", inception: bool = True,
                     log: Callable[[str], None] | None = None, metrics: Iterable[str] | None = None,
                     strict: bool = True) -> dict[str, object]:
    """Score generated ``samples`` against ``dataset_name``'s held-out real data.

    ``samples``: uint8 images (N, C, H, W) or float points (N, D), the dataset's
    sample shape. ``labels`` (N,): the classes the samples were drawn for (a
    conditional generator), or None. ``dataset_params``: the run's [dataset]
    table without its name (its ``split`` says what the run trained on).
    ``dataset``: the already built train part (the trainer's), reused.
    ``metrics``: registered metric names (None: the default set, see
    `ganzoo.evaluation.selection`); a named one this evaluation cannot serve is
    refused in one line, or with ``strict=False`` left out with a note.
    ``inception``: the default set includes standard FID when Inception weights
    are on disk. Returns a flat dict (numbers, plus ``notes``,
    ``feature_space``, ``reference`` and ``classifier`` details); no NaN (see
    ``finite``).
    """
    from ..plugin.manager import get_registry

    registry = get_registry()
    asked = resolve(metrics, registry)  # an unknown name: one line, before any data is read
    ref = reference(dataset_name, dataset_params, dataset)
    info = ref.info
    samples = samples.cpu()
    check_num(len(samples), samples[0].numel() * samples.element_size() if len(samples) else None)
    if tuple(samples.shape[1:]) != tuple(info.shape):
        raise UsageError(f"samples of shape {tuple(samples.shape[1:])} do not match dataset {dataset_name!r}, "
                         f"whose samples are {tuple(info.shape)}", "pass the dataset the samples came from")
    if info.is_image and samples.dtype != torch.uint8:
        raise UsageError("image samples must be uint8 pixels (0-255)", "convert with ganzoo.interfaces.to_uint8")
    m = compared(ref, len(samples))
    if m < MIN_COMPARED and (asked is None or any(s.metric and "features" in s.metric.needs for s in asked)):
        raise UsageError(f"too few samples to evaluate: {len(samples)} generated, {len(ref.real_x)} real "
                         f"(need {MIN_COMPARED} of each)")
    notes = list(ref.notes)
    why = {"labels": "the samples were drawn for no class (an unconditional generator, or a file without labels)",
           "pairs": "samples drawn from noise have no targets",
           "round-trip": "samples drawn from noise are not translated back"}
    source = data_source(ref, "noise", m, labels=labels is not None, why=why)
    chosen = choose(asked, source, registry, inception=inception, strict=strict, note=notes.append)
    space = feature_space(ref, device, log) if needs_space(chosen) else None
    out: dict[str, object] = {"dataset": dataset_name, "num": len(samples), "num_compared": m, "seed": seed}
    if space is not None:
        out["feature_space"] = space.name
    out.update(reference=ref.record(), notes=notes)
    if space is not None and space.info:
        out["classifier" if space.name == "classifier" else "feature_info"] = space.info
    ev = Evaluation(samples, "noise", labels, None, ref, space, m, seed, device, log)
    out.update(score(ev, chosen))
    out["notes"] = notes + ev.notes
    return finite(out)


def evaluate_generator(generator: torch.nn.Module, dataset: Dataset, data_info: DataInfo | None = None, *,
                       num: int = DEFAULT_NUM, device: str | torch.device | None = None, conditional: bool = False,
                       seed: int = 0, dataset_name: str | None = None,
                       dataset_params: Mapping[str, object] | None = None, latent_dim: int | None = None,
                       inception: bool = False, log: Callable[[str], None] | None = None,
                       metrics: Iterable[str] | None = None) -> dict[str, object]:
    """Sample ``num`` from an in-memory ``generator`` and score them (see evaluate_samples).

    Meant for the trainer's periodic evaluation: the generator is put in eval
    mode and restored, sampling uses its own seeded RNG (the training RNG is
    untouched), and real-data features are cached between calls. DDP and
    torch.compile wrappers are looked through. A conditional generator is asked
    for classes in the data's own proportions (``conditional``: as its
    registration declares it; the caller knows the spec). ``metrics``: the run's
    ``train.metrics`` (None or empty: the default set); one this evaluation cannot
    serve is left out with a note, never ending the run. Standard FID is off by
    default here (``inception=True`` turns it on, as naming ``fid`` does): on a
    CPU it would dwarf training.
    """
    from .runs import PRIOR_NOTE, dataset_name_of, sample_generator

    from torch.nn.parallel import DistributedDataParallel

    if isinstance(generator, DistributedDataParallel):
        generator = generator.module
    generator = getattr(generator, "_orig_mod", generator)  # torch.compile's OptimizedModule
    info = data_info or dataset.info
    if device is None:
        device = next(generator.parameters()).device
    name = dataset_name or dataset_name_of(dataset)
    ref = reference(name, dataset_params, dataset)
    prior = ref.class_prior() if conditional else None
    x, labels = sample_generator(generator, check_num(num, info.numel), info.num_classes, conditional, seed,
                                 latent_dim, prior=prior)
    out = evaluate_samples(x, labels, name, dataset=dataset, dataset_params=dataset_params, seed=seed,
                           device=device, inception=inception, log=log, metrics=list(metrics or ()) or None,
                           strict=False)
    if log is not None:  # a metric of train.metrics this run cannot compute: said, not fatal
        for line in notes_of(out):
            if line.endswith("; left out"):
                log(line)
    if prior is not None:
        out["notes"] = [*notes_of(out), PRIOR_NOTE]
    return out
