"""Shared pieces of the conformance suite: default data shapes, the report, failure messages."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..base.errors import UnknownNameError
from ..base.specs import ComponentSpec, DataInfo

if TYPE_CHECKING:  # pragma: no cover
    from ..plugin.registry import Registry

#: The data shapes a generator or discriminator is tried on unless told otherwise.
POINTS = DataInfo((2,), None, 64, "points")
MNIST = DataInfo((1, 28, 28), None, 64, "image")
RGB32 = DataInfo((3, 32, 32), None, 64, "image")
RGB64 = DataInfo((3, 64, 64), None, 64, "image")
DEFAULT_DATA: tuple[DataInfo, ...] = (POINTS, MNIST, RGB32, RGB64)
#: classes given to the data of a conditional component that did not say how many
NUM_CLASSES = 4


class ConformanceError(AssertionError):
    """A component broke its contract. The message names the component, its plugin and the data."""


@dataclass
class Report:
    """What a check found: the data shapes a component supports, and why it refused the others."""

    kind: str
    name: str
    plugin: str
    supported: list[tuple[int, ...]] = field(default_factory=list)
    unsupported: dict[tuple[int, ...], str] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is None

    def passed(self, check: str) -> None:
        if check not in self.checks:
            self.checks.append(check)

    def __str__(self) -> str:
        head = f"{self.kind} {self.name!r} ({self.plugin})"
        if self.skipped:
            return f"{head}: skipped: {self.skipped}"
        lines = [f"{head}: passed {', '.join(self.checks) or 'nothing'}"]
        if self.supported:
            lines.append("  supports: " + ", ".join(shape_label(s) for s in self.supported))
        for shape, why in self.unsupported.items():
            lines.append(f"  refuses {shape_label(shape)}: {why}")
        return "\n".join(lines)


def shape_label(data: DataInfo | tuple[int, ...]) -> str:
    shape = data.shape if isinstance(data, DataInfo) else tuple(data)
    return "x".join(str(d) for d in shape) if len(shape) > 1 else f"points({shape[0]})"


def who(spec: ComponentSpec) -> str:
    return spec.who


def fail(spec: ComponentSpec, what: str, data: DataInfo | None = None) -> ConformanceError:
    """The error to raise: ``raise fail(spec, "produced NaN", data)``."""
    where = f" on data of shape {shape_label(data)}" if data is not None else ""
    return ConformanceError(f"{who(spec)}{where}: {what}")


def lookup(kind: str, name: str, registry: Registry | None = None) -> ComponentSpec:
    from ..plugin.manager import get_registry

    registry = registry or get_registry()
    try:
        return registry.get(kind, name)
    except UnknownNameError as exc:
        raise ConformanceError(f"{exc}; is the plugin installed? `ganzoo plugins` lists the plugins that "
                               f"loaded and the ones that failed") from None


def new_report(spec: ComponentSpec) -> Report:
    return Report(spec.kind, spec.name, spec.plugin.label)


def fit_labels(data: DataInfo, conditional: bool) -> DataInfo:
    """Conditional components get labelled data, unconditional ones unlabelled data."""
    if conditional and not data.num_classes:
        return replace(data, num_classes=NUM_CLASSES, class_names=None)
    if not conditional and data.num_classes:
        return replace(data, num_classes=None, class_names=None)
    return data


def error_text(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):  # a plugin's sys.exit() is its failure here, as in a run
        return f"it called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}"
