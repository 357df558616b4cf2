"""`ganzoo explore [RUN_OR_NAME ...]`: a local web page to see and play with every generator.

The page (`ganzoo.explore`) lists every pretrained generator and every run under ``--runs``; for the one
picked it draws grids from a seed, class by class, with the options the generator declares, walks between
two seeds, translates a drawing or an upload (pix2pix, CycleGAN), and shows a run's curves and last
evaluation. Starlette and uvicorn are the optional extra ``explore``; they are imported here only when the
command runs, so `ganzoo --help` imports neither (nor torch).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from ...base.errors import UsageError

#: what the command needs beyond ganzoo's own dependencies
NEEDS = ("starlette", "uvicorn")


def check_installed() -> None:
    """One line naming the extra when Starlette or uvicorn is missing (exit 2, as any missing extra)."""
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"ganzoo explore needs {' and '.join(missing)}",
                         'install them with: pip install "ganzoo[explore]"')


@click.command("explore")
@click.argument("targets", nargs=-1, metavar="[RUN_OR_NAME]...")
@click.option("--runs", "runs", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              show_default=True, help="The folder whose runs the page lists (and the only one it reads runs from).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default is this machine only; another address lets the network in.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free one).")
@click.option("--no-browser", is_flag=True, help="Print the address only; do not open a browser.")
def explore_cmd(targets: tuple[str, ...], runs: Path, host: str, port: int, no_browser: bool) -> None:
    """Open a local web page to play with every generator: grids, classes, truncation, walks, translation.

    RUN_OR_NAME (any number): run folders or pretrained names listed first, the first one shown. The page
    also lists every pretrained generator (`ganzoo list --pretrained`) and every run under --runs.
    Stop it with Ctrl-C.

    \b
    ganzoo explore                          every pretrained generator and ./runs
    ganzoo explore stylegan2-mnist --port 9000 --no-browser
    ganzoo explore --runs ~/experiments
    Needs starlette and uvicorn: pip install "ganzoo[explore]".
    """
    check_installed()
    import threading
    import webbrowser

    from ...base.console import console
    from ...explore.server import serve
    from ...explore.zoo import Zoo

    zoo = Zoo(runs, targets)  # a name that is neither a run nor a pretrained generator: one line, before serving

    def ready(url: str) -> None:
        console.print(f"ganzoo explore: serving {url} (Ctrl-C to stop)", highlight=False, soft_wrap=True,
                      markup=False)
        if host not in ("127.0.0.1", "localhost", "::1"):
            console.print(f"note: --host {host} lets other machines reach the page", highlight=False,
                          markup=False)
        if not no_browser:  # in a thread: a browser that takes seconds to start must not hold the server back
            first = f"{url}#{zoo.entries()[0].id}" if targets else url
            threading.Thread(target=webbrowser.open, args=(first,), daemon=True).start()

    serve(zoo, host, port, ready)
