"""The table `ganzoo eval` prints: metric, value, real-data reference, and how to read it."""

from __future__ import annotations

from typing import Any

# key -> (label, format, hint). The order here is the order of the table.
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("fd", "FD-classifier", "{:.3f}", "lower is better; near the floor = as good as this many samples can tell"),
    ("kid", "KID-classifier", "{:.4f}", "lower is better; unbiased, so about 0 (even < 0) when matched"),
    ("precision", "precision", "{:.3f}", "fidelity: share of samples on the real data's manifold"),
    ("recall", "recall", "{:.3f}", "diversity: share of real data on the samples' manifold"),
    ("classes_covered", "classes covered", "{}", "classes predicted for >= 1/10 of a fair share"),
    ("class_entropy", "class entropy", "{:.3f}", "nats; ln K when uniform, 0 for a single class"),
    ("mean_confidence", "mean confidence", "{:.3f}", "classifier's mean top probability; low = ambiguous"),
    ("conditional_accuracy", "conditional accuracy", "{:.3f}", "samples classified as the label asked for"),
    ("modes_covered", "modes covered", "{}", "modes with >= 1/10 of a fair share of good samples"),
    ("high_quality_share", "high-quality share", "{:.3f}", "samples within 3 std of a mode centre"),
    ("memorized", "memorized", "{:.3f}",
     "share of samples nearer a training image than 95% of held-out images are; real ~0.05, copies ~1"),
    ("memorized_pixels", "memorized (pixels)", "{:.3f}", "the same, measured in 16x16 pixels"),
    ("fid", "FID (Inception)", "{:.2f}", "standard FID; papers quote it at 50k samples"),
)

_SPACE_LABEL = {"points": ("FD", "KID"), "pixels": ("FD-pixels", "KID-pixels")}

# an image-to-image run's table (ganzoo.evaluation.translation)
TRANSLATION_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("l1", "L1", "{:.4f}", "mean |output - target| in [-1, 1] pixels; 0 = the targets exactly"),
    ("psnr", "PSNR", "{:.2f}", "dB, per image on [0, 1] pixels, averaged; higher is better"),
    ("ssim", "SSIM", "{:.4f}", "structural similarity to the targets (11x11 Gaussian window); 1 = identical"),
    ("fd", "FD-classifier", "{:.3f}", "outputs vs real target images; lower is better, the floor is the best"),
    ("kid", "KID-classifier", "{:.4f}", "lower is better; unbiased, so about 0 (even < 0) when matched"),
    ("precision", "precision", "{:.3f}", "fidelity: share of outputs on the real targets' manifold"),
    ("recall", "recall", "{:.3f}", "diversity: share of real targets on the outputs' manifold"),
    ("digit_kept", "digit kept", "{:.3f}", "outputs classified as their input's label; real: the classifier's "
                                           "accuracy on real targets"),
    ("cycle_digit_kept", "digit kept (A->B->A)", "{:.3f}", "the same after translating back, by domain A's "
                                                           "classifier"),
)


