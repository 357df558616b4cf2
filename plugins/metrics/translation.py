"""The metrics of translations (pix2pix, CycleGAN): each output against its own target, and whether it keeps
its input's class, after one translation and after a round trip.

``l1``: the mean absolute error in model units (pixels in [-1, 1]); ``psnr`` in dB and ``ssim``, per image on
[0, 1] pixels (data_range 1, torchmetrics; SSIM's 11x11 Gaussian window, sigma 1.5), averaged over images. A
perfect copy scores L1 0, SSIM 1 and PSNR inf (null in JSON, with a note). ``digit_kept``: the share of outputs
the target domain's classifier assigns their input's label; its floor is the classifier's accuracy on real
target images, what a perfect translator scores. ``cycle_digit_kept``: the same after translating back, by the
input domain's classifier.

The outputs, their targets and labels, and the round trip come from the translation plugin's evaluation (which
knows which generator goes which way); nothing here names a direction.

Every metric class defines ``__init__``, with parameters or without: `ganzoo info` reads it from this
source without importing it (`ganzoo.plugin.introspect`), and a base class in ``ganzoo.evaluation`` is not read
while that package is not loaded.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from ganzoo.errors import UsageError
from ganzoo.evaluation.features import FeatureSpace
from ganzoo.evaluation.metric import Evaluation, Metric, Numbers, real_data
from ganzoo.evaluation.reference import Reference

_CHUNK = 64  # images compared at a time


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


def labels_fit(labels: Tensor | None, reference: Reference, space: FeatureSpace) -> bool:
    """Whether ``labels`` are classes of ``reference``'s classifier (and it has one, and real labels)."""
    k = reference.info.num_classes or 0
    return (labels is not None and space.name == "classifier" and reference.real_y is not None and len(labels) > 0
            and 0 <= int(labels.min()) and int(labels.max()) < k)


def real_kept(reference: Reference, space: FeatureSpace) -> float:
    """The classifier's accuracy on the real images outputs are measured against (held-out where there are)."""
    probs = real_data(reference, space).real_probs()
    assert probs is not None and reference.real_y is not None
    return label_kept(probs, reference.real_y)


class PixelMatch(Metric):
    """L1, PSNR and SSIM of each output against its own target (paired data), averaged over images.

    L1 is the mean absolute error in [-1, 1] pixels; PSNR (dB) and SSIM (11x11 Gaussian window) are computed
    per image on [0, 1] pixels with data_range 1 (torchmetrics). A perfect copy: L1 0, SSIM 1, PSNR inf.
    """

    def __init__(self) -> None:  # no parameters (an __init__ of its own: see the module doc)
        pass

    def __call__(self, ev: Evaluation) -> Numbers:
        assert ev.targets is not None  # "pairs" is declared
        return pixel_metrics(ev.samples, ev.targets)


class DigitKept(Metric):
    """The share of outputs the target domain's classifier assigns their input's label: whether a translation
    keeps what the image shows.

    Floor: the classifier's accuracy on the real target images (held-out), what a perfect translator scores.
    """

    def __init__(self) -> None:  # no parameters (an __init__ of its own: see the module doc)
        pass

    def __call__(self, ev: Evaluation) -> Numbers:
        ref, space, labels = ev.reference, ev.space, ev.labels
        if ref is None or space is None or labels is None or not labels_fit(labels, ref, space):
            return {}
        probs = ev.probs()
        assert probs is not None  # a classifier's space (labels_fit)
        return {"digit_kept": label_kept(probs, labels), "digit_kept_floor": real_kept(ref, space)}

    def describe(self, result: Mapping[str, object]) -> list[str]:
        if "digit_kept" not in result:
            return []
        ref = result.get("reference")
        ref = ref if isinstance(ref, dict) else {}
        on = "held-out" if ref.get("split") else "real"
        return [f"digit kept: the target domain's classifier (trained on the train split) on the outputs, against "
                f"each input's label; real: its accuracy on the {ref.get('images', 0):,} {on} target images"]


class CycleDigitKept(Metric):
    """Digit kept after a round trip (CycleGAN's A -> B -> A): the outputs translated back by the run's reverse
    generator, classified by the input domain's classifier, against each input's label.

    Floor: that classifier's accuracy on held-out images of the input domain.
    """

    def __init__(self) -> None:  # no parameters (an __init__ of its own: see the module doc)
        pass

    def __call__(self, ev: Evaluation) -> Numbers:
        back = ev.translated_back()
        if back is None or ev.labels is None or not labels_fit(ev.labels, back.reference, back.space):
            return {}
        _, probs = back.space.embed(back.samples)
        assert probs is not None
        out: dict[str, object] = {"cycle_digit_kept": label_kept(probs, ev.labels),
                                  "cycle_digit_kept_floor": real_kept(back.reference, back.space)}
        if back.space.info:
            out["cycle_classifier"] = back.space.info
        return out

    def describe(self, result: Mapping[str, object]) -> list[str]:
        if "cycle_digit_kept" not in result:
            return []
        clf = result.get("cycle_classifier")
        digest = clf.get("digest", "?") if isinstance(clf, dict) else "?"
        return [f"digit kept (A->B->A): the outputs translated back by the run's other generator, classified by "
                f"domain A's classifier (weights {digest}, trained on the train split); real: its accuracy on "
                f"held-out domain A images"]
