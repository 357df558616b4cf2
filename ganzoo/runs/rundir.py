"""The run folder: the one owner of its layout, of refusing to clobber, and of metrics.jsonl.

A run folder holds only these files of ganzoo's (`RunDir.owns` knows them by name)::

    config.toml                          the settings of the run's latest start (for people and `--config`)
    metrics.jsonl                        one JSON object per logged step or evaluation
    checkpoints/latest.safetensors       the latest checkpoint; step-NNNNNN.safetensors: kept ones
    samples/step-NNNNNN.png, epoch-NNN.png, progress.gif   the grids of the fixed noise, and all of them as a GIF
    samples/sample-SEED[-N].png          `ganzoo sample`'s default output

Anything else in the folder is the user's: it is never overwritten and `--overwrite` leaves it alone.

Which record is the truth of what ran: each checkpoint's own ``config`` metadata. It is written in the same
atomic write as the weights it describes, so `--resume`, `ganzoo sample` and `ganzoo eval` read it and
nothing else. config.toml is a copy for people and for repeating the run (`ganzoo run --config`): it is
rewritten at every start with the settings that start trains with (a resumed run's new ``--lr`` is applied
to the optimizer and recorded in both), and ganzoo never reads it back to continue or sample a run.

Temporary files are ``.<name>.tmp-<pid>`` beside their target (`temp_path`); those of a process that is no
longer alive (a kill -9 during a write) are removed at the next start (`RunDir.clean_stale`).

A run folder has one writer at a time: the process training in it holds ``.ganzoo.lock`` there (`RunLock`),
and another `ganzoo run` on the folder (``--resume``, ``--overwrite``, or the same ``--out``) is refused in one
line while it does.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..base.errors import CheckpointError, GanzooError, UsageError, WriteError
from .header import metadata_json, read_metadata

CONFIG_HEADER = "# ganzoo run config."  # the first line `ganzoo.config.config_toml` writes
LOCK_NAME = ".ganzoo.lock"  # held by the process writing the run (`RunLock`)
_TEMP = re.compile(r"^\..+\.tmp-(\d+)$")
_OWNED = {
    "": re.compile(r"^(metrics\.jsonl)$"),
    "checkpoints": re.compile(r"^(latest|step-\d{6,})\.safetensors$"),
    "samples": re.compile(r"^((epoch|step)-\d+\.png|progress\.gif|sample-\d+(-\d+)?\.png)$"),
}
_GRID = re.compile(r"^(epoch|step)-\d+\.png$")


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def latest(self) -> Path:
        return self.checkpoints / "latest.safetensors"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def gif(self) -> Path:
        return self.samples / "progress.gif"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME

    def kept(self, step: int) -> Path:
        return self.checkpoints / f"step-{step:06d}.safetensors"

    @staticmethod
    def grid_name(*, step: int | None = None, epoch: int | None = None) -> str:
        """A grid's file name in samples/: step-NNNNNN.png, or epoch-NNN.png when grids follow epochs."""
        return f"step-{step:06d}.png" if step is not None else f"epoch-{epoch:03d}.png"

    def sample_file(self, seed: int) -> Path:
        """`ganzoo sample`'s default output: samples/sample-SEED.png, or -2, -3, ... when that exists."""
        return fresh_path(self.samples, f"sample-{seed}", ".png")

    def grids(self) -> list[Path]:
        """Sample grids written so far (not `sample-*` from `ganzoo sample`), oldest first."""
        if not self.samples.is_dir():
            return []
        found = [p for p in self.samples.glob("*.png") if _GRID.match(p.name)]
        return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))

    # -- what the folder holds ----------------------------------------------------------------------

    def has_config(self) -> bool:
        """config.toml is ganzoo's own (a user's file of that name is not)."""
        try:
            with open(self.config, encoding="utf-8", errors="replace") as fh:
                return fh.readline().startswith(CONFIG_HEADER)
        except OSError:
            return False

    def owns(self, path: Path) -> bool:
        """``path`` (inside this folder) is one of ganzoo's files, by its name; config.toml only when ganzoo's."""
        try:
            rel = path.resolve().relative_to(self.root.resolve())
        except (ValueError, RuntimeError, OSError):  # RuntimeError, OSError: a symbolic-link loop is not ours
            return False
        parts = rel.parts
        if parts == ("config.toml",):
            return self.has_config()
        if parts == (LOCK_NAME,):
            return True
        if len(parts) not in (1, 2):
            return False
        folder, name = ("", parts[0]) if len(parts) == 1 else parts
        pattern = _OWNED.get(folder)
        return bool(pattern and (pattern.match(name) or _TEMP.match(name)))

    def is_run(self) -> bool:
        """ganzoo started a run here (its config.toml or a checkpoint is there)."""
        return self.latest.exists() or self.has_config()

    def trained(self) -> bool:
        """Some training happened here: metrics, grids or a checkpoint."""
        return self.metrics.exists() or self.latest.exists() or bool(self.grids())

    def _entries(self) -> Iterator[Path]:
        """What the folder holds, its lock left out (a folder with only a lock left by a crash is empty)."""
        entries = self.root.iterdir() if self.root.is_dir() else iter(())
        return (p for p in entries if p.name != LOCK_NAME)

    def clean_stale(self) -> list[Path]:
        """Remove temp files whose writer is gone (a kill -9 mid-write); returns them."""
        removed = []
        for folder in (self.root, self.checkpoints, self.samples):
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                m = _TEMP.match(p.name)
                if m and p.is_file() and not _alive(int(m.group(1))):
                    p.unlink(missing_ok=True)
                    removed.append(p)
        return removed

    def clear(self) -> None:
        """--overwrite: remove what ganzoo wrote here (by name), never other files."""
        for folder in (self.checkpoints, self.samples, self.root):
            if not folder.is_dir():
                continue
            for p in list(folder.iterdir()):
                if p.is_file() and self.owns(p) and p.name != LOCK_NAME:  # the lock is the clearing process's own
                    p.unlink()
            if folder != self.root and not any(folder.iterdir()):
                folder.rmdir()

    def _latest_records(self) -> tuple[dict[str, object], dict[str, object]]:
        """The latest checkpoint's ``config`` and ``meta`` tables, read from its header alone."""
        metadata = read_metadata(self.latest)
        return metadata_json(metadata, "config", self.latest), metadata_json(metadata, "meta", self.latest)

    def resume_base(self) -> dict[str, object]:
        """The config layer `--resume` starts from: the latest checkpoint's own config (see the module doc)."""
        check_target(self.root, resume=True, overwrite=False)
        config, meta = self._latest_records()
        base = {k: v for k, v in config.items() if k != "out"}
        if not base:
            raise CheckpointError(f"cannot resume: {self.latest} records no run config",
                                  "it was not written by `ganzoo run`")
        recipe = meta.get("recipe")
        if base.get("recipe") is None and isinstance(recipe, str):
            base["recipe"] = recipe
        return base

    def recorded_component(self, kind: str, name: str) -> dict[str, object] | None:
        """What the latest checkpoint recorded about the plugin behind a component (None if nothing)."""
        try:
            components = self._latest_records()[1].get("components")
        except GanzooError:
            return None
        entries = components.get(kind) if isinstance(components, dict) else None
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry
        return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


