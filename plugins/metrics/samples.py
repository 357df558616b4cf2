"""The metrics of samples: distances between sample and real feature sets, class and mode coverage,
memorization, standard FID.

Each is a `ganzoo.evaluation.metric.Metric` computed on an `ganzoo.evaluation.metric.Evaluation`: the samples'
features and the real side come from there, computed once for all metrics, and a floor (real data in the
samples' place) is computed once per real side (`RealSide.once`), so evaluation during training pays for it
once per run. The statistics themselves are `ganzoo.evaluation.metrics`.

Every metric class defines ``__init__``, with parameters or without: `ganzoo info` reads it from this
source without importing it (`ganzoo.plugin.introspect`), and a base class in ``ganzoo.evaluation`` is not read
while that package is not loaded.
"""

from __future__ import annotations

from torch import Tensor

from ganzoo.evaluation import metrics as M
from ganzoo.evaluation.features import pixels
from ganzoo.evaluation.metric import Evaluation, Metric, Numbers
from ganzoo.evaluation.reference import mode_metric


def _probs(probs: Tensor | None) -> Tensor:
    if probs is None:  # "classes" is declared: the evaluation has a classifier
        raise ValueError("class probabilities are missing: the feature space has no classifier")
    return probs


class FD(Metric):
    """Fréchet distance between Gaussians fitted to the samples' features and as many real ones' (FID's
    formula; in the data's own feature space, not Inception's).

    Floor: train-split images in the samples' place, against the same held-out images. Near the floor is as
    good as this many samples can tell.
    """

    def __init__(self) -> None:  # no parameters (an __init__ of its own: see the module doc)
        pass

    def __call__(self, ev: Evaluation) -> Numbers:
        real = ev.real()
        floor = real.once("fd", lambda: M.frechet_distance(real.features(), real.stand_in_features()))
        return {"fd": M.frechet_distance(real.features(), ev.compared()), "fd_floor": floor}


class KID(Metric):
    """Kernel inception distance (Bińkowski et al. 2018) in the data's feature space: unbiased MMD² with a cubic
    polynomial kernel, averaged over 20 subsets of up to 1000; about 0 (even below) when matched.

    subsets: how many random subsets the estimate averages.
    subset_size: samples per subset (at most as many as are compared).
    """

    def __init__(self, subsets: int = 20, subset_size: int = 1000):
        self.subsets, self.subset_size = subsets, subset_size

    def _kid(self, real: Tensor, fake: Tensor, seed: int) -> float:
        return M.kernel_inception_distance(real, fake, self.subsets, self.subset_size, seed=seed)[0]

    def __call__(self, ev: Evaluation) -> Numbers:
        real = ev.real()
        floor = real.once(f"kid:{self.subsets}:{self.subset_size}",
                          lambda: self._kid(real.features(), real.stand_in_features(), ev.seed))
        return {"kid": self._kid(real.features(), ev.compared(), ev.seed), "kid_floor": floor}


