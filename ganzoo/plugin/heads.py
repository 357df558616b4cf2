"""The names of a model's outputs: its main one and the heads its registration declares.

Torch-free, so that registration (``register.discriminator(..., heads=("q",))``)
and ``ganzoo info`` can check and show them without importing a model. What a
model with heads does is documented in `ganzoo.interfaces` (``forward_heads``);
what it is held to, in `ganzoo.components.contract`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MAIN", "check_heads"]

#: the key of ``forward_heads``'s output that holds what ``forward`` returns (a discriminator's scores, a
#: generator's samples); every loss and algorithm that knows nothing of heads reads that one alone
MAIN = "main"

# heads are dictionary keys in a plugin's code (out["q"], out["class_logits"]): identifier-like, lowercase
HEAD_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def check_heads(heads: Iterable[str], name: str) -> tuple[str, ...]:
    """The heads a registration declares, checked: distinct lowercase identifiers, none of them ``MAIN``.

    Raises ValueError (a registration that is wrong fails on the line that made it)."""
    if isinstance(heads, str):  # heads="q" without a tuple around it: one name, but say how to write it
        raise ValueError(f"{name!r}: heads must be a tuple of head names, not {heads!r} (heads=({heads!r},))")
    found = tuple(heads)
    for head in found:
        if not isinstance(head, str) or not HEAD_RE.match(head):
            raise ValueError(f"{name!r}: invalid head name {head!r}: head names are lowercase letters, digits and "
                             f"underscores, starting with a letter")
        if head == MAIN:
            raise ValueError(f"{name!r}: {MAIN!r} is the main output forward returns, not a head; declare only the "
                             f"extra heads")
    doubled = sorted({h for h in found if found.count(h) > 1})
    if doubled:
        raise ValueError(f"{name!r}: head {doubled[0]!r} is declared twice")
    return found
