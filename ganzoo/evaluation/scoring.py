"""evaluate_samples / evaluate_generator: every metric at once, each beside its real-data reference.

Samples are measured against the dataset's held-out part, which the GAN never
trained on (see reference.py). ``m`` = min(samples, held-out images, train
images) of each are compared. The reference ("floor") of a distance is the
same distance between ``m`` train images and the same ``m`` held-out images:
what a generator that draws fresh images from the data's own distribution
scores, at this sample size. A generator that copies its training images now
scores about the floor, not below it; the memorization check catches it:

``memorized``: the share of samples whose nearest training image (in the
feature space) is closer than the held-out images' 5th percentile of the same
distance. Its floor is what the other half of the held-out images score
(about 0.05); copies of training images score near 1. ``memorized_pixels``:
the same in pixel space (16x16 pooled), for images.

For one-set metrics (coverage, confidence, modes) the reference is the value
the held-out images score. Keys: ``<metric>`` and ``<metric>_floor``. A
dataset that declares no split falls back to two disjoint halves of its
training images, with a note, and no memorization check.
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import UsageError
from . import metrics as M
from .features import FeatureSpace, feature_space, pixels
from .reference import Reference, mode_metric, reference

DEFAULT_NUM = 5000
# At most this many samples are scored: 50,000 is what papers quote FID at, and the samples alone take
# N * C * H * W bytes (a 64x64 RGB set of 100,000 is 1.2 GB before any feature is computed).
MAX_NUM = 100_000
MEMORIZATION_QUANTILE = 0.05
_MAX_CALIBRATION = 4000  # held-out images that set the memorization threshold (two halves of this many)
_REAL_CACHE: dict[tuple[Any, ...], dict[str, Any]] = {}  # real-side features and floors, reused by --eval-every


def check_num(num: int, sample_bytes: int | None = None) -> int:
    """``num`` if eval can score that many samples, else a one-line UsageError (before anything is drawn)."""
    if num > MAX_NUM:
        size = f" (the samples alone would take {num * sample_bytes / 2**30:,.1f} GiB)" if sample_bytes else ""
        raise UsageError(f"{num:,} samples are more than eval scores: at most {MAX_NUM:,}{size}",
                         "papers quote FID at 50,000 samples; pass --num 50000 or fewer")
    return num


def _distances(real: Tensor, fake: Tensor, seed: int) -> dict[str, float]:
    kid, _ = M.kernel_inception_distance(real, fake, seed=seed)
    precision, recall = M.precision_recall(real, fake)
    return {"fd": M.frechet_distance(real, fake), "kid": kid, "precision": precision, "recall": recall}


def _one_set(ref: Reference, x: Tensor, probs: Tensor | None, labels: Tensor | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if probs is not None:
        out.update(M.class_metrics(probs, labels))
    modes = mode_metric(ref)
    if modes is not None:
        out.update(modes(x))
    return out


def _memorization_side(ref: Reference, space: FeatureSpace, features_train: Tensor, features_held: Tensor,
                       seed: int) -> dict[str, Any]:
    """Held-out distances to the train part, split into a calibration half and a check half (the floor)."""
    perm = torch.randperm(len(features_held), generator=torch.Generator().manual_seed(seed + 2))[:_MAX_CALIBRATION]
    half = len(perm) // 2  # the first half sets the threshold, the second is scored against it (the floor)
    spaces = {"memorized": (features_train, features_held)}
    if ref.info.is_image and space.name != "pixels":
        assert ref.heldout_x is not None
        spaces["memorized_pixels"] = (pixels(ref.train_x), pixels(ref.heldout_x))
    out: dict[str, Any] = {"spaces": {}, "floor": {}}
    for key, (train, held) in spaces.items():
        nearest = M.nearest_sqdist(held[perm], train)
        calibration, checked = nearest[:half], nearest[half:]
        out["spaces"][key] = (train, calibration)
        out["floor"][key] = M.memorized_share(checked, calibration, MEMORIZATION_QUANTILE)
    return out


def _real_side(ref: Reference, space: FeatureSpace, m: int, seed: int) -> dict[str, Any]:
    key = (id(ref), m, seed, space.key)
    if key in _REAL_CACHE and _REAL_CACHE[key]["ref"] is ref:  # the entry holds ref, so its id cannot be reused
        return _REAL_CACHE[key]
    gen = torch.Generator().manual_seed(seed)
    if ref.heldout_x is not None:
        held, train = ref.heldout_x, ref.train_x
        a = torch.randperm(len(held), generator=gen)[:m]
        b = torch.randperm(len(train), generator=gen)[:m]
        x_a, y_a, x_b = held[a], ref.heldout_y[a] if ref.heldout_y is not None else None, train[b]
        f_held, p_held = space.embed(held)
        fa, pa = f_held[a], (p_held[a] if p_held is not None else None)
        f_train, _ = space.embed(train)
        fb = f_train[b]
    else:  # no split: two disjoint halves of the training images
        x = ref.train_x
        perm = torch.randperm(len(x), generator=gen)
        a, b = perm[:m], perm[m:2 * m]
        x_a, y_a, x_b = x[a], ref.train_y[a] if ref.train_y is not None else None, x[b]
        fa, pa = space.embed(x_a)
        fb, _ = space.embed(x_b)
    floor = _distances(fa, fb, seed)
    floor.update(_one_set(ref, x_a, pa, y_a))
    side: dict[str, Any] = {"ref": ref, "x_a": x_a, "x_b": x_b, "features_a": fa, "floor": floor}
    if ref.heldout_x is not None:
        mem = _memorization_side(ref, space, f_train, f_held, seed)
        side["memorization"] = mem["spaces"]
        floor.update(mem["floor"])
    if len(_REAL_CACHE) >= 2:
        _REAL_CACHE.pop(next(iter(_REAL_CACHE)))
    _REAL_CACHE[key] = side
    return side


def _memorized(side: dict[str, Any], space: FeatureSpace, fake_f: Tensor, fake_x: Tensor) -> dict[str, float]:
    out = {}
    for key, (train, calibration) in side.get("memorization", {}).items():
        query = fake_f if key == "memorized" else pixels(fake_x)
        out[key] = M.memorized_share(M.nearest_sqdist(query, train), calibration, MEMORIZATION_QUANTILE)
    return out


def _inception(fake: Tensor, side: dict[str, Any], device: Any, out: dict[str, Any]) -> None:
    from .inception import InceptionFeatures, find_weights

    path, note = find_weights()
    if path is None:
        out["notes"].append(note)
        return
    net = InceptionFeatures(path, device)
    key = f"inception:{path}"
    if key not in side:  # cached with the real side: Inception on a CPU is the slow part
        fa = net(side["x_a"])
        side[key] = (fa, M.frechet_distance(fa, net(side["x_b"])))
    fa, floor = side[key]
    out["fid"], out["fid_floor"] = M.frechet_distance(fa, net(fake)), floor
    out["inception_weights"] = path.name


def finite(result: dict[str, Any]) -> dict[str, Any]:
    """Floats rounded to six significant digits; NaN and inf become None (JSON has no NaN), with a note."""
    out: dict[str, Any] = {}
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
        out["notes"] = [*out.get("notes", []),
                        f"{', '.join(bad)}: not a finite number (the samples or their features hold NaN or inf), "
                        f"shown as null"]
    return out


def evaluate_samples(samples: Tensor, labels: Tensor | None, dataset_name: str, *, dataset: Any = None,
                     dataset_params: dict[str, Any] | None = None, seed: int = 0, device: Any = "cpu",
                     inception: bool = True, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score generated ``samples`` against ``dataset_name``'s held-out real data.

    ``samples``: uint8 images (N, C, H, W) or float points (N, D), the dataset's
    sample shape. ``labels`` (N,): the classes the samples were drawn for (a
    conditional generator), or None. ``dataset_params``: the run's [dataset]
    table without its name (its ``split`` says what the run trained on).
    ``dataset``: the already built train part (the trainer's), reused.
    ``inception``: compute standard FID when Inception weights are on disk.
    Returns a flat dict (numbers, plus ``notes``, ``feature_space``,
    ``reference`` and ``classifier`` details); no NaN (see ``finite``).
    """
    ref = reference(dataset_name, dataset_params, dataset)
    info = ref.info
    samples = samples.cpu()
    check_num(len(samples), samples[0].numel() * samples.element_size() if len(samples) else None)
    if tuple(samples.shape[1:]) != tuple(info.shape):
        raise UsageError(f"samples of shape {tuple(samples.shape[1:])} do not match dataset {dataset_name!r}, "
                         f"whose samples are {tuple(info.shape)}", "pass the dataset the samples came from")
    if info.is_image and samples.dtype != torch.uint8:
        raise UsageError("image samples must be uint8 pixels (0-255)", "convert with ganzoo.interfaces.to_uint8")
    if ref.heldout_x is not None:
        m = min(len(samples), len(ref.heldout_x), len(ref.train_x))
    else:
        m = min(len(samples), len(ref.train_x) // 2)
    if m < 10:
        raise UsageError(f"too few samples to evaluate: {len(samples)} generated, {len(ref.real_x)} real "
                         f"(need 10 of each)")
    space = feature_space(ref, device, log)
    side = _real_side(ref, space, m, seed)
    fake_f, fake_p = space.embed(samples)
    pick = torch.randperm(len(samples), generator=torch.Generator().manual_seed(seed + 1))[:m]
    out: dict[str, Any] = {"dataset": dataset_name, "num": len(samples), "num_compared": m, "seed": seed,
                           "feature_space": space.name, "reference": ref.record(), "notes": list(ref.notes)}
    if space.info:
        out["classifier" if space.name == "classifier" else "feature_info"] = space.info
    out.update(_distances(side["features_a"], fake_f[pick], seed))
    out.update(_memorized(side, space, fake_f[pick], samples[pick]))
    out.update(_one_set(ref, samples, fake_p, labels))
    for key, value in side["floor"].items():
        if key in out and isinstance(value, (int, float)) and key not in ("num_classes", "num_modes"):
            out[f"{key}_floor"] = value
    if info.is_image and inception and info.channels in (1, 3):
        _inception(samples[pick], side, device, out)
    return finite(out)


def evaluate_generator(generator: torch.nn.Module, dataset: Any, data_info: Any = None, *, num: int = DEFAULT_NUM,
                       device: Any = None, conditional: bool = False, seed: int = 0,
                       dataset_name: str | None = None, dataset_params: dict[str, Any] | None = None,
                       latent_dim: int | None = None, inception: bool = False,
                       log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Sample ``num`` from an in-memory ``generator`` and score them (see evaluate_samples).

    Meant for the trainer's periodic evaluation: the generator is put in eval
    mode and restored, sampling uses its own seeded RNG (the training RNG is
    untouched), and real-data features are cached between calls. DDP and
    torch.compile wrappers are looked through. A conditional generator is asked
    for classes in the data's own proportions (``conditional``: as its
    registration declares it; the caller knows the spec). Standard FID is off by default
    here (``inception=True`` turns it on): on a CPU it would dwarf training.
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
                           device=device, inception=inception, log=log)
    if prior is not None:
        out["notes"].append(PRIOR_NOTE)
    return out
