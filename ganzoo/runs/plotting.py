"""Pictures of runs: a run's curves beside its latest grid (`ganzoo plot`), several runs side by side (`ganzoo compare`).

matplotlib is an optional extra (``pip install "ganzoo[plot]"``) and is
imported only here, with the non-interactive Agg backend, so plotting works
on a headless machine and costs nothing to the commands that do not plot.
Rows are metrics.jsonl's: loss lines carry ``d_loss``/``g_loss`` and the
per-term parts, evaluation lines an ``eval`` table (see `ganzoo.training.trainer`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Literal, Protocol, TypeGuard

from ..base.errors import UsageError
from ..base.specs import MetricKey

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from PIL import Image

# Loss-line keys worth a curve, in the order they are drawn; per-term parts ("d/bce") follow.
LOSS_KEYS = ("d_loss", "g_loss")
SCORE_KEYS = ("d_real", "d_fake")
# What an evaluation line holds besides metrics' numbers: how many samples were compared.
BOOKKEEPING = ("num_compared",)


@dataclass(frozen=True)
class Curves:
    """One run's series, read from its metrics rows: ``{key: (steps, values)}``."""

    name: str
    losses: dict[str, tuple[list[int], list[float]]]
    evals: dict[str, tuple[list[int], list[float]]]
    floors: dict[str, float]
    final: dict[str, float]

    @classmethod
    def from_rows(cls, name: str, rows: Iterable[Mapping[str, object]]) -> Curves:
        losses: dict[str, tuple[list[int], list[float]]] = {}
        evals: dict[str, tuple[list[int], list[float]]] = {}
        floors: dict[str, float] = {}
        for row in rows:
            step = row.get("step")
            if not isinstance(step, int):
                continue
            table = row.get("eval")
            if isinstance(table, dict):
                for key, value in table.items():
                    if key.endswith("_floor") and _number(value):
                        floors[key[: -len("_floor")]] = float(value)
                    elif _number(value):
                        _add(evals, key, step, float(value))
                continue
            for key, value in row.items():
                if (key in LOSS_KEYS or key in SCORE_KEYS or "/" in key) and _number(value):
                    _add(losses, key, step, float(value))
        final = {k: v[1][-1] for k, v in evals.items()}
        return cls(name, losses, evals, floors, final)


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _add(series: dict[str, tuple[list[int], list[float]]], key: str, step: int, value: float) -> None:
    steps, values = series.setdefault(key, ([], []))
    steps.append(step)
    values.append(value)


class Pyplot(Protocol):
    """What ganzoo draws with of matplotlib.pyplot: `pyplot` returns the module itself."""

    def subplots(self, nrows: int, ncols: int, *, squeeze: Literal[False],
                 figsize: tuple[float, float]) -> tuple[Figure, np.ndarray]: ...

    def close(self, fig: Figure) -> None: ...


def pyplot() -> Pyplot:
    """matplotlib.pyplot on the Agg backend, or one line saying which extra to install."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("plotting needs matplotlib", 'install it with: pip install "ganzoo[plot]"') from None
    return plt


def _metric_keys() -> dict[str, MetricKey]:
    """Every registered metric's keys, in registration order (the first metric's where two declare one)."""
    from ..plugin.manager import get_registry

    out: dict[str, MetricKey] = {}
    for spec in get_registry().metrics():
        for key in spec.metric.keys if spec.metric is not None else ():
            out.setdefault(key.key, key)
    return out


def _eval_keys(runs: list[Curves]) -> list[str]:
    """The evaluation keys drawn, one panel each: the registered metrics' numbers in registration order (a count
    shown beside another key, such as num_classes, left out), then keys no installed metric declares (a run
    scored by a plugin since uninstalled), by name."""
    present = {k for r in runs for k in r.evals}
    declared = _metric_keys()
    return [k for k, key in declared.items() if key.label and k in present] + sorted(
        present - set(declared) - set(BOOKKEEPING))


def _better(key: str) -> str:
    """The y-axis label of ``key``'s panel: which way is better, as its metric declares."""
    declared = _metric_keys().get(key)
    return f"{declared.better} is better" if declared is not None and declared.better else ""


