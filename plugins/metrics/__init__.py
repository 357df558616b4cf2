"""ganzoo's built-in metrics (the ``metric`` kind), registered as any plugin registers its own.

Registration only (torch-free): each metric's code is a lazy "module:Class" in `samples` (what samples of a
noise generator are measured with) or `translation` (translations of images). What they need and the numbers
they give are declared here, so `ganzoo list --kind metric`, `ganzoo info METRIC`, the report, `ganzoo plot`
and the progress line read them without importing torch. The order of registration is the order of
`ganzoo eval`'s table.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar
from ganzoo.specs import MetricKey

_HERE = __name__
BOTH = ("noise", "image")
SHARE = "{:.3f}"


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    # image-to-image first: their table starts with how close each output is to its own target
    register.metric("l1-psnr-ssim", f"{_HERE}.translation:PixelMatch", needs=("pairs", "images"), takes=("image",),
                    default=True, keys=(
                        MetricKey("l1", "L1", "{:.4f}", "lower",
                                  hint="mean |output - target| in [-1, 1] pixels; 0 = the targets exactly"),
                        MetricKey("psnr", "PSNR", "{:.2f}", "higher",
                                  hint="dB, per image on [0, 1] pixels, averaged; higher is better"),
                        MetricKey("ssim", "SSIM", "{:.4f}", "higher",
                                  hint="structural similarity to the targets (11x11 Gaussian window); 1 = identical"),
                    ))
    register.metric("fd", f"{_HERE}.samples:FD", needs=("features",), takes=BOTH, default=True, keys=(
        MetricKey("fd", "FD", "{:.3f}", "lower", floor=True, in_space=True, brief="FD", brief_fmt="{:.3g}",
                  brief_floor=True,
                  hint="lower is better; near the floor = as good as this many samples can tell",
                  hints=(("image", "outputs vs real target images; lower is better, the floor is the best"),)),
    ))
    register.metric("kid", f"{_HERE}.samples:KID", needs=("features",), takes=BOTH, default=True, keys=(
        MetricKey("kid", "KID", "{:.4f}", "lower", floor=True, in_space=True,
                  hint="lower is better; unbiased, so about 0 (even < 0) when matched"),
    ))
    register.metric("precision-recall", f"{_HERE}.samples:PrecisionRecall", needs=("features",), takes=BOTH,
                    default=True, keys=(
                        MetricKey("precision", "precision", SHARE, "higher", floor=True, brief="precision",
                                  hint="fidelity: share of samples on the real data's manifold",
                                  hints=(("image", "fidelity: share of outputs on the real targets' manifold"),)),
                        MetricKey("recall", "recall", SHARE, "higher", floor=True, brief="recall",
                                  hint="diversity: share of real data on the samples' manifold",
                                  hints=(("image", "diversity: share of real targets on the outputs' manifold"),)),
                    ))
    register.metric("coverage", f"{_HERE}.samples:Coverage", needs=("classes",), default=True, keys=(
        MetricKey("classes_covered", "classes covered", "{}", "higher", floor=True, total="num_classes",
                  brief="classes", brief_fmt="{}", hint="classes predicted for >= 1/10 of a fair share"),
        MetricKey("num_classes"),
        MetricKey("class_entropy", "class entropy", SHARE, floor=True,
                  hint="nats; ln K when uniform, 0 for a single class"),
        MetricKey("mean_confidence", "mean confidence", SHARE, "higher", floor=True,
                  hint="classifier's mean top probability; low = ambiguous"),
        MetricKey("class_counts"),
    ))
    register.metric("conditional-accuracy", f"{_HERE}.samples:ConditionalAccuracy", needs=("labels", "classes"),
                    default=True, keys=(
                        MetricKey("conditional_accuracy", "conditional accuracy", SHARE, "higher", floor=True,
                                  brief="conditional accuracy", hint="samples classified as the label asked for"),
                    ))
    register.metric("modes", f"{_HERE}.samples:Modes", needs=("modes", "reference"), default=True, keys=(
        MetricKey("modes_covered", "modes covered", "{}", "higher", floor=True, total="num_modes", brief="modes",
                  brief_fmt="{}", hint="modes with >= 1/10 of a fair share of good samples"),
        MetricKey("num_modes"),
        MetricKey("high_quality_share", "high-quality share", SHARE, "higher", floor=True, brief="high-quality",
                  hint="samples within 3 std of a mode centre"),
    ))
    register.metric("memorization", f"{_HERE}.samples:Memorization", needs=("features", "heldout"), default=True,
                    keys=(
                        MetricKey("memorized", "memorized", SHARE, "lower", floor=True,
                                  hint="share of samples nearer a training image than 95% of held-out images are; "
                                       "real ~0.05, copies ~1"),
                        MetricKey("memorized_pixels", "memorized (pixels)", SHARE, "lower", floor=True,
                                  hint="the same, measured in 16x16 pixels"),
                    ))
    register.metric("digit-kept", f"{_HERE}.translation:DigitKept", needs=("labels", "classes"), takes=("image",),
                    default=True, keys=(
                        MetricKey("digit_kept", "digit kept", SHARE, "higher", floor=True,
                                  hint="outputs classified as their input's label; real: the classifier's accuracy "
                                       "on real targets"),
                    ))
    register.metric("cycle-digit-kept", f"{_HERE}.translation:CycleDigitKept", needs=("labels", "round-trip"),
                    takes=("image",), default=True, extras=("cycle_classifier",), keys=(
                        MetricKey("cycle_digit_kept", "digit kept (A->B->A)", SHARE, "higher", floor=True,
                                  hint="the same after translating back, by domain A's classifier"),
                    ))
    register.metric("fid", f"{_HERE}.samples:FID", needs=("images", "features", "inception"), default=True,
                    extras=("inception_weights",), keys=(
                        MetricKey("fid", "FID (Inception)", "{:.2f}", "lower", floor=True,
                                  hint="standard FID; papers quote it at 50k samples"),
                    ))
