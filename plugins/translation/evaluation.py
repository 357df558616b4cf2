"""Scoring image-to-image translation (pix2pix, CycleGAN) on a dataset's held-out split: what this plugin gives
the registered metrics.

Inputs are translated by the generator, and the outputs are measured by the metrics that measure translations
(``takes="image"``; ganzoo's own: ``l1-psnr-ssim`` against each output's own target on paired data, ``fd``,
``kid`` and ``precision-recall`` against real target-domain images of the held-out split, ``digit-kept`` and
``cycle-digit-kept`` on labelled data; see `ganzoo list --kind metric`). What is this plugin's is which
images go in and which real images the outputs are measured against: the held-out split's inputs (with their
targets and labels), the dataset made to give the generator's target domain as its ``tensors()`` (a "BtoA"
generator's target is the dataset's domain A: its ``direction`` flipped), and for a run with a reverse generator
the outputs translated back with domain A's real data (the round trip).

``evaluate_translation`` is what the algorithms call during training (numbers only); ``evaluate_translation_run``
is `ganzoo eval RUN` for their runs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.errors import UsageError, plugin_code
from ganzoo.evaluation.features import feature_space
from ganzoo.evaluation.metric import Evaluation, RoundTrip, score
from ganzoo.evaluation.reference import SPLIT_PARAM, declared_split, reference
from ganzoo.evaluation.scoring import check_num, compared, data_source, finite, needs_space
from ganzoo.evaluation.selection import Source, choose, resolve
from ganzoo.evaluation.translation import translate, unwrap
from ganzoo.registry import Registry

DEFAULT_NUM = 5000
DIRECTION_PARAM = "direction"  # the translation datasets' own switch of which domain is the target
REVERSE = {"AtoB": "BtoA", "BtoA": "AtoB"}
Log = Callable[[str], None]
#: needs the target domain's real data meets
_DATA_NEEDS = frozenset({"reference", "features", "classes", "heldout", "modes"})


# -- the real data each domain is measured against ----------------------------------------------------

def _spec_params(name: str) -> set[str]:
    from ganzoo.plugin.manager import get_registry

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


def _left_out(source: Source, chosen: tuple[Any, ...], registry: Registry, needs: Iterable[str]) -> list[str]:
    """The default metrics ``source`` would have served, given ``needs`` too, that it does not."""
    fuller = dataclasses.replace(source, has=source.has | frozenset(needs))
    return [s.name for s in choose(None, fuller, registry) if s not in chosen]


# -- scoring ----------------------------------------------------------------------------------------

def score_translation(model: nn.Module, inputs: Tensor, targets: Tensor | None, labels: Tensor | None, *,
                      dataset_name: str, dataset_params: dict[str, Any] | None, device: torch.device | str = "cpu",
                      back: nn.Module | None = None, direction: str = "AtoB", seed: int = 0,
                      log: Log | None = None, metrics: Iterable[str] | None = None, strict: bool = True,
                      inception: bool = False) -> dict[str, Any]:
    """Every chosen metric of translations (see the module doc), with floors, notes and where each came from.

    ``inputs``/``targets``: uint8 (N, C, H, W) held-out images of the input
    domain and, for paired data, their targets; ``labels`` (N,): the inputs'
    classes or None. ``dataset_params``: the run's [dataset] table without
    its name. ``direction``: the generator's ("BtoA": CycleGAN's reverse
    one, so the target domain is the dataset's A). ``back``: the reverse
    generator, for the round trip. ``metrics``: registered metric names (None:
    the default set); one the run cannot serve is refused in one line before
    anything is translated, or with ``strict=False`` left out with a note.
    """
    from ganzoo.plugin.manager import get_registry

    registry = get_registry()
    asked = resolve(metrics, registry)
    params = {k: v for k, v in (dataset_params or {}).items() if k != SPLIT_PARAM}
    run_split = (dataset_params or {}).get(SPLIT_PARAM)
    model, device = unwrap(model), torch.device(device)
    if targets is not None and len(targets) != len(inputs):
        raise UsageError(f"{len(inputs)} inputs and {len(targets)} targets: paired data needs one target each")
    if labels is not None and len(labels) != len(inputs):
        raise UsageError(f"{len(inputs)} inputs and {len(labels)} labels: one label each, or none")
    given = {"inception", "images"} | {n for n, there in (("labels", labels is not None),
                                                           ("pairs", targets is not None),
                                                           ("round-trip", back is not None)) if there}
    why = {"labels": f"{dataset_name}'s inputs have no classes", "pairs": f"{dataset_name} is not paired",
           "round-trip": "the run has no generator that translates back"}
    notes: list[str] = []
    if asked is not None:  # before anything is translated
        choose(asked, Source("image", "this run", frozenset(given), why, _DATA_NEEDS), registry, strict=strict,
               note=notes.append)
    outputs = translate(model, inputs, device, seed)
    out: dict[str, Any] = {"task": "translation", "dataset": dataset_name, "direction": direction,
                           "num": len(inputs), "paired": targets is not None, "seed": seed, "notes": notes}
    target_params = domain_params(dataset_name, params, direction)
    ref, m = None, 0
    if target_params is None:
        source = Source("image", "this run", frozenset(given), {
            **why, **{n: f"{dataset_name} cannot make domain A its target" for n in _DATA_NEEDS}})
    else:
        if run_split is not None:
            target_params[SPLIT_PARAM] = run_split  # reference() reads the run's split from here, for its notes
        ref = reference(dataset_name, target_params)
        check_num(len(outputs))
        if tuple(outputs.shape[1:]) != tuple(ref.info.shape):
            raise UsageError(f"outputs of shape {tuple(outputs.shape[1:])} do not match dataset {ref.name!r}, "
                             f"whose images are {tuple(ref.info.shape)}")
        m = compared(ref, len(outputs))
        source = data_source(ref, "image", m, labels=labels is not None, what="this run", why=why,
                             has=given - {"labels"})
    chosen = choose(asked, source, registry, inception=inception, strict=strict, note=notes.append)
    if asked is None and target_params is None and (dropped := _left_out(source, chosen, registry, _DATA_NEEDS)):
        notes.append(f"{dataset_name} cannot make domain A its target: {', '.join(dropped)} left out")
    elif asked is None and ref is not None and (dropped := _left_out(source, chosen, registry, {"features"})):
        notes.append(f"{', '.join(dropped)} left out: {len(outputs)} outputs and {len(ref.real_x)} real images; "
                     f"they need 10 of each")
    space = feature_space(ref, device, log) if ref is not None and needs_space(chosen) else None
    if ref is not None and space is not None:
        out["feature_space"], out["reference"] = space.name, ref.record()
        notes.extend(ref.notes)
        if space.info:
            out["classifier" if space.name == "classifier" else "feature_info"] = space.info
    ev = Evaluation(outputs, "image", labels, targets, ref, space, m, seed, device, log)
    if back is not None:
        ev.round_trip = _round_trip(ev, unwrap(back), dataset_name, params, run_split, direction, device, log)
    out.update(score(ev, chosen))
    if any(s.metric is not None and "features" in s.metric.needs for s in chosen):
        out["num_compared"] = m
    out["notes"] = notes + ev.notes
    return finite(out)


def _round_trip(ev: Evaluation, back: nn.Module, name: str, params: dict[str, Any], run_split: Any,
                direction: str, device: torch.device, log: Log | None) -> Callable[[], RoundTrip | None]:
    """What translates ``ev``'s outputs back, with the input domain's real data and feature space."""

    def make() -> RoundTrip | None:
        source_params = domain_params(name, params, REVERSE.get(direction, "AtoB"))
        if source_params is None:
            ev.note(f"{name} cannot make domain A its target: nothing is measured after a round trip")
            return None
        if run_split is not None:
            source_params[SPLIT_PARAM] = run_split
        ref = reference(name, source_params)
        return RoundTrip(translate(back, ev.samples, device, ev.seed + 1), ref, feature_space(ref, device, log))

    return make


def evaluate_translation(model: nn.Module, inputs: Tensor, targets: Tensor | None, labels: Tensor | None, *,
                         dataset_name: str, dataset_params: dict[str, Any], device: torch.device,
                         back: nn.Module | None = None, log: Log | None = None,
                         metrics: Iterable[str] | None = None) -> dict[str, float]:
    """Score an image-to-image generator on held-out images, for evaluation during training.

    ``inputs`` (and, for paired data, ``targets``): uint8 (N, C, H, W)
    images of the dataset's held-out split; ``labels`` (N,) their classes or
    None; ``back``: the reverse generator (CycleGAN) for the round trip.
    ``metrics``: the run's ``train.metrics`` (None or empty: the default set);
    one it cannot serve is left out with a note. Returns the finite numbers of
    `score_translation` (``l1``, ``psnr``, ``ssim``, ``fd``, ``kid``,
    ``precision``, ``recall``, ``digit_kept``, ``cycle_digit_kept`` for the
    default set, each with ``_floor`` where it has one; a PSNR of inf, outputs
    identical to their targets, is left out). The models are put in eval mode
    and restored; the global RNG is untouched.
    """
    result = score_translation(model, inputs, targets, labels, dataset_name=dataset_name,
                               dataset_params=dataset_params, device=device, back=back, log=log,
                               metrics=list(metrics or ()) or None, strict=False)
    for line in result["notes"]:
        if line.endswith("; left out") and log is not None:
            log(line)
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
    from ganzoo.components.build import build_dataset
    from ganzoo.plugin.manager import get_registry

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
                             direction: str = "AtoB", log: Log | None = None, metrics: Iterable[str] | None = None,
                             inception: bool = False) -> dict[str, Any]:
    """`ganzoo eval RUN` for a run whose generator takes images: the dict `--json` prints.

    ``num`` held-out inputs (default: all of them, at most 5000) are
    translated by the run's generator (its EMA when it has one) in
    ``direction``; a CycleGAN run's other generator brings them back for
    the round trip. ``metrics``: registered metric names (None: the default
    set); one the run cannot serve is refused in one line.
    """
    from ganzoo.evaluation.runs import run_dataset
    from ganzoo.plugin.manager import get_registry
    from ganzoo.trained import load_generator

    resolve(metrics, get_registry())  # an unknown name: one line, before the run is read
    loaded = load_generator(path, use_ema=True, device=device, direction=direction)
    name, params = run_dataset(loaded.config)
    reverse = REVERSE.get(direction, "AtoB")
    gens = (loaded.meta.get("algorithm") or {}).get("generators") or {}
    back = load_generator(path, use_ema=True, device=device, direction=reverse).model \
        if reverse in gens.values() else None
    held = heldout_images(name, params, direction, num if num is not None else DEFAULT_NUM, seed)
    with plugin_code(loaded.who, "while translating for evaluation"):
        result = score_translation(loaded.model, held.inputs, held.targets, held.labels, dataset_name=name,
                                   dataset_params=params, device=device, back=back, direction=direction, seed=seed,
                                   log=log, metrics=metrics, inception=inception)
    which = "EMA" if loaded.ema else "raw"
    result.update(source=str(path), algorithm=loaded.config.algo.get("name"), step=loaded.step,
                  input_split=held.split, inputs_available=held.total)
    if params:
        result["dataset_params"] = params
    result["notes"] = [f"step {loaded.step}, {which} generator ({direction}), checkpoint {loaded.checkpoint}",
                       *held.notes, *result["notes"]]
    return result
