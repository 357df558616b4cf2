"""Small pieces shared by the listing commands."""

from __future__ import annotations

import json
from typing import Any

import click

from ..specs import ALL_KINDS

kind_option = click.option(
    "--kind", type=click.Choice(ALL_KINDS), default=None, help="Only this kind of component."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output for scripts.")


def print_json(data: Any) -> None:
    # Plain print, not rich: scripts want exact JSON with no wrapping or markup.
    click.echo(json.dumps(data, indent=2, default=str))
