"""The `ganzoo` command line (`app`: the click group, `commands`: one module per command), and what only it
uses: `scaffold` (`ganzoo new-plugin`). The top of the house: nothing in ganzoo imports it.

``ganzoo.cli:main`` is the console script; `main` and the group `cli` are handed on here from `app`.
"""

from .app import cli, main

__all__ = ["cli", "main"]