def check_out(out: str | None) -> None:
    """An explicit ``--out`` must name a folder: not empty, not the filesystem root."""
    if out is None:
        return
    if not out.strip():
        raise UsageError("--out is empty", "name a folder for the run, or leave --out out for runs/<name>-<time>")
    path = resolve_path(Path(out), "--out")
    if path == Path(path.anchor):
        raise UsageError(f"--out {out} is the filesystem root", "name a folder for the run")


def resolve_path(path: Path, flag: str = "--out") -> Path:
    """``path.resolve()``; a symbolic-link loop on the way (RuntimeError before Python 3.13, OSError after) is one
    WriteError line naming ``flag``, not a traceback."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        raise WriteError(f"cannot write {flag} {path}: a symbolic link loop is in the way",
                         "remove the link, or choose another place") from None


def check_target(path: Path, *, resume: bool, overwrite: bool, locked: bool = False) -> None:
    """Raise before anything is written: an existing run needs --resume or --overwrite; a user's folder is refused;
    a folder another process is writing is refused (``locked``: this process holds its lock, see `RunLock`)."""
    run = RunDir(path)
    holder = None if locked else RunLock(path).holder()
    if holder is not None:
        raise UsageError(f"{path} is in use: {holder} is writing it",
                         "a run folder has one writer at a time: wait for that run to end, or stop it (Ctrl-C) first")
    if resume:
        if not path.is_dir():
            raise UsageError(f"cannot resume: {path} is not a run folder")
        if not run.latest.exists():
            if run.trained() or run.is_run():
                raise CheckpointError(f"cannot resume: {path} holds no checkpoint: the run stopped before its first",
                                      f"start it again with: ganzoo run --config {run.config} --out {path} "
                                      f"--overwrite")
            raise CheckpointError(f"cannot resume: {path} holds no checkpoint (checkpoints/latest.safetensors)")
        return
    check_out(str(path))
    if path.exists() and not path.is_dir():
        raise UsageError(f"output {path} exists and is not a folder", "choose another --out")
    _check_writable(path)
    if not path.is_dir() or not any(run._entries()):
        return
    if run.latest.exists():
        if not overwrite:
            raise UsageError(f"{path} already holds a run", "pass --resume to continue it, --overwrite to replace "
                                                            "it, or choose another --out")
    elif run.is_run() and run.trained():
        if not overwrite:
            raise UsageError(f"{path} holds a run that stopped before its first checkpoint (nothing to resume)",
                             "pass --overwrite to start it again, or choose another --out")
    elif not run.is_run():
        first = sorted(p.name for p in run._entries())[0]
        raise UsageError(f"{path} is not empty and holds no ganzoo run (it has {first})",
                         "choose a new or empty folder for --out; ganzoo never writes over files it did not make")


def _check_writable(path: Path) -> None:
    """Fail fast, before anything slow is built: the nearest existing folder must be a writable folder."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise WriteError(f"cannot create {path}: {probe} is a file", "a file is in the way: choose another --out")
    if probe.is_dir() and not os.access(probe, os.W_OK):
        raise WriteError(f"cannot write in {probe}: permission denied or read-only", "choose another --out")


