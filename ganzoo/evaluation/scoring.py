"""evaluate_samples / evaluate_generator: every metric at once, each beside its real-data reference.

The reference ("floor") of a distance is the same distance between two
disjoint halves of the real data, each as large as the generated set that is
compared (capped at half the data): a sample-based FD is never 0 even for
perfect samples, and the floor says how close to 0 this sample size can get.
For one-set metrics (coverage, confidence, modes) the reference is the value
the real data itself scores. Keys: ``<metric>`` and ``<metric>_floor``.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import DataError, UsageError
from . import metrics as M
from .features import FeatureSpace, feature_space

DEFAULT_NUM = 5000
_REAL_CACHE: dict[tuple, dict[str, Any]] = {}  # real-side features and floors, reused by --eval-every


def _real_images(dataset: Any) -> tuple[Tensor, Tensor | None]:
    if not getattr(dataset, "streaming", False):
        return dataset.tensors()
    raise DataError(f"evaluation needs an in-memory dataset; {type(dataset).__name__} streams its data")


def _distances(real: Tensor, fake: Tensor, seed: int) -> dict[str, float]:
    kid, _ = M.kernel_inception_distance(real, fake, seed=seed)
    precision, recall = M.precision_recall(real, fake)
    return {"fd": M.frechet_distance(real, fake), "kid": kid, "precision": precision, "recall": recall}


def _one_set(dataset: Any, x: Tensor, probs: Tensor | None, labels: Tensor | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if probs is not None:
        out.update(M.class_metrics(probs, labels))
    if not dataset.info.is_image:
        out.update(M.mode_metrics(x, dataset) or {})
    return out


def _real_side(dataset: Any, space: FeatureSpace, m: int, seed: int) -> dict[str, Any]:
    x, y = _real_images(dataset)
    key = (id(x), m, seed, space.key)
    if key in _REAL_CACHE and _REAL_CACHE[key]["data"] is x:  # the entry holds x, so its id cannot be reused
        return _REAL_CACHE[key]
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    a, b = perm[:m], perm[m:2 * m]
    fa, pa = space.embed(x[a])
    fb, _ = space.embed(x[b])
    floor = _distances(fa, fb, seed)
    floor.update(_one_set(dataset, x[a], pa, y[a] if y is not None else None))
    side = {"data": x, "x_a": x[a], "x_b": x[b], "features_a": fa, "floor": floor}
    if len(_REAL_CACHE) >= 2:
        _REAL_CACHE.pop(next(iter(_REAL_CACHE)))
    _REAL_CACHE[key] = side
    return side


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


def evaluate_samples(samples: Tensor, labels: Tensor | None, dataset_name: str, *, dataset: Any = None,
                     dataset_params: dict[str, Any] | None = None, seed: int = 0, device: Any = "cpu",
                     inception: bool = True, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score generated ``samples`` against ``dataset_name``'s real data.

    ``samples``: uint8 images (N, C, H, W) or float points (N, D), the dataset's
    sample shape. ``labels`` (N,): the classes the samples were drawn for (a
    conditional generator), or None. ``dataset``: an already built dataset
    (else built from name and ``dataset_params``). ``inception``: compute
    standard FID when Inception weights are on disk. Returns a flat dict
    (numbers, plus ``notes``, ``feature_space`` and ``classifier`` details).
    """
    if dataset is None:
        from ..build import build_dataset

        dataset = build_dataset(dataset_name, dataset_params)
    info = dataset.info
    samples = samples.cpu()
    if tuple(samples.shape[1:]) != tuple(info.shape):
        raise UsageError(f"samples of shape {tuple(samples.shape[1:])} do not match dataset {dataset_name!r}, "
                         f"whose samples are {tuple(info.shape)}", "pass the dataset the samples came from")
    if info.is_image and samples.dtype != torch.uint8:
        raise UsageError("image samples must be uint8 pixels (0-255)", "convert with ganzoo.interfaces.to_uint8")
    real, _ = _real_images(dataset)
    m = min(len(samples), len(real) // 2)
    if m < 10:
        raise UsageError(f"too few samples to evaluate: {len(samples)} generated, {len(real)} real (need 10 and 20)")
    space = feature_space(dataset, dataset_name, dataset_params, device, log)
    side = _real_side(dataset, space, m, seed)
    fake_f, fake_p = space.embed(samples)
    pick = torch.randperm(len(samples), generator=torch.Generator().manual_seed(seed + 1))[:m]
    out: dict[str, Any] = {"dataset": dataset_name, "num": len(samples), "num_compared": m, "seed": seed,
                           "feature_space": space.name, "notes": []}
    if space.info:
        out["classifier" if space.name == "classifier" else "feature_info"] = space.info
    out.update(_distances(side["features_a"], fake_f[pick], seed))
    out.update(_one_set(dataset, samples, fake_p, labels))
    for key, value in side["floor"].items():
        if key in out and isinstance(value, (int, float)) and key not in ("num_classes", "num_modes"):
            out[f"{key}_floor"] = value
    if info.is_image and inception and info.channels in (1, 3):
        _inception(samples[pick], side, device, out)
    # float32 sums print as 0.1264999955892563; six significant digits is all they hold
    return {k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in out.items()}


def evaluate_generator(generator: torch.nn.Module, dataset: Any, data_info: Any = None, *, num: int = DEFAULT_NUM,
                       device: Any = None, conditional: bool | None = None, seed: int = 0,
                       dataset_name: str | None = None, dataset_params: dict[str, Any] | None = None,
                       latent_dim: int | None = None, inception: bool = False,
                       log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Sample ``num`` from an in-memory ``generator`` and score them (see evaluate_samples).

    Meant for the trainer's periodic evaluation: the generator is put in eval
    mode and restored, sampling uses its own seeded RNG (the training RNG is
    untouched), and real-data features are cached between calls. DDP and
    torch.compile wrappers are looked through. Standard FID is off by default
    here (``inception=True`` turns it on): on a CPU it would dwarf training.
    """
    from .runs import dataset_name_of, sample_generator

    from torch.nn.parallel import DistributedDataParallel

    if isinstance(generator, DistributedDataParallel):
        generator = generator.module
    generator = getattr(generator, "_orig_mod", generator)  # torch.compile's OptimizedModule
    info = data_info or dataset.info
    if device is None:
        device = next(generator.parameters()).device
    if conditional is None:
        conditional = bool(getattr(generator, "conditional", False))
    x, labels = sample_generator(generator, num, info.num_classes, conditional, seed, latent_dim)
    return evaluate_samples(x, labels, dataset_name or dataset_name_of(dataset), dataset=dataset,
                            dataset_params=dataset_params, seed=seed, device=device, inception=inception, log=log)
