"""`ganzoo new-plugin`: write the skeleton of a third-party plugin package.

The skeleton is a complete, installable package whose own tests pass as
generated: a pyproject with the ``ganzoo`` entry point, a torch-free
registration module, a loss term, a generator/discriminator pair, a training
algorithm with a reader of its runs (a sampling option of its own), a metric, a
logger (experiment tracker), a recipe, a test using `ganzoo.testing`, and a
README. Templates: `scaffold_templates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .errors import UsageError
from .plugin_manager import GROUP
from .scaffold_templates import FILES
from .specs import NAME_RE


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from the one the user typed."""

    name: str  # entry-point name and component prefix: "acme"
    dist: str  # distribution: "ganzoo-acme"
    module: str  # import package: "ganzoo_acme"

    @classmethod
    def parse(cls, text: str) -> PluginNames:
        raw = text.strip()
        name = raw.removeprefix("ganzoo-")
        if not NAME_RE.match(raw) or not name or not NAME_RE.match(name) or name == "ganzoo":
            raise UsageError(f"invalid plugin name {text!r}",
                             "use lowercase letters, digits and single dashes, e.g. acme or acme-gans")
        if not name[0].isalpha():
            raise UsageError(f"invalid plugin name {text!r}", "start it with a letter")
        return cls(name, f"ganzoo-{name}", "ganzoo_" + name.replace("-", "_"))


def taken_entry_point(name: str) -> str | None:
    """The distribution that already uses entry-point ``name`` in the ``ganzoo`` group, if any."""
    for ep in metadata.entry_points(group=GROUP):
        if ep.name == name:
            return f"{ep.dist.name} {ep.dist.version}" if ep.dist else "another plugin"
    return None


def render(names: PluginNames) -> dict[str, str]:
    """Relative path -> file text for the plugin ``names``."""
    def sub(text: str) -> str:
        return (text.replace("__DIST__", names.dist).replace("__MODULE__", names.module)
                .replace("__NAME__", names.name))

    return {sub(path): sub(text) for path, text in FILES.items()}


def new_plugin(name: str, parent: str | Path = ".") -> tuple[Path, list[Path], PluginNames]:
    """Write the skeleton to ``parent/ganzoo-NAME``; refuse to touch anything that exists."""
    names = PluginNames.parse(name)
    owner = taken_entry_point(names.name)
    if owner:
        raise UsageError(f"the entry-point name {names.name!r} is already used by {owner}",
                         "plugins are told apart by that name; choose another")
    target = Path(parent).expanduser() / names.dist
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists; not overwriting it", "choose another name or --dir")
    files = render(names)
    written = []
    try:
        target.mkdir(parents=True)
        for rel, text in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target, written, names
