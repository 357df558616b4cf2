"""`ganzoo plugins`: each plugin, its distribution and hooks, and the ones that failed."""

from __future__ import annotations

import click

from ._common import json_option, print_json


@click.command("plugins")
@json_option
def plugins_cmd(as_json: bool) -> None:
    """List loaded plugins with their distribution, version and hooks, and every
    plugin that failed to load with the reason."""
    from ...plugin.manager import get_plugins, get_registry

    get_registry()  # registering is where many plugin errors surface
    records = sorted(get_plugins().records.values(), key=lambda r: (r.dist or "", r.name))
    if as_json:
        print_json([{"name": r.name, "distribution": r.dist, "version": r.version, "module": r.module,
                     "hooks": r.hooks, "components": r.components, "recipes": r.recipes,
                     "status": "ok" if r.ok else "failed", "error": r.error, "warnings": r.warnings}
                    for r in records])
        return
    from rich.markup import escape
    from rich.table import Table

    from ...base.console import console

    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("plugin", "distribution", "hooks", "status"):
        table.add_column(col, overflow="fold")
    for r in records:
        status = (f"[green]ok[/] ({r.components} components, {r.recipes} recipes)" if r.ok
                  else f"[red]failed:[/] {escape(r.error or '')}")  # a plugin's text, never markup
        status += "".join(f"\n[yellow]warning:[/] {escape(line)}" for line in r.warnings)
        dist = f"{r.dist} {r.version}" if r.dist else "-"
        table.add_row(escape(r.name), escape(dist), escape(", ".join(h.removeprefix("ganzoo_") for h in r.hooks)),
                      status)
    console.print(table)