# -- one writer per run folder -----------------------------------------------------------------------

class RunLock:
    """``.ganzoo.lock`` in a run folder, held while a process writes the run; it records who (pid, host, start).

    Why `fcntl.flock` and not an O_EXCL file with a pid check: the kernel lets go of a flock however its
    process ends (kill -9, the OOM killer, a crash), so a dead run never holds a folder and nothing guesses
    from a pid whether its owner lives (pids are reused, and another host's pid says nothing here). The pid
    and host written into the file only name the holder in the refusal; a file left by a process that died
    without removing it is not locked, and is taken over with a one-line note. Where flock does not exist
    (Windows) or the filesystem refuses it, a run goes on unlocked, as before.
    """

    def __init__(self, root: Path):
        self.path = Path(root) / LOCK_NAME
        self._fd: int | None = None

    def holder(self) -> str | None:
        """Who holds the lock now ("ganzoo process 123 on host h since ..."), None when nobody does."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            if _try_lock(fd):
                return None  # nobody holds it (a lock file of a process that is gone); released with fd
            return _describe_holder(_read_fd(fd))
        finally:
            os.close(fd)

    def acquire(self, note: Callable[[str], object] | None = None) -> RunLock:
        """Take the lock (the folder exists); UsageError (one line) while another process holds it.

        ``note``: called with the one line saying a dead process's lock was taken over.
        """
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise WriteError.from_os(exc, self.path) from None
            try:
                locked = _try_lock(fd)
            except BaseException:
                os.close(fd)
                raise
            if not locked:
                who = _describe_holder(_read_fd(fd))
                os.close(fd)
                raise UsageError(f"{self.path.parent} is in use: {who} is writing it", "a run folder has one "
                                 "writer at a time: wait for that run to end, or stop it (Ctrl-C) first")
            try:  # the holder before us unlinks the file as it lets go: the locked file must still be the path's
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if same:
                break
            os.close(fd)
        self._fd = fd
        previous = _read_fd(fd)
        if previous.strip() and note is not None:
            note(f"note: {self.path.parent}: took over the lock of {_describe_holder(previous)}, which ended "
                 f"without releasing it")
        record = f"{os.getpid()} {socket.gethostname()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, record, 0)
        except OSError:
            pass  # the record only names the holder in another process's refusal; the flock is what counts
        return self

    def release(self) -> None:
        """Remove the file and let go (in that order: see `acquire`); the folder is free for the next writer."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
        os.close(fd)


