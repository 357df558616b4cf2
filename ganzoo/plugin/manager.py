"""The plugin manager: entry-point discovery, plugin controls, and the registry it fills.

Every plugin, ganzoo's built-ins included, is found the same way: as an entry
point in the group ``ganzoo`` of some installed distribution. Nothing here
names a built-in.

Controls (documented in docs/plugins.md):

``GANZOO_DISABLE_PLUGIN_AUTOLOAD``
    ``1`` (or ``true``, ``yes``, ``on``): load only the entry points of the
    ``ganzoo`` distribution itself (the built-ins). A comma-separated list of
    entry-point names loads exactly those, from any distribution. ``0``,
    ``false``, ``no``, ``off`` or empty: load everything. Anything else (``2``,
    ``*``) is warned about and read as ``1``, the safe side of "disable".
``GANZOO_BLOCK_PLUGINS``
    Comma-separated entry-point names never to load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TypedDict
from collections.abc import Callable, Iterable

import pluggy

from ..base.errors import ComponentError, GanzooError
from ..base.specs import NAME_RE, PluginInfo
from ..config.recipes import load_recipe_file, user_recipe_files
from . import hookspecs
from .registry import ComponentRegistrar, RecipeRegistrar, Registry

GROUP = "ganzoo"
PLUGIN_API = 1
ENV_AUTOLOAD = "GANZOO_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCK = "GANZOO_BLOCK_PLUGINS"
HOOK_PREFIX = "ganzoo_"


@dataclass
class PluginRecord:
    """One plugin as `ganzoo plugins` reports it."""

    name: str
    dist: str | None = None
    version: str | None = None
    module: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    #: registrations skipped alone (a pretrained file not there yet), one line each; the plugin still loads
    warnings: list[str] = field(default_factory=list)
    components: int = 0
    recipes: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def info(self) -> PluginInfo:
        return PluginInfo(self.name, self.dist, self.version, self.module)


def _csv_env(name: str) -> set[str]:
    return {p.strip() for p in os.environ.get(name, "").split(",") if p.strip()}


_OFF = ("", "0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")


def _autoload_filter() -> tuple[bool, set[str]]:
    """(only_builtins, allowed names): what GANZOO_DISABLE_PLUGIN_AUTOLOAD leaves on."""
    value = os.environ.get(ENV_AUTOLOAD, "").strip()
    if value.lower() in _OFF:
        return False, set()
    if value.lower() in _ON:
        return True, set()
    names = _csv_env(ENV_AUTOLOAD)
    bad = sorted(n for n in names if not NAME_RE.match(n))
    if bad:
        warn(f"{ENV_AUTOLOAD}={value!r}: {bad[0]!r} is not an entry-point name; loading only the built-ins "
             f"(use 1 for built-ins only, 0 for everything, or a comma-separated list of entry-point names)")
        return True, set()
    return False, names


class Plugins:
    """A pluggy manager plus what happened while loading it."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.blocked: set[str] = set()
        self.only_builtin = False
        self.allowed: set[str] = set()

    # -- loading --------------------------------------------------------
    def load_entry_points(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> None:
        if entry_points is None:
            entry_points = metadata.entry_points(group=GROUP)
        only_builtin, allowed = _autoload_filter()
        blocked = _csv_env(ENV_BLOCK)
        # ganzoo's own entry points load first, so that a name clash is always reported
        # against the newcomer instead of depending on how distribution names sort.
        def order(ep: metadata.EntryPoint) -> tuple[bool, str, str]:
            dist = ep.dist.name if ep.dist else ""
            return (dist != "ganzoo", dist, ep.name)

        entry_points = list(entry_points)
        known = {ep.name for ep in entry_points}
        if allowed and not allowed & known:
            # "2" or "all" is far likelier a mistyped switch than a plugin's name: read it as "disable".
            warn(f"{ENV_AUTOLOAD}={os.environ.get(ENV_AUTOLOAD, '')!r} names no installed plugin; loading only "
                 f"the built-ins (use 1 for built-ins only, 0 for everything, or entry-point names)")
            only_builtin, allowed = True, set()
        for env, names in ((ENV_AUTOLOAD, allowed), (ENV_BLOCK, blocked)):
            for name in sorted(names - known):
                warn(f"{env}: no installed plugin is named {name!r}"
                     + (f" (known: {', '.join(sorted(known))})" if known else ""))
        self.blocked, self.only_builtin, self.allowed = blocked, only_builtin, allowed
        for ep in sorted(entry_points, key=order):
            dist = ep.dist.name if ep.dist else None
            if ep.name in blocked:
                continue
            if ep.name in self.records:
                first = self.records[ep.name]
                if (first.dist, first.module) != (dist, ep.value):
                    warn(f"plugin {ep.name!r} from {dist or 'no distribution'} skipped: the entry-point name is "
                         f"already used by {first.dist or 'no distribution'} ({first.module})")
                continue
            if only_builtin and dist != "ganzoo":
                continue
            if allowed and ep.name not in allowed:
                continue
            record = PluginRecord(ep.name, dist, ep.dist.version if ep.dist else None, ep.value)
            self.records[record.name] = record
            try:
                obj = ep.load()
            except (Exception, SystemExit) as exc:  # a broken plugin must not take the others down
                self._fail(record, f"import failed: {_describe(exc)}")
                continue
            self.register(obj, record)

    def register(self, obj: object, record: PluginRecord) -> bool:
        """Register a plugin object; on any contract problem record why and skip it."""
        self.records[record.name] = record
        api = getattr(obj, "GANZOO_PLUGIN_API", PLUGIN_API)
        if api != PLUGIN_API:
            return self._fail(record, f"built for ganzoo plugin API {api}, this ganzoo provides API {PLUGIN_API}")
        try:
            self.pm.register(obj, name=record.name)
        except Exception as exc:
            return self._fail(record, f"cannot register: {exc}")
        unknown = self._unknown_hooks(obj)
        if unknown:
            self.pm.unregister(obj)
            return self._fail(record, unknown)
        record.hooks = sorted(c.name for c in self.pm.get_hookcallers(obj) or [])
        return True

    def _unknown_hooks(self, obj: object) -> str | None:
        # pluggy's check_pending only raises for the first one; we want a message per plugin.
        import difflib

        for caller in self.pm.get_hookcallers(obj) or []:
            if caller.spec is None and caller.name.startswith(HOOK_PREFIX):
                close = difflib.get_close_matches(caller.name, [h for h in dir(hookspecs) if h.startswith(HOOK_PREFIX)], n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                return f"implements unknown hook {caller.name!r}{hint}"
        return None

    def _fail(self, record: PluginRecord, reason: str) -> bool:
        """Record why ``record`` is skipped and take it out of the manager, so none of its hooks runs again."""
        record.error = reason
        if self.pm.get_plugin(record.name) is not None:
            self.pm.unregister(name=record.name)
        warn(f"plugin {record.name!r} ({record.dist or 'no distribution'}) skipped: {reason}")
        return False

    # -- filling the registry -------------------------------------------
    def build_registry(self, recipe_files: Iterable[str | Path] = ()) -> Registry:
        """Call every plugin's registration hooks; a plugin counts whole or not at all.

        Each hook registers into a staging registrar that is committed only when
        the hook returns, so a plugin that raises half-way leaves nothing behind,
        and one whose recipe hook fails loses the components it registered too.
        """
        registry = Registry()
        for impl in self.pm.hook.ganzoo_register_components.get_hookimpls():
            record = self.records[impl.plugin_name]
            components = ComponentRegistrar(registry, record.info)
            if self.call(record, impl.function, register=components):
                components.commit()
                record.components = len(components.registered)
        loaded: set[Path] = set()
        for impl in self.pm.hook.ganzoo_register_recipes.get_hookimpls():
            record = self.records[impl.plugin_name]
            recipes = RecipeRegistrar(registry, record.info)
            if self.call(record, impl.function, register=recipes):
                recipes.commit()
                for line in recipes.warnings:
                    record.warnings.append(line)
                    warn(f"plugin {record.name!r} ({record.dist or 'no distribution'}): {line}")
                record.recipes = len(recipes.registered)
                loaded.update(Path(r.source).resolve() for r in recipes.registered)
            else:
                registry.drop_plugin(record.info)
                record.components = 0
        for path in user_recipe_files(tuple(str(p) for p in recipe_files)):
            if path.resolve() in loaded:
                continue  # ./registry.toml of a source checkout is the built-in one
            try:
                specs, default = load_recipe_file(path)
            except GanzooError as exc:
                # Only what reads recipes fails on it, with this one line (Registry.recipe, default_recipe);
                # `sample` and `eval` of a run never look at recipes, so they neither fail nor warn.
                registry.recipe_file_errors.append(exc)
                continue
            for spec in specs:
                registry.add_recipe(spec, override=True)
            if default:
                registry.set_default(default, str(path))
        return registry

    def call(self, record: PluginRecord, func: Callable[..., object], **kwargs: object) -> bool:
        """Call one plugin's hook; False (and the plugin marked failed) on any exception, SystemExit too."""
        try:
            func(**kwargs)
        except GanzooError as exc:
            return self._fail(record, str(exc))
        except (Exception, SystemExit) as exc:
            return self._fail(record, f"{func.__name__} raised {_describe(exc)}")
        return True

    def why_unavailable(self, plugin: str | None, dist: str | None) -> str:
        """What to tell a user whose run needs a component from ``plugin`` (of ``dist``) that is not registered."""
        record = self.records.get(plugin or "")
        if plugin and plugin in self.blocked:
            return f"plugin {plugin!r} is blocked by {ENV_BLOCK}; remove it from that list"
        if record is not None and record.error:
            return f"plugin {plugin!r} failed to load: {record.error}"
        if plugin and record is None and (self.only_builtin or self.allowed) and _installed(plugin):
            return f"plugin {plugin!r} is installed but not loaded ({ENV_AUTOLOAD} is set); unset it or add {plugin}"
        if dist:
            return f"install it: pip install {dist}"
        return "install the plugin that provides it"


def unavailable(kind: str, name: str, recorded: object) -> ComponentError:
    """The one line for a run that needs a component no loaded plugin provides.

    ``recorded`` is what the run recorded about it (a checkpoint's ``meta.components`` entry: plugin,
    dist, version); the hint says whether that plugin is blocked, disabled, failed, or not installed.
    """
    entry = recorded if isinstance(recorded, dict) else {}
    plugin, dist, version = entry.get("plugin"), entry.get("dist"), entry.get("version")
    where = f"plugin {plugin!r}" if plugin else "a plugin"
    if dist:
        where += f" from {dist}" + (f" {version}" if version else "")
    said = f"the run used {where}" if entry else "the run records no plugin for it"
    return ComponentError(f"{kind} {name!r} is not available: {said}",
                          get_plugins().why_unavailable(plugin if isinstance(plugin, str) else None,
                                                        dist if isinstance(dist, str) else None))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}"


def _installed(plugin: str) -> bool:
    return any(ep.name == plugin for ep in metadata.entry_points(group=GROUP))


def warn(message: str) -> None:
    from ..base.console import err_console

    from rich.text import Text

    err_console.print(Text("warning: ", style="yellow") + Text(message), highlight=False, soft_wrap=True)


class _State(TypedDict, total=False):
    plugins: Plugins
    registry: Registry
    recipe_files: tuple[str, ...]  # those the registry was built with (`ganzoo --registry` sets them first)


_STATE: _State = {}


def get_plugins() -> Plugins:
    if "plugins" not in _STATE:
        plugins = Plugins()
        plugins.load_entry_points()
        _STATE["plugins"] = plugins
    return _STATE["plugins"]


def get_registry(recipe_files: Iterable[str | Path] = ()) -> Registry:
    """The process-wide registry (built once; `reset()` forgets it)."""
    files = tuple(str(p) for p in recipe_files) or _STATE.get("recipe_files", ())
    if "registry" not in _STATE or _STATE.get("recipe_files") != files:
        _STATE["recipe_files"] = files
        _STATE["registry"] = get_plugins().build_registry(files)
    return _STATE["registry"]


def reset() -> None:
    _STATE.pop("plugins", None)
    _STATE.pop("registry", None)
    _STATE.pop("recipe_files", None)


__all__ = ["Plugins", "PluginRecord", "get_plugins", "get_registry", "reset", "PLUGIN_API"]