def _fmt(fmt: str, value: Any, key: str, result: dict[str, Any]) -> str:
    if value is None:
        return "-"
    text = fmt.format(value)
    total = {"classes_covered": "num_classes", "modes_covered": "num_modes"}.get(key)
    return f"{text} / {result[total]}" if total and total in result else text


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(label, value, real-data reference, hint) for each metric present in ``result``."""
    space = result.get("feature_space", "classifier")
    out = []
    for key, label, fmt, hint in TRANSLATION_ROWS if _translation(result) else ROWS:
        if key not in result:
            continue
        if space in _SPACE_LABEL and key in ("fd", "kid"):
            label = _SPACE_LABEL[space][0 if key == "fd" else 1]
        out.append((label, _fmt(fmt, result[key], key, result), _fmt(fmt, result.get(f"{key}_floor"), key, result),
                    hint))
    return out


def _unit(result: dict[str, Any]) -> str:
    return "points" if result.get("feature_space") == "points" else "images"


def _translation(result: dict[str, Any]) -> bool:
    return result.get("task") == "translation"


def render(result: dict[str, Any]) -> Any:
    ref = result.get("reference") or {}
    if _translation(result):
        split = result.get("input_split", "heldout")
        title = (f"{result.get('source', 'translation')}: {result['num']} {result.get('direction', 'AtoB')} "
                 f"translations of the {split} split of {result['dataset']}")
        return _table(title, result)
    against = (f"the held-out split of {result['dataset']} ({ref['images']:,} {_unit(result)})" if ref.get("split")
               else f"{result['dataset']}")
    title = f"{result.get('source', 'samples')}: {result['num']} samples vs {against}"
    return _table(title, result)


def _table(title: str, result: dict[str, Any]) -> Any:
    from rich.table import Table

    from rich.text import Text

    # the title names the user's run or file, and rows may carry names too: text, never markup
    table = Table(title=Text(title), title_justify="left", header_style="bold", box=None, pad_edge=False)
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("real vs real", justify="right", no_wrap=True)
    table.add_column("how to read it", overflow="fold", style="dim")
    for row in rows(result):
        table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in row))
    return table


def _translation_footer(result: dict[str, Any]) -> list[str]:
    """Which split each number of a translation result used."""
    ref = result.get("reference") or {}
    split = result.get("input_split", "heldout")
    n = result["num"]
    of = f" of {result['inputs_available']:,}" if result.get("inputs_available") else ""
    lines = [f"inputs: {n}{of} images of the {split} split of {result['dataset']}"
             + (", with their paired targets for L1, PSNR and SSIM" if result.get("paired") else "")]
    if "num_compared" in result:
        m = result["num_compared"]
        if ref.get("split"):
            lines.append(f"FD, KID, precision, recall: {m} outputs against {m} real target images of the held-out "
                         f"split ({ref['images']:,}); real vs real: {m} train-split targets "
                         f"({ref['train_images']:,}, what the run trains on) against the same {m} held-out ones")
        else:
            lines.append(f"FD, KID, precision, recall: {m} outputs against {m} real target images; real vs real: "
                         f"two disjoint halves of the real target images ({m} each)")
    if "digit_kept" in result:
        on = "held-out" if ref.get("split") else "real"
        lines.append(f"digit kept: the target domain's classifier (trained on the train split) on the outputs, "
                     f"against each input's label; real: its accuracy on the {ref.get('images', 0):,} {on} "
                     f"target images")
    if "cycle_digit_kept" in result:
        clf = result.get("cycle_classifier") or {}
        lines.append(f"digit kept (A->B->A): the outputs translated back by the run's other generator, classified "
                     f"by domain A's classifier (weights {clf.get('digest', '?')}, trained on the train split); "
                     f"real: its accuracy on held-out domain A images")
    return lines


def footer(result: dict[str, Any]) -> list[str]:
    """Lines under the table: what the reference column means, where features came from, notes."""
    ref = result.get("reference") or {}
    if _translation(result):
        lines = _translation_footer(result)
        return lines + _sources(result)
    m = result["num_compared"]
    if ref.get("split"):
        unit = _unit(result)
        lines = [f"real vs real: {m} {unit} of the train split ({ref['train_images']:,} {unit}, what the GAN "
                 f"trains on) against {m} of the held-out split ({ref['images']:,}, never trained on), the "
                 f"same counts as the samples; for one-set metrics, what the held-out {unit} score"]
    else:
        lines = [f"real vs real: the same metric between two disjoint halves of the real data "
                 f"({m} samples each); for one-set metrics, what the real data scores"]
    return lines + _sources(result)


def _sources(result: dict[str, Any]) -> list[str]:
    """Where the features came from, then the result's notes."""
    lines = []
    clf = result.get("classifier")
    if clf:
        acc = (f", accuracy {clf['accuracy']:.3f} on {clf.get('accuracy_on') or 'held-out'} held-out images"
               if clf.get("accuracy") is not None else "")
        on = f", trained on {clf['trained_images']:,} train-split images" if clf.get("trained_images") else ""
        lines.append(f"classifier: {clf['source']} weights {clf['digest']}{on}{acc} "
                     f"(FD-classifier is not Inception FID)")
    info = result.get("feature_info") or {}
    if info.get("note"):
        lines.append(info["note"])
    if result.get("inception_weights"):
        lines.append(f"Inception weights: {result['inception_weights']}")
    lines.extend(result.get("notes", []))
    return lines
