"""What `ganzoo explore`'s page can ask for, as plain Python: no web framework here (see `ganzoo.explore`).

Generators are named by an id the page sends back: ``pretrained/NAME`` (a recipe that ships its trained
generator), ``run/REL`` (a run folder REL under the runs folder) and ``given/I`` (the I-th RUN_OR_NAME of
the command line). A ``run/`` id is the one place a path comes from the page, so `Zoo.run_folder` alone
turns it into a folder, and refuses anything that does not end up under the runs folder once resolved:
an absolute path, ``..``, a symbolic link out. Nothing else from the page names a file.

Every user mistake is a `ganzoo.errors.GanzooError`, whose one line the page shows.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..base.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor

    from ..plugin.registry import Registry
    from ..runs.trained import Trained

#: the largest upload read, in bytes: a 28 px digit needs a few kB, a phone photo a few MB
MAX_UPLOAD = 8 * 1024 * 1024
#: the largest picture decoded, in pixels: far below `ganzoo.images.MAX_PIXELS` (80 M), since a small PNG can
#: declare a huge image (a "bomb": a few kB that decode to gigabytes), and a page has no use for one
MAX_UPLOAD_PIXELS = 16_000_000
#: how deep under the runs folder runs are looked for (runs/NAME, runs/GROUP/NAME, ...)
RUN_DEPTH = 3
#: generators held in memory at once (a shipped MNIST generator is a few MB)
CACHE = 8
#: the frames of a walk the page asks for at most (`ganzoo.runs.walk.MAX_FRAMES` is the command line's bound)
PAGE_FRAMES = 120


@dataclass(frozen=True)
class Entry:
    """One generator the page lists."""

    id: str
    name: str
    group: str  # "pretrained", "runs" or "given"
    target: str  # what `ganzoo.load` takes
    command: str  # what `ganzoo sample` takes to draw the same thing
    run: Path | None  # the run folder, for curves and evaluations; None for shipped weights

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "group": self.group, "command": self.command,
                "is_run": self.run is not None}


def png(images: Tensor, nrow: int) -> bytes:
    """Model-range or uint8 images (N, C, H, W) as the PNG grid `ganzoo sample` writes, in memory."""
    from ..runs.images import grid_tensor, to_pil

    buffer = io.BytesIO()
    to_pil(grid_tensor(images, nrow)).save(buffer, format="PNG")
    return buffer.getvalue()


def _shown(value: float) -> float | None:
    return value if math.isfinite(value) else None


class Zoo:
    """The generators the page offers, loaded on first use and kept (`CACHE` of them), and what it does with them.

    Not thread-safe on its own: the server calls it from one thread at a time (`lock`), which is also what
    two shared CPU cores can do.
    """

    def __init__(self, runs: str | Path = "runs", given: Sequence[str] = (), registry: Registry | None = None):
        from ..plugin.manager import get_registry
        from ..runs.pretrained import resolve

        self.runs = Path(runs)
        self.registry = registry or get_registry()
        self.lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str | None, int], Trained] = OrderedDict()
        self.given: list[Entry] = []
        for i, arg in enumerate(given):
            resolve(arg, self.registry)  # one line now, before the server starts, for a name that is neither
            path = Path(arg)
            is_path = path.exists()
            self.given.append(Entry(f"given/{i}", path.name if is_path else arg, "given", arg, arg,
                                    (path if path.is_dir() else None) if is_path else None))

    # -- what is listed ---------------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """The given ones, every pretrained generator, and every run under the runs folder (read afresh:
        runs appear while the page is open)."""
        shipped = [Entry(f"pretrained/{s.name}", s.name, "pretrained", s.name, s.name, None)
                   for s in sorted(self.registry.all_pretrained(), key=lambda s: s.name)]
        return self.given + shipped + self._runs()

    def _runs(self) -> list[Entry]:
        from ..runs.rundir import RunDir

        if not self.runs.is_dir():
            return []
        root = self.runs.resolve()
        found: list[Entry] = []
        for folder, dirs, _ in os.walk(root):  # symbolic links to folders are not followed
            here = Path(folder)
            depth = len(here.relative_to(root).parts)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < RUN_DEPTH)
            if here != root and RunDir(here).is_run():
                rel = here.relative_to(root).as_posix()
                found.append(Entry(f"run/{rel}", rel, "runs", str(here), str(self.runs / rel), here))
                dirs[:] = []  # a run's own folders hold no runs
        return found

    def entry(self, id: str) -> Entry:
        """The entry of ``id``; UsageError for an id that names nothing the page may show."""
        if not isinstance(id, str) or not id:
            raise UsageError("no generator chosen", "pick one in the list")
        kind, _, rest = id.partition("/")
        if kind == "run":
            folder = self.run_folder(rest)
            rel = folder.relative_to(self.runs.resolve()).as_posix()
            return Entry(f"run/{rel}", rel, "runs", str(folder), str(self.runs / rel), folder)
        if kind == "pretrained" and self.registry.pretrained(rest) is not None:
            return Entry(id, rest, "pretrained", rest, rest, None)
        if kind == "given":
            for entry in self.given:
                if entry.id == id:
                    return entry
        raise UsageError(f"no generator {id!r} here", "pick one in the list")

    def run_folder(self, rel: str) -> Path:
        """The run folder ``rel`` names under the runs folder, resolved; UsageError for anything else."""
        from ..runs.rundir import RunDir

        refused = UsageError(f"{rel!r} is not a run under {self.runs}", "pick one in the list")
        pure = PurePosixPath(rel)
        if not rel or "\\" in rel or "\x00" in rel or pure.is_absolute() or ".." in pure.parts:
            raise refused
        root = self.runs.resolve()
        try:
            folder = (root / pure).resolve(strict=True)  # a symbolic link is followed here, and then judged
            folder.relative_to(root)
        except (OSError, RuntimeError, ValueError):  # missing, a link loop, or outside the runs folder
            raise refused from None
        if not folder.is_dir() or not RunDir(folder).is_run():
            raise refused
        return folder

    # -- generators -------------------------------------------------------------------------------------------

    def generator(self, id: str, direction: str | None = None) -> Trained:
        """The loaded generator of ``id``, from memory when it was loaded before (and its run has not written a
        newer checkpoint since)."""
        import ganzoo

        from ..runs.rundir import RunDir

        entry = self.entry(id)
        stamp = 0
        if entry.run is not None:
            try:
                stamp = RunDir(entry.run).latest.stat().st_mtime_ns
            except OSError:
                stamp = 0
        key = (entry.id, direction, stamp)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        # a direction is an option of the readers of models that translate both ways: the others take none
        loaded = ganzoo.load(entry.target) if direction is None else ganzoo.load(entry.target, direction=direction)
        self._cache[key] = loaded
        while len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return loaded

    def describe(self, id: str) -> dict[str, Any]:
        """What the page needs to draw its controls: what the generator takes, classes, declared options."""
        from ..base.specs import SAMPLING_OPTIONS

        entry = self.entry(id)
        loaded = self.generator(id)
        data, controls = loaded.data, loaded.controls()
        options = []
        for name in controls.sampling:
            o = SAMPLING_OPTIONS[name]
            # a slider needs two ends: a threshold without an upper bound gets 3 (a normal's values lie within)
            high = o.high if math.isfinite(o.high) else 3.0
            options.append({"name": o.name, "flag": o.flag, "what": o.what, "meaning": o.meaning,
                            "low": o.low, "high": _shown(o.high), "low_open": o.low_open,
                            "slider": [o.low + (0.05 if o.low_open else 0.0), high]})
        classes = data.num_classes or 0
        names = list(data.class_names) if data.class_names else [str(k) for k in range(classes)]
        source = controls.source
        return {**entry.to_json(), "generator": loaded.config.gen["name"], "step": loaded.step, "ema": loaded.ema,
                "takes": controls.takes, "modality": data.modality,
                "shape": list(data.shape), "conditional": controls.conditional,
                "classes": names if controls.conditional else [], "options": options,
                "directions": list(controls.directions),
                "source": list(source.shape) if source is not None else None}

    def grid(self, id: str, seed: int = 0, label: int | None = None, truncation: float | None = None) -> bytes:
        """The PNG `ganzoo sample COMMAND --seed SEED [--label L] [--truncation T]` writes."""
        from ..runs.images import scatter

        loaded = self._noise(id)
        drawing = loaded.draw(None, seed, loaded.accept({"label": label, "truncation": truncation}))
        if loaded.data.is_image:
            return png(drawing.picture, drawing.nrow)
        with tempfile.TemporaryDirectory(prefix="ganzoo-explore-") as tmp:  # scatter draws to a file
            return scatter(drawing.picture, Path(tmp) / "points.png").read_bytes()

    def walk(self, id: str, seed_a: int, seed_b: int, frames: int = 24, label: int | None = None,
             truncation: float | None = None, fmt: str = "GIF") -> bytes:
        """`ganzoo sample COMMAND --walk A B --frames N`'s animation (GIF or WEBP)."""
        from ..runs.walk import animation, walk

        if not 1 <= frames <= PAGE_FRAMES:
            raise UsageError(f"frames must be 1..{PAGE_FRAMES}, not {frames}")
        if fmt not in ("GIF", "WEBP"):
            raise UsageError(f"format must be gif or webp, not {fmt.lower()}")
        images = walk(self._noise(id), seed_a, seed_b, frames, label, truncation)
        return animation(images, fmt)

    def _noise(self, id: str) -> Trained:
        loaded = self.generator(id)
        if loaded.controls().takes != "noise":
            raise UsageError(f"generator {loaded.config.gen['name']!r} translates images: draw on the canvas "
                             "or upload a picture")
        return loaded

    def translate(self, id: str, data: bytes, direction: str | None = None, seed: int = 0) -> bytes:
        """A picture (the bytes of a PNG, JPEG, WebP or BMP) translated: the output as a PNG. The picture is
        read as `ganzoo sample --input` reads one (`ganzoo.images.load_image`, then centre-cropped and resized
        to the generator's input). ``direction``: one of the model's `Controls.directions` (None: its default)."""
        import torch

        from ..runs.images import fit_image

        if direction is not None:
            directions = self.generator(id).controls().directions
            if direction not in directions:
                raise UsageError(f"direction must be one of {', '.join(directions) or 'none'}, not {direction!r}")
        loaded = self.generator(id, direction)
        source = loaded.controls().source
        if source is None:
            raise UsageError(f"generator {loaded.config.gen['name']!r} draws from noise; it takes no pictures")
        channels, height, width = (int(s) for s in source.shape)
        array = read_upload(data, channels)
        image = torch.from_numpy(array.copy())
        image = image.unsqueeze(0) if image.dim() == 2 else image.permute(2, 0, 1)
        inputs = fit_image(image, height, width)[None]
        return png(loaded.translate(inputs, seed), 1)

    # -- runs -------------------------------------------------------------------------------------------------

    def curves(self, id: str) -> bytes:
        """The PNG `ganzoo plot RUN` draws (its curves beside its latest grid)."""
        from ..runs.plotting import Curves, pyplot, run_figure
        from ..runs.rundir import RunDir, read_metrics

        entry = self.entry(id)
        if entry.run is None:
            raise UsageError(f"{entry.name} is a pretrained generator: it has no curves here",
                             "its measured row is in docs/zoo.md")
        rundir = RunDir(entry.run)
        if not rundir.metrics.is_file():
            raise UsageError(f"{entry.name} holds no metrics.jsonl yet")
        curves = Curves.from_rows(entry.name, read_metrics(rundir.metrics))
        if not curves.losses and not curves.evals:
            raise UsageError(f"{entry.name} has no logged step yet")
        grids = rundir.grids()
        notes: list[str] = []
        fig = run_figure(curves, grids[-1] if grids else None, note=notes.append)
        buffer = io.BytesIO()
        try:
            fig.savefig(buffer, format="png", dpi=80)
        finally:
            pyplot().close(fig)
        return buffer.getvalue()

    def evaluation(self, id: str) -> dict[str, Any]:
        """The last evaluation: a run's last ``eval`` line of metrics.jsonl, or what a pretrained file records."""
        from ..runs.pretrained import recorded_metrics, resolve
        from ..runs.rundir import RunDir, read_metrics

        entry = self.entry(id)
        if entry.run is None:
            try:
                recorded = recorded_metrics(resolve(entry.target, self.registry))
            except (OSError, ValueError):
                recorded = {}
            return {"step": recorded.get("step"), "metrics": _numbers(recorded), "source": "recorded with the file"}
        path = RunDir(entry.run).metrics
        rows = read_metrics(path) if path.is_file() else []
        last = next((r for r in reversed(rows) if isinstance(r.get("eval"), dict)), None)
        if last is None:
            return {"step": None, "metrics": {}, "source": "no evaluation yet (ganzoo run --eval-every N)"}
        return {"step": last.get("step"), "metrics": _numbers(last["eval"]), "source": "metrics.jsonl"}