class PrecisionRecall(Metric):
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds in the data's feature
    space: precision, the share of samples on the real data's manifold (fidelity); recall, the share of real
    data on the samples' (diversity).

    k: the neighbour whose distance is each point's radius.
    """

    def __init__(self, k: int = 3):
        self.k = k

    def __call__(self, ev: Evaluation) -> Numbers:
        real = ev.real()
        floor = real.once(f"precision-recall:{self.k}",
                          lambda: M.precision_recall(real.features(), real.stand_in_features(), self.k))
        precision, recall = M.precision_recall(real.features(), ev.compared(), self.k)
        return {"precision": precision, "recall": recall, "precision_floor": floor[0], "recall_floor": floor[1]}


class Coverage(Metric):
    """What the data's classifier makes of the samples: classes covered (predicted for at least a tenth of a
    fair share), the entropy of the predicted classes, the mean top probability, and the count of each class.

    Floor: the same of as many held-out images.
    """

    def __init__(self) -> None:  # no parameters (an __init__ of its own: see the module doc)
        pass

    def __call__(self, ev: Evaluation) -> Numbers:
        real = ev.real()
        floor = real.once("coverage", lambda: M.class_metrics(_probs(real.probs())))
        out: dict[str, object] = dict(M.class_metrics(_probs(ev.probs())))
        for key in ("classes_covered", "class_entropy", "mean_confidence"):
            out[f"{key}_floor"] = floor[key]
        return out


class ConditionalAccuracy(Metric):
    """A conditional generator's samples classified as the class they were drawn for, by the data's classifier.

    Floor: the classifier's accuracy on as many held-out images.
    """

    def __init__(self) -> None:  # no parameters (an __init__ of its own: see the module doc)
        pass

    def __call__(self, ev: Evaluation) -> Numbers:
        assert ev.labels is not None  # "labels" is declared
        out: dict[str, object] = {"conditional_accuracy": M.label_accuracy(_probs(ev.probs()), ev.labels)}
        real = ev.real()
        if real.y is not None:
            y = real.y
            out["conditional_accuracy_floor"] = real.once("conditional-accuracy",
                                                          lambda: M.label_accuracy(_probs(real.probs()), y))
        return out


class Modes(Metric):
    """Modes covered and the high-quality share, for data whose modes are known: the dataset's own mode metric
    (``register.dataset(..., evaluation=DatasetEvaluation(modes=...))``), on every sample.

    Floor: the same of as many held-out points.
    """

    def __init__(self) -> None:  # no parameters (an __init__ of its own: see the module doc)
        pass

    KEYS = ("modes_covered", "num_modes", "high_quality_share")

    def __call__(self, ev: Evaluation) -> Numbers:
        assert ev.reference is not None
        modes = mode_metric(ev.reference)
        assert modes is not None  # "modes" is declared
        real = ev.real()
        floor = real.once("modes", lambda: modes(real.x))
        out: dict[str, object] = {k: v for k, v in modes(ev.samples).items() if k in self.KEYS}
        for key in ("modes_covered", "high_quality_share"):
            if key in out and key in floor:
                out[f"{key}_floor"] = floor[key]
        return out


class Memorization(Metric):
    """The share of samples nearer a training image than most held-out images are (a copy of a training image
    is at distance 0): in the data's feature space (``memorized``) and, for images, in 16x16 pixels
    (``memorized_pixels``).

    The threshold is the ``quantile`` of held-out images' distances to the train split, from one half of up to
    ``calibration`` held-out images; the floor is what the other half scores (about ``quantile``). Copies of
    training images score up to 1.

    quantile: the share of held-out images the threshold lets through.
    calibration: held-out images that set the threshold and give the floor (two halves).
    """

    def __init__(self, quantile: float = 0.05, calibration: int = 4000):
        self.quantile, self.calibration = quantile, calibration

    def _calibrated(self, ev: Evaluation) -> dict[str, tuple[Tensor, Tensor, float]]:
        """For each space: (train split's points, calibration distances, floor)."""
        import torch

        ref, data, space = ev.reference, ev.real_data(), ev.space
        assert ref is not None and ref.heldout_x is not None and space is not None
        f_held, _ = data.embedded("heldout")
        f_train, _ = data.embedded("train")
        perm = torch.randperm(len(f_held), generator=torch.Generator().manual_seed(ev.seed + 2))[:self.calibration]
        half = len(perm) // 2  # the first half sets the threshold, the second is scored against it (the floor)
        spaces = {"memorized": (f_train, f_held)}
        if ref.info.is_image and space.name != "pixels":
            spaces["memorized_pixels"] = (pixels(ref.train_x), pixels(ref.heldout_x))
        out = {}
        for key, (train, held) in spaces.items():
            nearest = M.nearest_sqdist(held[perm], train)
            calibration, checked = nearest[:half], nearest[half:]
            out[key] = (train, calibration, M.memorized_share(checked, calibration, self.quantile))
        return out

    def __call__(self, ev: Evaluation) -> Numbers:
        real = ev.real()
        sides = real.once(f"memorization:{self.quantile}:{self.calibration}", lambda: self._calibrated(ev))
        values: dict[str, object] = {}
        floors: dict[str, object] = {}
        for key, (train, calibration, floor) in sides.items():
            query = ev.compared() if key == "memorized" else pixels(ev.compared_samples())
            values[key] = M.memorized_share(M.nearest_sqdist(query, train), calibration, self.quantile)
            floors[f"{key}_floor"] = floor
        return {**values, **floors}


class FID(Metric):
    """Standard FID: the Fréchet distance in Inception-v3's pool3 features, from weights already on disk
    ($GANZOO_INCEPTION_WEIGHTS or torch hub's checkpoints folder; never downloaded). Images of 1 or 3 channels.

    Floor: train-split images in the samples' place. Comparable only between runs scored with the same
    weights file, whose name the result gives.
    """

    def __init__(self) -> None:  # no parameters (an __init__ of its own: see the module doc)
        pass

    def __call__(self, ev: Evaluation) -> Numbers:
        from ganzoo.evaluation.inception import InceptionFeatures, find_weights

        if ev.info.channels not in (1, 3):
            return {}
        path, note = find_weights()
        if path is None:
            ev.note(note)
            return {}
        net = InceptionFeatures(path, ev.device)
        real = ev.real()

        def real_side() -> tuple[Tensor, float]:  # Inception on a CPU is the slow part: once per real side
            fa = net(real.x)
            return fa, M.frechet_distance(fa, net(real.stand_in_x))

        fa, floor = real.once(f"inception:{path}", real_side)
        return {"fid": M.frechet_distance(fa, net(ev.compared_samples())), "fid_floor": floor,
                "inception_weights": path.name}