def _try_lock(fd: int) -> bool:
    """Take ``fd``'s exclusive flock without waiting: False when another open file holds it."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock, no lock
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a filesystem without locks (ENOLCK, EINVAL): go on unlocked rather than refuse every run
        return True
    return True


def _read_fd(fd: int) -> str:
    try:
        return os.pread(fd, 256, 0).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _describe_holder(record: str) -> str:
    fields = record.split()
    if len(fields) < 2:
        return "another process"
    since = f" since {fields[2]}" if len(fields) > 2 else ""
    return f"ganzoo process {fields[0]} on {fields[1]}{since}"


# -- atomic writes ---------------------------------------------------------------------------------

def temp_path(path: Path) -> Path:
    """The temp file a write of ``path`` goes through (see `RunDir.clean_stale`)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def make_parent(path: Path) -> None:
    """Create ``path``'s folder; WriteError naming the file in the way when there is one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), path.parent)
        raise WriteError(f"cannot write {path}: {blocker} is a file", "a file is in the way: choose another place") \
            from None
    except OSError as exc:
        raise WriteError.from_os(exc, path) from None


def write_atomic(path: Path, data: bytes) -> None:
    """Write a temp file in the same folder, fsync, rename: ``path`` is the old file or the new, never half.

    WriteError (one line, the path and the OS reason) when the disk is full, read-only, ...
    """
    make_parent(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise WriteError.from_os(exc, path) from None
    finally:
        _discard(tmp)
    fsync_folder(path.parent)


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


def fsync_folder(folder: Path) -> None:
    """Make a rename durable (best effort: not every filesystem can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


# -- metrics.jsonl ---------------------------------------------------------------------------------

def _clean(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


class MetricsLog:
    """Appends one JSON object per logged step to metrics.jsonl (flushed each line)."""

    def __init__(self, path: Path):
        self.path = path
        self._fh: IO[str] | None = None

    def write(self, row: dict[str, object]) -> None:
        try:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.path, "a", encoding="utf-8")
            self._fh.write(json.dumps({k: _clean(v) for k, v in row.items()}) + "\n")
            self._fh.flush()
        except OSError as exc:
            raise WriteError.from_os(exc, self.path) from None

    def close(self) -> None:
        """Flush to disk; a failure here is not reported (each line was flushed, and an error may be on its way)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            fh.flush()
            os.fsync(fh.fileno())
        except OSError:
            pass
        finally:
            try:
                fh.close()
            except OSError:
                pass

    def truncate_after(self, step: int) -> None:
        """On resume: drop lines logged after the checkpoint's step (they will be logged again), and unreadable ones."""
        if not self.path.exists():
            return
        keep = []
        for line in _lines(self.path):
            try:
                if int(json.loads(line).get("step", 0)) <= step:
                    keep.append(line)
            except (ValueError, AttributeError, TypeError):
                continue
        write_atomic(self.path, "".join(line + "\n" for line in keep).encode("utf-8"))


def _lines(path: Path) -> list[str]:
    try:
        # a byte that is not UTF-8 spoils its line only (json.loads refuses the replacement character's line)
        return path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None


# Any: a row is whatever JSON object the run logged (a key for every loss term), and its readers elsewhere take
# numbers and the ``eval`` table out of it, checking them in ways mypy cannot follow
def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """metrics.jsonl (or a run folder's) as rows; CheckpointError naming the line of anything not a JSON object."""
    p = Path(path)
    if p.is_dir():
        p = RunDir(p).metrics
    rows = []
    for n, line in enumerate(_lines(p), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict):
            raise CheckpointError(f"{p}:{n}: not a metrics line (a JSON object)", "the run folder is damaged")
        rows.append(row)
    return rows


def fresh_path(parent: Path, stem: str, suffix: str = "") -> Path:
    """``parent/stem+suffix``, or ``stem-2``, ``stem-3``, ... when that exists: a new name never overwrites."""
    path, n = parent / f"{stem}{suffix}", 2
    while path.exists():
        path, n = parent / f"{stem}-{n}{suffix}", n + 1
    return path


def default_name(base: str, parent: Path | str = "runs") -> Path:
    return fresh_path(Path(parent), f"{base}-{time.strftime('%Y%m%d-%H%M%S')}")


def check_output(out: Path, force: bool) -> None:
    """Refuse a file to write (a sample grid, a walk) that would replace a run's own file, or any existing
    file without ``force``."""
    where = resolve_path(out, "--out")  # a symbolic-link loop: one line
    for folder in list(where.parents)[:3]:
        run = RunDir(folder)
        if not run.is_run():
            continue
        if where.parent == run.checkpoints.resolve() or (run.owns(where) and not where.name.startswith("sample-")):
            raise UsageError(f"--out {out} would replace a file of the run in {folder}",
                             "write samples outside its checkpoints/ (e.g. --out samples.png)")
    if out.exists() and not force:
        raise UsageError(f"--out {out} exists", "pass --force to replace it, or choose another file")
