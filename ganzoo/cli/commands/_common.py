"""Small pieces shared by the listing commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import click

from ...base.specs import ALL_KINDS
from ...config.settings import DEVICES, check_device

F = TypeVar("F", bound=Callable[..., object])

kind_option = click.option(
    "--kind", type=click.Choice(ALL_KINDS), default=None, help="Only this kind of component."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output for scripts.")


def _check_device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    return check_device(value, "--device")  # the one check of a device name, shared with train.device


def device_option(default: str, help: str) -> Callable[[F], F]:
    """``--device`` for a command that is not `run` (whose flag comes from train.device)."""
    return click.option("--device", default=default, show_default=True, metavar="DEVICE", callback=_check_device,
                        help=f"{help} {DEVICES}.")


def print_json(data: object) -> None:
    # Plain print, not rich: scripts want exact JSON with no wrapping or markup.
    click.echo(json.dumps(data, indent=2, default=str))
