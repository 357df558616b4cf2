"""Errors a user can cause. The CLI turns each into one line on stderr and an exit code.

The exit codes live here, one per class, and nowhere else; README.md's "Exit
codes" table lists the same numbers (tests/test_exit_codes.py holds them
together). 130 and 143 (SIGINT, SIGTERM) are set by the CLI and the trainer.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class GanzooError(Exception):
    """Base class: ``str(err)`` is the one line the user sees; ``hint`` is appended."""

    #: 1 is also what Python exits with on an uncaught exception: a bug in ganzoo or a plugin
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(GanzooError):
    """Bad names, bad specs, bad flags: the user typed something wrong."""

    exit_code = 2


class UnknownNameError(UsageError):
    """``registered_as``: the other kinds that do have this name (``--gen bce``: bce is a loss)."""

    def __init__(self, kind: str, name: str, choices: Iterable[str], *, registered_as: Iterable[str] = ()):
        choices = sorted(set(choices))
        # names are lowercase, so a capitalised name finds its match too (DCGAN -> dcgan)
        close = difflib.get_close_matches(name.lower(), choices, n=1, cutoff=0.5)
        others = list(registered_as)
        if others:
            hint = f"{name!r} is a {' and a '.join(others)}, not a {kind}"
        elif close:
            hint = f"did you mean {close[0]}?"
        elif choices:
            hint = "choose from: " + ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
        else:
            hint = "none is registered; see `ganzoo plugins`"
        super().__init__(f"unknown {kind} {name!r}", hint)
        self.kind, self.name, self.suggestion = kind, name, close[0] if close else None


class ConfigError(UsageError):
    """A malformed registry.toml, config.toml or --set value."""


class ParamError(UsageError):
    """A component parameter the user gave is unknown, of the wrong type or out of its declared range."""


class UnsupportedDataError(UsageError, ValueError):
    """A component cannot be built for this data (image size, points for a convolutional model, no labels).

    A ValueError too, so plugin code written against the older ``ganzoo.nn``
    helpers (which raised ValueError) still catches it.
    """


class DataError(GanzooError):
    """A dataset is missing, empty or unreadable."""

    exit_code = 3


class CheckpointError(GanzooError):
    """A checkpoint is missing, corrupt or does not match the composition."""

    exit_code = 4


class ComponentError(GanzooError):
    """A component failed to build or broke its contract (names the plugin)."""

    exit_code = 5


class DuplicateNameError(ComponentError):
    """Two plugins registered the same kind and name."""


class TrainingError(GanzooError):
    """Training had to stop (a non-finite loss, say)."""

    exit_code = 6


class WriteError(GanzooError):
    """A file or folder could not be written (disk full, read-only, a path below a file); names the path.

    `from_os` is the one place an OSError from a write becomes a user's line (the path and the OS reason).
    """

    exit_code = 7

    @classmethod
    def from_os(cls, exc: OSError, path: object = None, what: str = "write") -> WriteError:
        import errno

        hints = {errno.ENOSPC: "free some space or choose another place", errno.EDQUOT: "free some space or "
                 "choose another place", errno.EROFS: "the filesystem is read-only: choose another place",
                 errno.EACCES: "choose a folder you can write to", errno.EPERM: "choose a folder you can write to",
                 errno.ENOTDIR: "a file is in the way: choose another place",
                 errno.EISDIR: "a folder is in the way: choose another name"}
        where = path if path is not None else exc.filename  # the file meant, not the temp file it went through
        return cls(f"cannot {what} {where}: {exc.strerror or exc}", hints.get(exc.errno or 0))


#: What ganzoo catches around a plugin's code: every exception, and ``sys.exit()`` too (SystemExit, and
#: GeneratorExit, are BaseExceptions that ``except Exception`` lets through). A plugin never ends the process:
#: its exit is its failure, reported like any other. KeyboardInterrupt is not here: a Ctrl-C is the user's.
PLUGIN_FAULTS: tuple[type[BaseException], ...] = (Exception, SystemExit, GeneratorExit)


def describe(exc: BaseException) -> str:
    """What a plugin's failure was, for the one line that reports it: ``KeyError: 'x'``, ``it called sys.exit(7)``."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


#: the hint for a plugin that ended the process instead of raising
EXIT_HINT = "a plugin must raise an exception, not end the process; report it to the plugin's authors"


@contextmanager
def plugin_code(who: str, doing: str) -> Iterator[None]:
    """Run a component's own code (a loaded generator's forward, say): its failure, ``sys.exit()`` included, is
    one `ComponentError` line naming ``who`` and what it was ``doing``; ganzoo's own errors pass as they are."""
    try:
        yield
    except GanzooError:
        raise
    except PLUGIN_FAULTS as exc:
        raise ComponentError(f"{who} failed {doing}: {describe(exc)}",
                             EXIT_HINT if isinstance(exc, SystemExit) else None) from exc