def plot_file(out: Path) -> Path:
    """The file a figure saved to ``out`` lands in: ``out`` itself, or ``out.png`` when it has no suffix (as
    matplotlib writes it). UsageError, naming the suffixes that work, for one matplotlib cannot write."""
    from matplotlib.backend_bases import FigureCanvasBase

    pyplot()  # the one line naming the extra, when matplotlib is missing
    if not out.suffix:
        return out.with_name(out.name + ".png")
    formats = FigureCanvasBase.get_supported_filetypes()
    if out.suffix[1:].lower() not in formats:
        raise UsageError(f"--out {out}: cannot draw a {out.suffix} file",
                         "use one of " + ", ".join(f".{f}" for f in sorted(formats)) + " (.png by default)")
    return out


def _picture(path: Path, note: Callable[[str], None] | None) -> Image.Image | None:
    """The grid's pixels for imshow, or None (said in ``note``'s one line) when the file is not a readable picture."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            return img.convert("RGB") if img.mode not in ("L", "RGB") else img.copy()
    except Exception as exc:  # PIL raises many types for a broken file (SyntaxError: not a PNG file, among them)
        if note is not None:
            note(f"{path} is not a readable picture ({type(exc).__name__}: {exc}); plotted without it")
        return None


def run_figure(curves: Curves, grid: Path | None = None, note: Callable[[str], None] | None = None) -> Figure:
    """Losses, D's scores and each evaluation metric over steps, with the latest sample grid beside them.

    A grid that cannot be read (a damaged file) is left out and said in ``note``'s one line."""
    plt = pyplot()
    picture = _picture(grid, note) if grid is not None else None
    if picture is None:
        grid = None
    evals = _eval_keys([curves])
    panels = 1 + bool(set(SCORE_KEYS) & set(curves.losses)) + len(evals) + (grid is not None)
    fig, axes = _panels(plt, panels)
    ax = axes.pop(0)
    for key in [k for k in curves.losses if k not in SCORE_KEYS]:
        steps, values = curves.losses[key]
        ax.plot(steps, values, label=key, linewidth=1.2 if key in LOSS_KEYS else 0.8)
    _finish(ax, "losses", "step")
    if set(SCORE_KEYS) & set(curves.losses):
        ax = axes.pop(0)
        for key in SCORE_KEYS:
            if key in curves.losses:
                ax.plot(*curves.losses[key], label=key)
        _finish(ax, "D's mean raw score", "step")
    for key in evals:
        ax = axes.pop(0)
        ax.plot(*curves.evals[key], marker="o", label=key)
        if key in curves.floors:
            ax.axhline(curves.floors[key], color="grey", linestyle="--", label="real-vs-real floor")
        _finish(ax, key, "step")
        ax.set_ylabel(_better(key))
    if grid is not None and picture is not None:  # (a grid without a picture was dropped above)
        ax = axes.pop(0)
        # fixed limits: a grid is pixels, not data to stretch (a flat grey grid must not turn black)
        ax.imshow(picture, cmap="gray", vmin=0, vmax=255)
        ax.set_title(grid.name)
        ax.axis("off")
    fig.suptitle(curves.name)
    fig.tight_layout()
    return fig


def compare_figure(runs: list[Curves]) -> Figure:
    """The generator and discriminator losses and every evaluation metric, one panel each, one line per run."""
    plt = pyplot()
    keys = [k for k in LOSS_KEYS if any(k in r.losses for r in runs)]
    evals = _eval_keys(runs)
    fig, axes = _panels(plt, max(1, len(keys) + len(evals)))
    for ax, key in zip(axes, keys + evals):
        for run in runs:
            series = run.losses.get(key) if key in keys else run.evals.get(key)
            if series is not None:
                ax.plot(*series, label=run.name, marker=None if key in keys else "o")
        _finish(ax, key, "step")
        if key not in keys:
            ax.set_ylabel(_better(key))
    fig.tight_layout()
    return fig


def _panels(plt: Pyplot, n: int) -> tuple[Figure, list[Axes]]:
    """``n`` axes, at most four to a row (unused cells of the last row hidden)."""
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, grid = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    cells = [ax for row in grid for ax in row]
    for ax in cells[n:]:
        ax.set_visible(False)
    return fig, cells[:n]


def _finish(ax: Axes, title: str, xlabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")


def save(fig: Figure, out: Path) -> Path:
    from ..base.errors import WriteError

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110)
    except OSError as exc:
        raise WriteError.from_os(exc, out) from None
    finally:
        pyplot().close(fig)
    return out
