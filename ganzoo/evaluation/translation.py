"""Scoring image-to-image translation (pix2pix, CycleGAN) on a dataset's held-out split.

Inputs are translated by the generator and the outputs are measured:

- paired data (each input has its target): ``l1``, the mean absolute error
  in model units (pixels in [-1, 1]); ``psnr`` in dB and ``ssim``, per image
  on [0, 1] pixels (data_range 1, torchmetrics; SSIM's 11x11 Gaussian
  window, sigma 1.5) and averaged over images. A perfect copy scores L1 0,
  SSIM 1 and PSNR inf (reported as null in JSON, with a note).
- every dataset: ``fd`` (with ``kid``, ``precision``, ``recall``) of the
  outputs against real target-domain images of the held-out split, in the
  feature space `ganzoo eval` uses for that data (the target domain's
  classifier, or pixels without labels); the floor is the same distance
  between the train split's and the held-out split's target images, at the
  same count (see scoring.py).
- labelled data (the MNIST-derived sets): ``digit_kept``, the share of
  outputs the target domain's classifier assigns the input's own label; its
  reference is the classifier's accuracy on real held-out target images,
  what a perfect translator scores. With a reverse generator (CycleGAN),
  ``cycle_digit_kept``: the same after A -> B -> A, judged by domain A's
  classifier.

``evaluate_translation`` is what an algorithm calls during training (numbers
only); ``evaluate_translation_run`` is `ganzoo eval RUN` for a run whose
generator takes images.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import UsageError, plugin_code
from .features import FeatureSpace, feature_space
from .reference import SPLIT_PARAM, Reference, declared_split, reference

DEFAULT_NUM = 5000
_CHUNK = 64  # images translated, and compared, at a time
DIRECTION_PARAM = "direction"  # the translation datasets' own switch of which domain is the target
Log = Callable[[str], None]


# -- the metrics ------------------------------------------------------------------------------------

def _unit(x: Tensor) -> Tensor:
    """uint8 images -> float in [0, 1], what PSNR and SSIM are computed on (data_range 1)."""
    return x.float().div(255.0)


def pixel_metrics(outputs: Tensor, targets: Tensor) -> dict[str, float]:
    """L1 (model units, [-1, 1] pixels), PSNR (dB) and SSIM of uint8 ``outputs`` against their ``targets``.

    PSNR and SSIM are computed per image on [0, 1] pixels with data_range 1
    and averaged over images; an image identical to its target has PSNR inf.
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    if outputs.shape != targets.shape:
        raise UsageError(f"outputs of shape {tuple(outputs.shape)} cannot be compared with targets of shape "
                         f"{tuple(targets.shape)}")
    abs_sum = 0.0
    psnr: list[Tensor] = []
    ssim: list[Tensor] = []
    for i in range(0, len(outputs), _CHUNK):
        out, tgt = _unit(outputs[i:i + _CHUNK]), _unit(targets[i:i + _CHUNK])
        abs_sum += float((out - tgt).abs().double().sum())
        psnr.append(peak_signal_noise_ratio(out, tgt, data_range=1.0, dim=(1, 2, 3), reduction="none"))
        s = structural_similarity_index_measure(out, tgt, data_range=1.0, reduction="none")
        ssim.append(s[0] if isinstance(s, tuple) else s)  # a tuple only when asked for the full image
    # [0, 1] differences are half of [-1, 1] ones
    return {"l1": 2.0 * abs_sum / max(outputs.numel(), 1), "psnr": float(torch.cat(psnr).double().mean()),
            "ssim": float(torch.cat(ssim).double().mean())}


def label_kept(probs: Tensor, labels: Tensor) -> float:
    """Share of images whose most probable class (``probs`` (N, K)) is their own label."""
    return float((probs.argmax(1) == labels.to(probs.device).long()).double().mean())


@torch.no_grad()
def translate(model: nn.Module, inputs: Tensor, device: torch.device | str = "cpu", seed: int = 0) -> Tensor:
    """uint8 images of the input domain -> uint8 outputs (on the CPU), ``model`` in eval mode meanwhile.

    A model whose eval mode keeps noise (a pix2pix U-Net keeps dropout at test time, as the paper does) draws
    it from torch's RNG seeded with ``seed`` (the caller's RNG left as it was): the same seed, the same outputs.
    """
    from ..interfaces import to_model_range, to_uint8

    where = torch.device(device)
    was = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[where] if where.type == "cuda" else []):
            torch.manual_seed(seed)
            out = [to_uint8(model(to_model_range(inputs[i:i + _CHUNK]).to(where))).cpu()
                   for i in range(0, len(inputs), _CHUNK)]
    finally:
        model.train(was)
    return torch.cat(out) if out else inputs[:0]


