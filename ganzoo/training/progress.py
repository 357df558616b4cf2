"""What a run prints: a rich progress bar on a terminal, plain lines otherwise, and the summary."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    import torch

    from ..config.runconfig import RunConfig
    from .assemble import Parts
    from .distributed import DistEnv
    from .results import TrainResult



def _fmt(v: object, digits: int = 4) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.{digits}g}"
    return str(v)


def _eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def describe_row(row: Mapping[str, float]) -> str:
    """The losses and D's scores of one metrics row, as one short line."""
    parts = [f"D {_fmt(row.get('d_loss'))}", f"G {_fmt(row.get('g_loss'))}"]
    if "d_real_prob" in row:
        parts.append(f"D(x) {row['d_real_prob']:.3f} ({_fmt(row.get('d_real'), 3)})")
        parts.append(f"D(G(z)) {row['d_fake_prob']:.3f} ({_fmt(row.get('d_fake'), 3)})")
    return "  ".join(parts)


def describe_eval(row: Mapping[str, object]) -> str:
    """An evaluation line of metrics.jsonl as one short line of headline numbers: each registered metric's keys
    that declare a ``brief`` name (`ganzoo.specs.MetricKey`), in registration order (FD beside its floor)."""
    from ..plugin.manager import get_registry

    numbers = row.get("eval", {})
    m: Mapping[str, object] = numbers if isinstance(numbers, Mapping) else {}  # a line without numbers says nothing
    pixels = row.get("feature_space") == "pixels"  # the weak fallback space is named; a classifier's is not
    parts, seen = [], set()
    for spec in get_registry().metrics():
        for key in spec.metric.keys if spec.metric is not None else ():
            value = m.get(key.key)
            if not key.brief or key.key in seen or not isinstance(value, (int, float)):
                continue
            seen.add(key.key)
            text = key.brief_fmt.format(value)
            if key.total:
                text += f"/{m.get(key.total, '?')}"
            floor = m.get(f"{key.key}_floor")
            if key.brief_floor and isinstance(floor, (int, float)):
                text += f" (floor {key.brief_fmt.format(floor)})"
            parts.append(f"{key.brief}{'-pixels' if key.in_space and pixels else ''} {text}")
    return " · ".join(parts)


def header(config: RunConfig, parts: Parts, root: Path, total: int, resumed_at: int | None, env: DistEnv,
           device: torch.device) -> str:
    """The two lines a run starts with: what trains on what, where to, and how."""
    from ..components.device import device_label

    cfg, t = config, config.settings
    world = f" x {env.world_size} processes" if env.enabled else ""
    verb = f"resuming at step {resumed_at}" if resumed_at is not None else "training"
    return (f"{verb} ({cfg.algo.get('name', '?')}): {cfg.gen['name']} / {cfg.disc['name']} with loss "
            f"{cfg.loss['name']} on "
            f"{cfg.dataset['name']} {tuple(parts.info.shape)} -> {root}\n"
            f"  {total} steps ({parts.feed.steps_per_epoch}/epoch), batch {t.batch_size}{world}, "
            f"n_critic {parts.loss.n_critic}, {device_label(device)}"
            + (", bf16 autocast" if t.amp and device.type == "cuda" else ""))


class Reporter:
    """Progress while training. ``mode``: bar | plain | quiet (``auto``: bar on a terminal or in Jupyter, where
    rich draws it as a live cell output; plain lines when the output is a file or a pipe)."""

    def __init__(self, mode: str = "auto", console: Console | None = None):
        from ..base.console import console as default_console

        self.console = console or default_console
        if mode == "auto":
            mode = "bar" if self.console.is_terminal or self.console.is_jupyter else "plain"
        self.mode = mode
        self._bar: Progress | None = None
        self._task: TaskID = TaskID(0)
        self.total = 0
        self.start_step = 0
        self._t0 = time.perf_counter()

    def start(self, total: int, start_step: int, header: str) -> None:
        self.total, self.start_step = total, start_step
        self._t0 = time.perf_counter()
        if self.mode == "quiet":
            return
        self.console.print(header, highlight=False, soft_wrap=True, markup=False)  # paths and names: not markup
        if self.mode == "bar":
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

            bar = self._bar = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                                       TextColumn("{task.fields[losses]}"), TextColumn("{task.fields[speed]}"),
                                       TimeRemainingColumn(), console=self.console, transient=False)
            self._task = bar.add_task("train", total=total, completed=start_step, epoch="-",
                                            losses="", speed="")
            bar.start()

    def advance(self, step: int, epoch: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=step, epoch=epoch)

    def log(self, row: Mapping[str, float]) -> None:
        speed = f"{row.get('images_per_sec', 0):.0f} img/s"
        if self._bar is not None:
            self._bar.update(self._task, completed=row["step"], epoch=row["epoch"], losses=describe_row(row),
                             speed=speed)
        elif self.mode == "plain":
            done = row["step"] - self.start_step
            elapsed = time.perf_counter() - self._t0
            eta = elapsed / done * (self.total - row["step"]) if done > 0 else float("nan")
            width = len(str(self.total))
            self.console.print(f"step {row['step']:>{width}}/{self.total} epoch {row['epoch']}  "
                               f"{describe_row(row)}  {speed}  eta {_eta(eta)}", highlight=False, soft_wrap=True)

    def note(self, message: str) -> None:
        if self.mode == "quiet":
            return
        self.console.print(message, highlight=False, soft_wrap=True, markup=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def print_summary(result: TrainResult, console: Console | None = None, rich_output: bool | None = None) -> None:
    """Where everything is, the final losses, speed and how to sample."""
    from ..base.console import console as default_console

    console = console or default_console
    rich_output = console.is_terminal if rich_output is None else rich_output
    rows: list[tuple[str, str]] = [("run", str(result.run_dir))]
    if result.interrupted:
        rows.append(("stopped", f"{result.interrupted} at step {result.step}"))
    else:
        rows.append(("steps", f"{result.step} (epoch {result.epoch})"))
    for label, value in (("checkpoint", result.checkpoint), ("samples", result.last_grid),
                         ("gif", result.gif), ("metrics", result.metrics_path)):
        if value is not None:
            rows.append((label, str(value)))
    if result.final:
        losses = "  ".join(f"{k} {_fmt(v)}" for k, v in result.final.items()
                           if k in ("d_loss", "g_loss") or "/" in k)
        rows.append(("losses", losses))
        if "d_real_prob" in result.final:
            rows.append(("D(x) / D(G(z))", f"{result.final['d_real_prob']:.3f} / {result.final['d_fake_prob']:.3f}"))
    evaluation = getattr(result, "evaluation", None)
    if evaluation:
        rows.append((f"eval (step {evaluation['step']})", describe_eval(evaluation)))
    rows.append(("speed", f"{result.images_per_sec:.0f} images/s"))
    rows.append(("wall time", f"{result.wall_time:.1f} s"))
    if result.checkpoint is not None:
        rows.append(("sample with", result.sample_command))
        if result.interrupted:
            rows.append(("resume with", f"ganzoo run --resume {result.run_dir}"))
    if rich_output:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for k, v in rows:
            table.add_row(k, Text(v))
        from rich.panel import Panel

        title = "run interrupted" if result.interrupted else "run finished"
        console.print(Panel(table, title=title, expand=False))
    else:
        for k, v in rows:
            console.print(f"{k + ':':<15} {v}", highlight=False, soft_wrap=True,  # a space even after a long label
                          markup=False)
