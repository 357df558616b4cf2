"""ganzoo's built-in experiment trackers (the ``logger`` kind): ``tensorboard``.

Registration only: torch and tensorboard are imported from `tensorboard` when a run uses it
(``ganzoo run --logger tensorboard``). metrics.jsonl needs no logger: every run writes it.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.logger("tensorboard", f"{__name__}.tensorboard:TensorBoardLogger")