def _unwrap(model: nn.Module) -> nn.Module:
    """The module under DDP and torch.compile wrappers."""
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        model = model.module
    inner = getattr(model, "_orig_mod", model)  # torch.compile's OptimizedModule
    return inner if isinstance(inner, nn.Module) else model


# -- the real data each domain is measured against ----------------------------------------------------

def _spec_params(name: str) -> set[str]:
    from ..plugin_manager import get_registry

    registry = get_registry()
    return {p.name for p in registry.get("dataset", name).params} if registry.has("dataset", name) else set()


def domain_params(name: str, params: dict[str, Any], direction: str) -> dict[str, Any] | None:
    """The run's dataset parameters with ``direction``'s target domain as the dataset's target.

    "AtoB": the run's own; "BtoA": its dataset's ``direction`` flipped, so
    that ``tensors()`` gives domain A; None when the dataset has no such switch.
    """
    if direction == "AtoB":
        return dict(params)
    if DIRECTION_PARAM not in _spec_params(name):
        return None
    flipped = "BtoA" if params.get(DIRECTION_PARAM, "AtoB") == "AtoB" else "AtoB"
    return {**params, DIRECTION_PARAM: flipped}


@dataclass
class _Domain:
    """A target domain's real data and its feature space."""

    ref: Reference
    space: FeatureSpace

    @property
    def labelled(self) -> bool:
        return self.space.name == "classifier" and self.ref.real_y is not None

    def real_kept(self) -> float:
        """The classifier's accuracy on the real images outputs are measured against (held-out when there)."""
        assert self.ref.real_y is not None
        _, probs = self.space.embed(self.ref.real_x)
        assert probs is not None
        return label_kept(probs, self.ref.real_y)


def _domain(name: str, params: dict[str, Any], device: Any, log: Log | None) -> _Domain:
    ref = reference(name, params)
    return _Domain(ref, feature_space(ref, device, log))


def _labels_fit(labels: Tensor | None, domain: _Domain) -> bool:
    k = domain.ref.info.num_classes or 0
    return labels is not None and domain.labelled and len(labels) > 0 and 0 <= int(labels.min()) \
        and int(labels.max()) < k


