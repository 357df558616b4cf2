"""What a run prints: a rich progress bar on a terminal, plain lines otherwise, and the summary."""

from __future__ import annotations

import math
import time
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

MODES = ("auto", "bar", "plain", "quiet")


def _fmt(v: Any, digits: int = 4) -> str:
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


def describe_row(row: dict[str, Any]) -> str:
    """The losses and D's scores of one metrics row, as one short line."""
    parts = [f"D {_fmt(row.get('d_loss'))}", f"G {_fmt(row.get('g_loss'))}"]
    if "d_real_prob" in row:
        parts.append(f"D(x) {row['d_real_prob']:.3f} ({_fmt(row.get('d_real'), 3)})")
        parts.append(f"D(G(z)) {row['d_fake_prob']:.3f} ({_fmt(row.get('d_fake'), 3)})")
    return "  ".join(parts)


class Reporter:
    """Progress while training. ``mode``: bar | plain | quiet (``auto``: bar on a terminal)."""

    def __init__(self, mode: str = "auto", console: Console | None = None):
        from .console import console as default_console

        self.console = console or default_console
        if mode == "auto":
            mode = "bar" if self.console.is_terminal else "plain"
        self.mode = mode
        self._bar = None
        self._task = None
        self.total = 0
        self.start_step = 0
        self._t0 = time.perf_counter()

    def start(self, total: int, start_step: int, header: str) -> None:
        self.total, self.start_step = total, start_step
        self._t0 = time.perf_counter()
        if self.mode == "quiet":
            return
        self.console.print(header, highlight=False, soft_wrap=True)
        if self.mode == "bar":
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[losses]}"), TextColumn("{task.fields[speed]}"),
                                 TimeRemainingColumn(), console=self.console, transient=False)
            self._task = self._bar.add_task("train", total=total, completed=start_step, epoch="-",
                                            losses="", speed="")
            self._bar.start()

    def advance(self, step: int, epoch: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=step, epoch=epoch)

    def log(self, row: dict[str, Any]) -> None:
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
        self.console.print(message, highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def print_summary(result: Any, console: Console | None = None, rich_output: bool | None = None) -> None:
    """Where everything is, the final losses, speed and how to sample."""
    from .console import console as default_console

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
            console.print(f"{k + ':':<16}{v}", highlight=False, soft_wrap=True)
