"""`ganzoo plot RUN`: a run's losses and evaluation metrics over steps, beside its latest sample grid, as a PNG."""

from __future__ import annotations

from pathlib import Path

import click

from ...base.errors import UsageError

CURVES = "curves.png"  # ganzoo's own file in a run folder, rewritten by each `ganzoo plot`


@click.command("plot")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Where to write the PNG. Default: RUN/{CURVES}.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def plot_cmd(run: Path, out: Path | None, force: bool) -> None:
    """Draw RUN's curves (losses, D's scores, each evaluation metric against its floor) and its latest grid.

    \b
    ganzoo plot runs/<run>                 writes runs/<run>/curves.png
    ganzoo plot runs/<run> --out a.png
    Needs matplotlib: pip install "ganzoo[plot]".
    """
    from ...base.console import console
    from ...plugin.manager import warn
    from ...runs.plotting import Curves, plot_file, run_figure, save
    from ...runs.rundir import RunDir, read_metrics

    rundir = RunDir(run)
    if not rundir.metrics.is_file():
        raise UsageError(f"{run} holds no metrics.jsonl", "is it a run folder? `ganzoo run` writes one")
    target = plot_file(out) if out is not None else run / CURVES  # the file written: `--out curves` is curves.png
    if out is not None and target.exists() and not force:
        raise UsageError(f"{target} exists", "pass --force to replace it, or choose another --out")
    curves = Curves.from_rows(run.name, read_metrics(rundir.metrics))
    if not curves.losses and not curves.evals:
        raise UsageError(f"{rundir.metrics} has no logged step yet", "plot again once the run has logged a line")
    grids = rundir.grids()
    path = save(run_figure(curves, grids[-1] if grids else None, note=warn), target)
    console.print(f"wrote {path}", highlight=False, soft_wrap=True, markup=False)