def _distances(domain: _Domain, outputs: Tensor, seed: int, out: dict[str, Any]) -> Tensor | None:
    """FD, KID, precision, recall of ``outputs`` against the domain's real images, with floors; their probs."""
    from .scoring import _distances as distances, _real_side, check_num

    ref = domain.ref
    check_num(len(outputs))
    if tuple(outputs.shape[1:]) != tuple(ref.info.shape):
        raise UsageError(f"outputs of shape {tuple(outputs.shape[1:])} do not match dataset {ref.name!r}, "
                         f"whose images are {tuple(ref.info.shape)}")
    fake_f, fake_p = domain.space.embed(outputs)
    m = (min(len(outputs), len(ref.heldout_x), len(ref.train_x)) if ref.heldout_x is not None
         else min(len(outputs), len(ref.train_x) // 2))
    if m < 10:
        out["notes"].append(f"FD left out: {len(outputs)} outputs and {len(ref.real_x)} real images; it needs "
                            f"10 of each")
        return fake_p
    side = _real_side(ref, domain.space, m, seed)
    pick = torch.randperm(len(outputs), generator=torch.Generator().manual_seed(seed + 1))[:m]
    for key, value in distances(side["features_a"], fake_f[pick], seed).items():
        out[key], out[f"{key}_floor"] = value, side["floor"][key]
    out["num_compared"] = m
    return fake_p


# -- scoring ----------------------------------------------------------------------------------------

def score_translation(model: nn.Module, inputs: Tensor, targets: Tensor | None, labels: Tensor | None, *,
                      dataset_name: str, dataset_params: dict[str, Any] | None, device: torch.device | str = "cpu",
                      back: nn.Module | None = None, direction: str = "AtoB", seed: int = 0,
                      log: Log | None = None) -> dict[str, Any]:
    """Every translation metric (see the module doc), with floors, notes and where each number came from.

    ``inputs``/``targets``: uint8 (N, C, H, W) held-out images of the input
    domain and, for paired data, their targets; ``labels`` (N,): the inputs'
    classes or None. ``dataset_params``: the run's [dataset] table without
    its name. ``direction``: the generator's ("BtoA": CycleGAN's reverse
    one, so the target domain is the dataset's A). ``back``: the reverse
    generator, for ``cycle_digit_kept``.
    """
    from .scoring import finite

    params = {k: v for k, v in (dataset_params or {}).items() if k != SPLIT_PARAM}
    run_split = (dataset_params or {}).get(SPLIT_PARAM)
    model, device = _unwrap(model), torch.device(device)
    if targets is not None and len(targets) != len(inputs):
        raise UsageError(f"{len(inputs)} inputs and {len(targets)} targets: paired data needs one target each")
    if labels is not None and len(labels) != len(inputs):
        raise UsageError(f"{len(inputs)} inputs and {len(labels)} labels: one label each, or none")
    outputs = translate(model, inputs, device, seed)
    out: dict[str, Any] = {"task": "translation", "dataset": dataset_name, "direction": direction,
                           "num": len(inputs), "paired": targets is not None, "seed": seed, "notes": []}
    if targets is not None:
        out.update(pixel_metrics(outputs, targets))
    target_params = domain_params(dataset_name, params, direction)
    if target_params is None:
        out["notes"].append(f"{dataset_name} cannot make domain A its target: FD and digit_kept left out")
        return finite(out)
    if run_split is not None:
        target_params[SPLIT_PARAM] = run_split  # reference() reads the run's split from here, for its notes
    domain = _domain(dataset_name, target_params, device, log)
    out["feature_space"], out["reference"] = domain.space.name, domain.ref.record()
    out["notes"].extend(domain.ref.notes)
    if domain.space.info:
        out["classifier" if domain.space.name == "classifier" else "feature_info"] = domain.space.info
    probs = _distances(domain, outputs, seed, out)
    if probs is not None and labels is not None and _labels_fit(labels, domain):
        out["digit_kept"], out["digit_kept_floor"] = label_kept(probs, labels), domain.real_kept()
    if back is not None:
        _cycle(_unwrap(back), outputs, labels, dataset_name, params, run_split, direction, device, log, out, seed)
    return finite(out)


def _cycle(back: nn.Module, outputs: Tensor, labels: Tensor | None, name: str, params: dict[str, Any],
           run_split: Any, direction: str, device: torch.device, log: Log | None, out: dict[str, Any],
           seed: int = 0) -> None:
    """``cycle_digit_kept``: the outputs translated back, judged by the input domain's classifier."""
    if labels is None:
        return
    reverse = "BtoA" if direction == "AtoB" else "AtoB"
    source_params = domain_params(name, params, reverse)
    if source_params is None:
        out["notes"].append(f"{name} cannot make domain A its target: cycle_digit_kept left out")
        return
    if run_split is not None:
        source_params[SPLIT_PARAM] = run_split
    domain = _domain(name, source_params, device, log)
    if not _labels_fit(labels, domain):
        return
    _, probs = domain.space.embed(translate(back, outputs, device, seed + 1))
    assert probs is not None
    out["cycle_digit_kept"], out["cycle_digit_kept_floor"] = label_kept(probs, labels), domain.real_kept()
    if domain.space.info:
        out["cycle_classifier"] = domain.space.info


def evaluate_translation(model: nn.Module, inputs: Tensor, targets: Tensor | None, labels: Tensor | None, *,
                         dataset_name: str, dataset_params: dict[str, Any], device: torch.device,
                         back: nn.Module | None = None, log: Log | None = None) -> dict[str, float]:
    """Score an image-to-image generator on held-out images, for evaluation during training.

    ``inputs`` (and, for paired data, ``targets``): uint8 (N, C, H, W)
    images of the dataset's held-out split; ``labels`` (N,) their classes or
    None; ``back``: the reverse generator (CycleGAN) for the cycle metric.
    Returns the finite numbers of `score_translation` (``l1``, ``psnr``,
    ``ssim``, ``fd``, ``kid``, ``precision``, ``recall``, ``digit_kept``,
    ``cycle_digit_kept``, each with ``_floor`` where it has one; a PSNR of
    inf, outputs identical to their targets, is left out). The models are
    put in eval mode and restored; the global RNG is untouched.
    """
    result = score_translation(model, inputs, targets, labels, dataset_name=dataset_name,
                               dataset_params=dataset_params, device=device, back=back, log=log)
    return {k: float(v) for k, v in result.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and k not in ("num", "seed", "num_compared")}


# -- `ganzoo eval RUN` --------------------------------------------------------------------------------

@dataclass
class HeldOut:
    """The images a translation run is scored on: inputs, their targets (paired data) and labels."""

    inputs: Tensor
    targets: Tensor | None
    labels: Tensor | None
    split: str  # the split they came from: "heldout", or the run's own when the dataset declares none
    total: int  # how many inputs the split holds
    notes: list[str] = field(default_factory=list)


def heldout_images(name: str, params: dict[str, Any], direction: str = "AtoB", num: int | None = None,
                   seed: int = 0) -> HeldOut:
    """``num`` input images (all, when None) of the held-out split of dataset ``name`` built with ``params``
    (a run's [dataset] table), with their targets when the data is paired; ``direction`` "BtoA" swaps the
    domains. A subset is drawn with ``seed``, in a fixed order."""
    from ..build import build_dataset
    from ..plugin_manager import get_registry

    registry = get_registry()
    spec = registry.get("dataset", name) if registry.has("dataset", name) else None
    notes = []
    if declared_split(spec) is not None:
        split = "heldout"
        dataset = build_dataset(name, {**params, SPLIT_PARAM: split})
    else:
        split = str(params.get(SPLIT_PARAM, "all"))
        dataset = build_dataset(name, params)
        notes.append(f"{name} declares no held-out split: inputs are the run's own training images")
    pairs, domains = getattr(dataset, "pairs", None), getattr(dataset, "domains", None)
    if callable(pairs):
        p = pairs()
        a, b = (p.a, p.b) if direction == "AtoB" else (p.b, p.a)
        inputs, targets, labels = a, b, p.labels
    elif callable(domains):
        d = domains()
        inputs, labels = (d.a, d.labels_a) if direction == "AtoB" else (d.b, d.labels_b)
        targets = None
    else:
        raise UsageError(f"dataset {name!r} has neither pairs() nor domains(): it is not translation data",
                         "score a translation run on the dataset it trained on")
    total = len(inputs)
    if num is not None and num < total:
        idx = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:num].sort().values
        inputs = inputs[idx]
        targets = targets[idx] if targets is not None else None
        labels = labels[idx] if labels is not None else None
    return HeldOut(inputs, targets, labels, split, total, notes)


def evaluate_translation_run(path: str | Path, num: int | None = None, seed: int = 0, device: Any = "cpu",
                             direction: str = "AtoB", log: Log | None = None) -> dict[str, Any]:
    """`ganzoo eval RUN` for a run whose generator takes images: the dict `--json` prints.

    ``num`` held-out inputs (default: all of them, at most 5000) are
    translated by the run's generator (its EMA when it has one) in
    ``direction``; a CycleGAN run's other generator brings them back for
    ``cycle_digit_kept``.
    """
    from ..trained import load_generator
    from .runs import run_dataset

    loaded = load_generator(path, use_ema=True, device=device, direction=direction)
    name, params = run_dataset(loaded.config)
    reverse = "BtoA" if direction == "AtoB" else "AtoB"
    gens = (loaded.meta.get("algorithm") or {}).get("generators") or {}
    back = load_generator(path, use_ema=True, device=device, direction=reverse).model \
        if reverse in gens.values() else None
    held = heldout_images(name, params, direction, num if num is not None else DEFAULT_NUM, seed)
    with plugin_code(loaded.who, "while translating for evaluation"):
        result = score_translation(loaded.model, held.inputs, held.targets, held.labels, dataset_name=name,
                                   dataset_params=params, device=device, back=back, direction=direction, seed=seed,
                                   log=log)
    which = "EMA" if loaded.ema else "raw"
    result.update(source=str(path), algorithm=loaded.config.algo.get("name"), step=loaded.step,
                  input_split=held.split, inputs_available=held.total)
    if params:
        result["dataset_params"] = params
    result["notes"] = [f"step {loaded.step}, {which} generator ({direction}), checkpoint {loaded.checkpoint}",
                       *held.notes, *result["notes"]]
    return result