def _numbers(table: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of an evaluation, by name (nested tables flattened as ``a.b``)."""
    out: dict[str, float] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in _numbers(value).items()})
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = float(value)
    return out


def read_upload(data: bytes, channels: int) -> Any:
    """An uploaded picture as uint8 (H, W) or (H, W, 3), read by `ganzoo.images.load_image` (16-bit scaled,
    alpha dropped, colour converted); one line (`UsageError`) for anything else: too big, not a picture."""
    from PIL import Image

    from ..runs.images import ImageTooLarge, load_image

    if len(data) > MAX_UPLOAD:
        raise UsageError(f"the picture is {len(data) / 1e6:.1f} MB; at most {MAX_UPLOAD // 2**20} MiB is read")
    if not data:
        raise UsageError("the upload is empty", "choose a PNG, JPEG, WebP or BMP file")
    with tempfile.TemporaryDirectory(prefix="ganzoo-upload-") as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(data)
        try:
            with warnings.catch_warnings():  # the size is checked here; Pillow's bomb warning would say it again
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as probe:  # the header only: nothing is decoded yet
                    width, height = probe.size
            if width * height > MAX_UPLOAD_PIXELS:
                raise UsageError(f"the picture is {width}x{height} pixels; at most "
                                 f"{MAX_UPLOAD_PIXELS // 1_000_000} megapixels are read", "scale it down first")
            return load_image(path, channels)
        except UsageError:
            raise
        except (ImageTooLarge, Image.DecompressionBombError) as exc:
            raise UsageError(f"the picture is too large to read ({exc})".replace(str(path), "upload"),
                             "scale it down first") from None
        except Exception:  # Pillow raises many types for what is not a picture it can read
            raise UsageError("the upload is not a picture ganzoo can read",
                             "choose a PNG, JPEG, WebP or BMP file") from None
