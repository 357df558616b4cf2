"""The table `ganzoo eval` prints: metric, value, real-data reference, and how to read it.

Its rows are the registered metrics' (`ganzoo.specs.MetricKey`: label, format, hint), in registration order, for
the keys a result holds; a distance in a feature space is labelled with it ("FD-classifier", "FD-pixels"; the
points' own space is not named). A result of a generator that takes images (``task`` "translation") reads its
keys with the hints given for "image". Under the table: what the "real vs real" column means for this result,
each metric's own lines (`ganzoo.evaluation.metric.Metric.describe`), where the features came from, the notes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ..base.specs import ComponentSpec, MetricKey
from ..plugin.registry import Registry

if TYPE_CHECKING:
    from rich.table import Table


def _registry() -> Registry:
    from ..plugin.manager import get_registry

    return get_registry()


def notes(result: Mapping[str, object]) -> list[str]:
    """The lines of ``result``'s ``notes``; [] when it has none."""
    lines = result.get("notes")
    return [str(line) for line in lines] if isinstance(lines, list) else []


def _table_of(result: Mapping[str, object], key: str) -> Mapping[str, object]:
    """A table nested in ``result`` (``reference``, ``classifier``, ``feature_info``); {} when it has none."""
    value = result.get(key)
    return value if isinstance(value, dict) else {}


def takes(result: Mapping[str, object]) -> str:
    """What the generator of ``result`` took: "image" for a translation's result, else "noise"."""
    return "image" if result.get("task") == "translation" else "noise"


def keys(registry: Registry) -> Iterator[tuple[ComponentSpec, MetricKey]]:
    """Every key of every registered metric, in registration order, each key once (the first metric's)."""
    seen: set[str] = set()
    for spec in registry.metrics():
        for key in spec.metric.keys if spec.metric is not None else ():
            if key.key not in seen:
                seen.add(key.key)
                yield spec, key


def label(key: MetricKey, space: str | None) -> str:
    """``key``'s row label: a distance in a feature space names it, unless the space is the points' own."""
    return f"{key.label}-{space}" if key.in_space and space and space != "points" else key.label


def _fmt(key: MetricKey, value: object, result: Mapping[str, object]) -> str:
    if value is None:
        return "-"
    text = key.fmt.format(value)
    return f"{text} / {result[key.total]}" if key.total and key.total in result else text


def rows(result: Mapping[str, object], registry: Registry | None = None) -> list[tuple[str, str, str, str]]:
    """(label, value, real-data reference, hint) for each registered metric's key present in ``result``."""
    named = result.get("feature_space", "classifier")
    space = named if isinstance(named, str) else None
    kind = takes(result)
    out = []
    for _, key in keys(registry or _registry()):
        if not key.label or key.key not in result:
            continue
        out.append((label(key, space), _fmt(key, result[key.key], result),
                    _fmt(key, result.get(f"{key.key}_floor"), result), key.hint_for(kind)))
    return out


def _unit(result: Mapping[str, object]) -> str:
    return "points" if result.get("feature_space") == "points" else "images"


def _translation(result: Mapping[str, object]) -> bool:
    return takes(result) == "image"


def render(result: Mapping[str, object]) -> Table:
    ref = _table_of(result, "reference")
    if _translation(result):
        split = result.get("input_split", "heldout")
        direction = f"{result['direction']} " if result.get("direction") else ""
        title = (f"{result.get('source', 'translation')}: {result['num']} {direction}translations of the {split} "
                 f"split of {result['dataset']}")
        return _table(title, result)
    against = (f"the held-out split of {result['dataset']} ({ref['images']:,} {_unit(result)})" if ref.get("split")
               else f"{result['dataset']}")
    title = f"{result.get('source', 'samples')}: {result['num']} samples vs {against}"
    return _table(title, result)


def _table(title: str, result: Mapping[str, object]) -> Table:
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


