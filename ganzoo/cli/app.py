"""The `ganzoo` command line: a click group whose commands load lazily.

Each command lives in its own module under `ganzoo.cli.commands` and is imported
only when invoked, so `ganzoo --help` and `ganzoo list` never import torch.
Errors a user can cause (`GanzooError`) end as one line on stderr with an
exit code; plugins can add commands through `ganzoo_register_commands`.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

import click

from ..base.errors import GanzooError
from ..base.version import __version__

COMMANDS = {
    "list": "ganzoo.cli.commands.list_cmd:list_cmd",
    "info": "ganzoo.cli.commands.info_cmd:info_cmd",
    "plugins": "ganzoo.cli.commands.plugins_cmd:plugins_cmd",
    "run": "ganzoo.cli.commands.run_cmd:run_cmd",
    "sample": "ganzoo.cli.commands.sample_cmd:sample_cmd",
    "eval": "ganzoo.cli.commands.eval_cmd:eval_cmd",
    "new-plugin": "ganzoo.cli.commands.new_plugin_cmd:new_plugin_cmd",
    "plot": "ganzoo.cli.commands.plot_cmd:plot_cmd",
    "compare": "ganzoo.cli.commands.compare_cmd:compare_cmd",
    "explore": "ganzoo.cli.commands.explore_cmd:explore_cmd",
}


class LazyGroup(click.Group):
    # the arguments of click.Group, passed on as given (click types them one by one)
    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lazy = lazy
        self._plugin_commands_loaded = False

    def _plugin_commands(self) -> None:
        if self._plugin_commands_loaded:
            return
        self._plugin_commands_loaded = True
        from ..plugin.manager import get_plugins

        plugins = get_plugins()
        for impl in plugins.pm.hook.ganzoo_register_commands.get_hookimpls():
            # one plugin's broken command must not break the CLI
            plugins.call(plugins.records[impl.plugin_name], impl.function, cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._plugin_commands()
        return sorted(set(super().list_commands(ctx)) | {n for n in self._lazy if self._available(n)})

    def _available(self, name: str) -> bool:
        module = self._lazy[name].partition(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self._lazy and self._available(name):
            module, _, attr = self._lazy[name].partition(":")
            return getattr(importlib.import_module(module), attr)
        self._plugin_commands()
        return super().get_command(ctx, name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            import difflib

            close = difflib.get_close_matches(args[0], self.list_commands(ctx), n=1) if args else []
            if close:
                raise click.UsageError(f"no such command {args[0]!r} (did you mean {close[0]}?)", ctx) from None
            raise exc


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganzoo")
@click.option("--registry", "registry_files", multiple=True, type=click.Path(dir_okay=False),
              help="Extra recipe file (registry.toml format); may be repeated. Also: GANZOO_REGISTRY.")
@click.pass_context
def cli(ctx: click.Context, registry_files: tuple[str, ...]) -> None:
    """ganzoo: a plugin-based zoo of GANs for PyTorch.

    \b
    ganzoo list                     every component and recipe installed
    ganzoo run                      train the default recipe on bundled MNIST
    ganzoo run --gen dcgan --loss bce+l1
    ganzoo sample runs/<run> --out grid.png
    """
    if registry_files:
        from ..plugin.manager import _STATE

        _STATE["recipe_files"] = registry_files


def _degrade_streams() -> None:
    """A terminal or pipe that cannot encode a character (PYTHONIOENCODING=latin-1 and a 'λ') gets a '?', not a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "strict") == "strict":
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _interrupted_at_exit(signum: int, frame: FrameType | None) -> None:
    # a Ctrl-C while Python shuts down (atexit handlers, after the final checkpoint): one line, not a traceback
    os.write(2, b"error: interrupted\n")
    os._exit(130)


def main(argv: list[str] | None = None, prog_name: str = "ganzoo") -> None:
    _degrade_streams()
    try:
        _run(argv, prog_name)
    except KeyboardInterrupt:  # a Ctrl-C while an error or the summary was being printed
        os.write(2, b"error: interrupted\n")
        sys.exit(130)
    finally:  # the process exits next (argv None: the console script, not a caller in Python)
        if argv is None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, _interrupted_at_exit)


def _run(argv: list[str] | None, prog_name: str) -> None:
    try:
        rv = cli.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except GanzooError as exc:
        _error(str(exc))
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _error("interrupted")  # click turns a KeyboardInterrupt (a second Ctrl-C) into Abort
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _error("interrupted")
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


def _error(message: str) -> None:
    from ..base.console import err_console

    from rich.text import Text

    # one line, whatever a message took in from a plugin or a file (a multi-line string, a traceback's text)
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    err_console.print(Text("error: ", style="bold red") + Text(message), highlight=False, soft_wrap=True)
    if os.environ.get("GANZOO_DEBUG"):
        import traceback

        traceback.print_exc()
