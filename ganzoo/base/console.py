"""One rich console for output, one on stderr for errors and warnings."""

from __future__ import annotations

from rich.console import Console

console = Console()
err_console = Console(stderr=True)
