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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..base.errors import UsageError

#: the progress modes `ganzoo.train` and the trainer take (`ganzoo.training.progress.Reporter`)
PROGRESS = ("auto", "bar", "plain", "quiet")
#: the ways an image-to-image run translates
DIRECTIONS = ("AtoB", "BtoA")
#: the fewest samples (or inputs) evaluation scores: `ganzoo eval --num` takes no fewer either
EVAL_MIN_NUM = 10
#: torch seeds are signed 64-bit; evaluation adds small offsets to the seed it is given
SEED_LIMIT = 2**62


def shown(value: Any) -> str:
    """``value`` as a message shows it: its repr, with its type when the repr does not say (5, not '5')."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, (str, bool, type(None))):
        return text
    return f"{text} ({type(value).__name__})"


def is_int(value: Any) -> bool:
    """An integer that is not a bool (numpy's integers count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(name: str, value: Any, *, minimum: int | None = None) -> int:
    """``value`` as an int when it is an integer of at least ``minimum``; else one line."""
    if not is_int(value) or (minimum is not None and value < minimum):
        need = f"an integer >= {minimum}" if minimum is not None else "an integer"
        raise UsageError(f"{name} must be {need}, not {shown(value)}")
    return int(value)


def optional_integer(name: str, value: Any, *, minimum: int, none: str) -> int | None:
    """None (``none`` says what it means) or an integer of at least ``minimum``."""
    if value is not None and (not is_int(value) or value < minimum):
        raise UsageError(f"{name} must be an integer >= {minimum}, or None for {none}; not {shown(value)}")
    return None if value is None else int(value)


def seed(name: str, value: Any) -> int:
    if not is_int(value) or not -SEED_LIMIT < value < SEED_LIMIT:
        raise UsageError(f"{name} must be an integer (|{name}| < 2**62), not {shown(value)}")
    return int(value)


def flag(name: str, value: Any) -> bool:
    """True or False only: ``resume="no"`` is truthy, and would resume."""
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False, not {shown(value)}")
    return value


def one_of(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise UsageError(f"{name} must be one of {', '.join(choices)}, not {shown(value)}")
    return value


def text(name: str, value: Any, *, optional: bool = False, what: str = "a name") -> str | None:
    """A non-empty string (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{name} must be {what}{' or None' if optional else ''}, not {shown(value)}")
    return value


def path(name: str, value: Any, *, what: str) -> str | Path:
    """A path (str or os.PathLike, not empty): ``what`` says what it names."""
    if isinstance(value, os.PathLike) and not isinstance(value, Path):
        value = os.fsdecode(os.fspath(value))
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise UsageError(f"{name} must be {what} (a str or a path), not {shown(value)}")
    return value


def device(name: str, value: Any) -> str:
    """A device name, checked as `ganzoo run --device` checks it (cpu, cuda, cuda:N, mps, auto)."""
    from .settings import check_device

    if type(value).__name__ == "device" and type(value).__module__ == "torch":  # a torch.device is a name too
        value = str(value)
    if not isinstance(value, str):
        raise UsageError(f"{name} must be a device name such as 'cpu' or 'cuda', not {shown(value)}")
    return check_device(value, name)


def callback(name: str, value: Any) -> Callable[..., Any] | None:
    if value is not None and not callable(value):
        raise UsageError(f"{name} must be a function or None, not {shown(value)}")
    return value
