"""`ganzoo compare RUN1 RUN2 ...`: several runs' curves side by side as a PNG, and their final metrics as a table."""

from __future__ import annotations

from pathlib import Path

import click

from ...base.errors import UsageError


@click.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("compare.png"),
              show_default=True, help="Where to write the PNG.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def compare_cmd(runs: tuple[Path, ...], out: Path, force: bool) -> None:
    """Lay several runs' losses and evaluation metrics side by side, one line per run.

    \b
    ganzoo compare runs/a runs/b --out ab.png
    The table printed lists each run's last evaluation (FD, precision, recall, ...).
    Needs matplotlib: pip install "ganzoo[plot]".
    """
    from rich.table import Table
    from rich.text import Text

    from ...base.console import console
    from ...runs.plotting import Curves, compare_figure, plot_file, save
    from ...runs.rundir import RunDir, read_metrics

    out = plot_file(out)  # the file written: `--out ab` is ab.png; a suffix matplotlib cannot write is refused
    if out.exists() and not force:
        raise UsageError(f"{out} exists", "pass --force to replace it, or choose another --out")
    curves = []
    for run in runs:
        metrics = RunDir(run).metrics
        if not metrics.is_file():
            raise UsageError(f"{run} holds no metrics.jsonl", "is it a run folder? `ganzoo run` writes one")
        curves.append(Curves.from_rows(run.name, read_metrics(metrics)))
    path = save(compare_figure(curves), out)
    keys = sorted({k for c in curves for k in c.final})
    if keys:
        table = Table("run", *keys, title="last evaluation")
        for c in curves:
            table.add_row(Text(c.name), *(f"{c.final[k]:.4g}" if k in c.final else "—" for k in keys))  # not markup
        console.print(table)
    console.print(f"wrote {path}", highlight=False, soft_wrap=True, markup=False)