def _compared_labels(result: Mapping[str, object], registry: Registry) -> str:
    """The labels of the numbers in ``result`` that compare samples with as many real images."""
    labels = [key.label for spec, key in keys(registry)
              if spec.metric is not None and "features" in spec.metric.needs and key.label and key.key in result]
    return ", ".join(labels)


def _translation_footer(result: Mapping[str, object], registry: Registry) -> list[str]:
    """Which split each number of a translation result used."""
    ref = _table_of(result, "reference")
    split = result.get("input_split", "heldout")
    n = result["num"]
    of = f" of {result['inputs_available']:,}" if result.get("inputs_available") else ""
    paired = [label(k, None) for spec, k in keys(registry)
              if spec.metric is not None and "pairs" in spec.metric.needs and k.label and k.key in result]
    lines = [f"inputs: {n}{of} images of the {split} split of {result['dataset']}"
             + (f", with their paired targets for {_and(paired)}" if result.get("paired") and paired else "")]
    compared = _compared_labels(result, registry)
    if "num_compared" in result and compared:
        m = result["num_compared"]
        if ref.get("split"):
            lines.append(f"{compared}: {m} outputs against {m} real target images of the held-out split "
                         f"({ref['images']:,}); real vs real: {m} train-split targets ({ref['train_images']:,}, "
                         f"what the run trains on) against the same {m} held-out ones")
        else:
            lines.append(f"{compared}: {m} outputs against {m} real target images; real vs real: two disjoint "
                         f"halves of the real target images ({m} each)")
    return lines


def _and(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def _described(result: Mapping[str, object], registry: Registry) -> list[str]:
    """Each metric's own lines about the numbers it put in ``result`` (`Metric.describe`)."""
    from ..base.errors import plugin_code
    from .metric import build_metric

    lines: list[str] = []
    for spec in registry.metrics():
        info = spec.metric
        if info is None or not any(k.key in result for k in info.keys):
            continue
        metric = build_metric(spec)
        describe = getattr(metric, "describe", None)
        if callable(describe):
            with plugin_code(spec.who, "while describing its numbers"):
                lines.extend(str(line) for line in describe(result))
    return lines


def footer(result: Mapping[str, object]) -> list[str]:
    """Lines under the table: what the reference column means, each metric's own, where features came from,
    notes."""
    registry = _registry()
    ref = _table_of(result, "reference")
    if _translation(result):
        return _translation_footer(result, registry) + _described(result, registry) + _sources(result)
    m = result["num_compared"]
    if ref.get("split"):
        unit = _unit(result)
        lines = [f"real vs real: {m} {unit} of the train split ({ref['train_images']:,} {unit}, what the GAN "
                 f"trains on) against {m} of the held-out split ({ref['images']:,}, never trained on), the "
                 f"same counts as the samples; for one-set metrics, what the held-out {unit} score"]
    else:
        lines = [f"real vs real: the same metric between two disjoint halves of the real data "
                 f"({m} samples each); for one-set metrics, what the real data scores"]
    return lines + _described(result, registry) + _sources(result)


def _sources(result: Mapping[str, object]) -> list[str]:
    """Where the features came from (the data's classifier or pixels, Inception's weights), then the notes."""
    lines = []
    clf = _table_of(result, "classifier")
    if clf:
        acc = (f", accuracy {clf['accuracy']:.3f} on {clf.get('accuracy_on') or 'held-out'} held-out images"
               if clf.get("accuracy") is not None else "")
        on = f", trained on {clf['trained_images']:,} train-split images" if clf.get("trained_images") else ""
        lines.append(f"classifier: {clf['source']} weights {clf['digest']}{on}{acc} "
                     f"(FD-classifier is not Inception FID)")
    info = _table_of(result, "feature_info")
    if info.get("note"):
        lines.append(str(info["note"]))
    if result.get("inception_weights"):
        lines.append(f"Inception weights: {result['inception_weights']}")
    lines.extend(notes(result))
    return lines
