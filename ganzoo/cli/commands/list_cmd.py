"""`ganzoo list`: every installed component and recipe, with the plugin that provides it."""

from __future__ import annotations

from typing import TypedDict

import click

from ._common import json_option, kind_option, print_json


class _Row(TypedDict):
    kind: str
    name: str
    plugin: str
    distribution: str | None
    version: str | None
    summary: str


class Row(_Row, total=False):
    """One line of `ganzoo list` (and of its --json): a component's, or a recipe's."""

    aliases: list[str]
    conditional: bool
    role: str
    needs: list[str]  # a metric's, as `ganzoo.specs.MetricInfo` declares them
    takes: list[str]
    default: bool  # a metric: plain `ganzoo eval` computes it; a recipe: the default recipe
    keys: list[str]
    source: str  # a recipe's
    composition: dict[str, str | None]
    pretrained: str | None


def rows(kind: str | None, pretrained: bool = False) -> list[Row]:
    """What `ganzoo list` shows; ``pretrained``: only the recipes that ship a trained generator."""
    from ...plugin.manager import get_registry

    registry = get_registry()
    out: list[Row] = []
    if pretrained:
        kind = "recipe"
    specs = registry.components(kind) if kind != "recipe" else []
    for spec in specs:
        row: Row = {
            "kind": spec.kind, "name": spec.name, "plugin": spec.plugin.name,
            "distribution": spec.plugin.dist, "version": spec.plugin.version,
            "summary": spec.summary, "aliases": list(spec.aliases), "conditional": spec.conditional,
        }
        if spec.role:
            row["role"] = spec.role
        if spec.metric is not None:  # what it needs and measures, whether plain `ganzoo eval` computes it, its keys
            row["needs"], row["takes"] = list(spec.metric.needs), list(spec.metric.takes)
            row["default"], row["keys"] = spec.metric.default, [k.key for k in spec.metric.keys]
        out.append(row)
    if kind in (None, "recipe"):
        for recipe in registry.recipes():
            plugin = recipe.plugin
            weights = registry.pretrained(recipe.name)
            if pretrained and weights is None:
                continue
            out.append({
                "kind": "recipe", "name": recipe.name,
                "plugin": plugin.name if plugin else "user",
                "distribution": plugin.dist if plugin else None,
                "version": plugin.version if plugin else None,
                "summary": recipe.summary, "source": recipe.source,
                "default": recipe.name == registry.default_recipe,
                "composition": {t: recipe.component(t) for t in ("gen", "disc", "loss", "dataset")},
                # the plugin that ships its trained generator, if one does (`ganzoo sample NAME` works at once)
                "pretrained": weights.plugin.name if weights is not None else None,
            })
    return out


@click.command("list")
@kind_option
@click.option("--pretrained", is_flag=True,
              help="Only the recipes that ship a trained generator (ganzoo sample NAME, ganzoo run --init NAME).")
@json_option
def list_cmd(kind: str | None, pretrained: bool, as_json: bool) -> None:
    """List every generator, discriminator, loss, dataset, metric and recipe installed.

    A recipe marked "pretrained" ships its trained generator: `ganzoo sample NAME`
    and `ganzoo eval NAME` work without training, and `ganzoo run --init NAME`
    starts from it. A metric marked "--metric" is computed only when named
    (`ganzoo eval RUN --metric NAME`); the others are what plain `ganzoo eval`
    computes, where they apply.
    """
    data = rows(kind, pretrained)
    if as_json:
        print_json(data)
        return
    from rich.markup import escape
    from rich.table import Table

    from ...base.console import console

    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("kind", "name", "plugin", "summary"):
        table.add_column(col, overflow="fold" if col == "summary" else "ellipsis", no_wrap=col != "summary")
    for row in data:
        # a name, summary or plugin is a plugin's or user's text, never markup ("[/data/faces]" in a recipe's doc)
        name = escape(row["name"]) + (" (default)" if row.get("default") and row["kind"] == "recipe" else "") + (
            " [green]pretrained[/]" if row.get("pretrained") else "")
        if row.get("role") == "regularizer":
            name += " [dim]+term[/]"
        if row["kind"] == "metric" and not row.get("default"):
            name += " [dim]--metric[/]"  # computed only when named: plain `ganzoo eval` leaves it out
        plugin = f"{row['distribution']} {row['version']}" if row["distribution"] else row["plugin"]
        table.add_row(escape(row["kind"]), name, escape(plugin), escape(row["summary"]))
    if not data:
        console.print("no recipe ships a trained generator" if pretrained else "nothing registered; see `ganzoo plugins`")
        return
    console.print(table)
