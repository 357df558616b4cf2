"""`ganzoo new-plugin NAME`: start a third-party plugin package from a working skeleton."""

from __future__ import annotations

import click


@click.command("new-plugin")
@click.argument("name")
@click.option("--dir", "parent", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder in which to create ganzoo-NAME/.")
def new_plugin_cmd(name: str, parent: str) -> None:
    """Create ganzoo-NAME/, an installable plugin package whose tests pass as generated.

    NAME is lowercase-with-dashes (acme, acme-gans); it becomes the entry-point
    name, the prefix of the component names (NAME-mlp, NAME-smooth-bce) and the
    distribution ganzoo-NAME. An existing folder is never overwritten.

    \b
    ganzoo new-plugin acme && cd ganzoo-acme
    pip install -e ".[test]" && python -m pytest
    """
    from ..scaffold import new_plugin

    target, written, names = new_plugin(name, parent)
    click.echo(f"created {target}/ ({len(written)} files):")
    for path in written:
        click.echo(f"  {path.relative_to(target)}")
    click.echo(f"\nit adds generator/discriminator {names.name}-mlp, loss {names.name}-smooth-bce and "
               f"recipe {names.name}-gaussians. Next:\n"
               f"  cd {target}\n"
               f"  pip install -e \".[test]\"\n"
               f"  ganzoo list          # shows them, from {names.dist} 0.1.0\n"
               f"  python -m pytest     # ganzoo's conformance suite on your components")
