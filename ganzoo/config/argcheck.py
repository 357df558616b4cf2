"""Checks of the Python API's arguments (`ganzoo.api`, `ganzoo.trained`), made before any work starts.

A script passes whatever Python lets it: ``num=-3``, ``labels=7.9``, ``out=None``, ``gen=5``. Each check
here turns a value the API cannot use as meant into one `UsageError` line naming the argument, what it
takes and what it got, instead of a raw TypeError from deep inside torch, or worse, a value quietly
rounded (7.9 -> class 7) or read another way (a negative count as a slice from the end). ``bool`` is an
``int`` to Python, so each integer check refuses it by name: ``n=True`` is a mistake, not one sample.
Torch-free, so the package root stays light.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeGuard, TypeVar

from ..base.errors import UsageError

#: the progress modes `ganzoo.train` and the trainer take (`ganzoo.training.progress.Reporter`)
PROGRESS = ("auto", "bar", "plain", "quiet")
#: the fewest samples (or inputs) evaluation scores: `ganzoo eval --num` takes no fewer either
EVAL_MIN_NUM = 10
#: torch seeds are signed 64-bit; evaluation adds small offsets to the seed it is given
SEED_LIMIT = 2**62

_T = TypeVar("_T")


def shown(value: object) -> str:
    """``value`` as a message shows it: its repr, with its type when the repr does not say (5, not '5')."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, (str, bool, type(None))):
        return text
    return f"{text} ({type(value).__name__})"


def is_int(value: object) -> TypeGuard[numbers.Integral]:
    """An integer that is not a bool (numpy's integers count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _as_int(value: object) -> int | None:
    """``value`` as an int when `is_int`, else None."""
    return int(value) if is_int(value) else None


def integer(name: str, value: object, *, minimum: int | None = None) -> int:
    """``value`` as an int when it is an integer of at least ``minimum``; else one line."""
    n = _as_int(value)
    if n is None or (minimum is not None and n < minimum):
        need = f"an integer >= {minimum}" if minimum is not None else "an integer"
        raise UsageError(f"{name} must be {need}, not {shown(value)}")
    return n


def optional_integer(name: str, value: object, *, minimum: int, none: str) -> int | None:
    """None (``none`` says what it means) or an integer of at least ``minimum``."""
    if value is None:
        return None
    n = _as_int(value)
    if n is None or n < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, or None for {none}; not {shown(value)}")
    return n


def seed(name: str, value: object) -> int:
    n = _as_int(value)
    if n is None or not -SEED_LIMIT < n < SEED_LIMIT:
        raise UsageError(f"{name} must be an integer (|{name}| < 2**62), not {shown(value)}")
    return n


def flag(name: str, value: object) -> bool:
    """True or False only: ``resume="no"`` is truthy, and would resume."""
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False, not {shown(value)}")
    return value


def one_of(name: str, value: object, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise UsageError(f"{name} must be one of {', '.join(choices)}, not {shown(value)}")
    return value


def text(name: str, value: object, *, optional: bool = False, what: str = "a name") -> str | None:
    """A non-empty string (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{name} must be {what}{' or None' if optional else ''}, not {shown(value)}")
    return value


def path(name: str, value: object, *, what: str) -> str | Path:
    """A path (str or os.PathLike, not empty): ``what`` says what it names."""
    if isinstance(value, os.PathLike) and not isinstance(value, Path):
        value = os.fsdecode(os.fspath(value))
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise UsageError(f"{name} must be {what} (a str or a path), not {shown(value)}")
    return value


def device(name: str, value: object) -> str:
    """A device name, checked as `ganzoo run --device` checks it (cpu, cuda, cuda:N, mps, auto)."""
    from .settings import check_device

    if type(value).__name__ == "device" and type(value).__module__ == "torch":  # a torch.device is a name too
        value = str(value)
    if not isinstance(value, str):
        raise UsageError(f"{name} must be a device name such as 'cpu' or 'cuda', not {shown(value)}")
    return check_device(value, name)


def callback(name: str, value: _T) -> _T:
    """``value`` itself, when it is a function or None (its caller's annotation says which function)."""
    if value is not None and not callable(value):
        raise UsageError(f"{name} must be a function or None, not {shown(value)}")
    return value
