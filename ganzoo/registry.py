"""Specs by kind and name, and the register objects plugins fill them through.

The registry knows nothing about any particular GAN: it is a dictionary of
`ComponentSpec` and `RecipeSpec` records. Plugins add to it through
`ComponentRegistrar` / `RecipeRegistrar`, which stamp each record with the
plugin that made it (so a clash can name both sides).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable

from .errors import DuplicateNameError, UnknownNameError
from .introspect import describe
from .specs import KINDS, ComponentSpec, PluginInfo, RecipeSpec, check_name


class Registry:
    def __init__(self) -> None:
        self._components: dict[tuple[str, str], ComponentSpec] = {}
        self._aliases: dict[tuple[str, str], str] = {}
        self._recipes: dict[str, RecipeSpec] = {}
        self.default_recipe: str | None = None
        self.default_source: str | None = None

    # -- components -----------------------------------------------------
    def add(self, spec: ComponentSpec) -> ComponentSpec:
        if spec.kind not in KINDS:
            raise ValueError(f"unknown kind {spec.kind!r}; expected one of {', '.join(KINDS)}")
        for name in (spec.name, *spec.aliases):
            check_name(name)
            key = (spec.kind, name)
            taken = self._components.get(key) or self._components.get((spec.kind, self._aliases.get(key, "")))
            if taken is not None:
                raise DuplicateNameError(
                    f"{spec.kind} {name!r} from plugin {spec.plugin.name!r} ({spec.plugin.label}) is already "
                    f"registered by plugin {taken.plugin.name!r} ({taken.plugin.label})",
                    "rename one of them, or block one with GANZOO_BLOCK_PLUGINS",
                )
        self._components[(spec.kind, spec.name)] = spec
        for alias in spec.aliases:
            self._aliases[(spec.kind, alias)] = spec.name
        return spec

    def get(self, kind: str, name: str) -> ComponentSpec:
        key = (kind, self._aliases.get((kind, name), name))
        if key not in self._components:
            raise UnknownNameError(kind, name, self.names(kind))
        return self._components[key]

    def has(self, kind: str, name: str) -> bool:
        return (kind, self._aliases.get((kind, name), name)) in self._components

    def names(self, kind: str) -> list[str]:
        if kind == "recipe":
            return sorted(self._recipes)
        names = [n for (k, n) in self._components if k == kind]
        return sorted(names + [a for (k, a) in self._aliases if k == kind])

    def components(self, kind: str | None = None) -> list[ComponentSpec]:
        specs = [s for s in self._components.values() if kind in (None, s.kind)]
        return sorted(specs, key=lambda s: (KINDS.index(s.kind), s.name))

    # -- recipes --------------------------------------------------------
    def add_recipe(self, spec: RecipeSpec, *, override: bool = False) -> RecipeSpec:
        check_name(spec.name)
        taken = self._recipes.get(spec.name)
        if taken is not None and not override:
            raise DuplicateNameError(
                f"recipe {spec.name!r} from {spec.source} is already defined by {taken.source}",
                "rename one of them",
            )
        self._recipes[spec.name] = spec
        return spec

    def recipe(self, name: str) -> RecipeSpec:
        if name not in self._recipes:
            raise UnknownNameError("recipe", name, self._recipes)
        return self._recipes[name]

    def recipes(self) -> list[RecipeSpec]:
        return [self._recipes[n] for n in sorted(self._recipes)]

    def set_default(self, name: str, source: str) -> None:
        self.default_recipe, self.default_source = name, source

    def find(self, name: str, kind: str | None = None) -> list[ComponentSpec | RecipeSpec]:
        """Everything called ``name`` (a generator and a discriminator often share one)."""
        found: list[ComponentSpec | RecipeSpec] = [
            self.get(k, name) for k in KINDS if kind in (None, k) and self.has(k, name)
        ]
        if kind in (None, "recipe") and name in self._recipes:
            found.append(self._recipes[name])
        return found


class ComponentRegistrar:
    """What a plugin's ``ganzoo_register_components`` hook receives."""

    def __init__(self, registry: Registry, plugin: PluginInfo):
        self._registry = registry
        self.plugin = plugin
        self.registered: list[ComponentSpec] = []

    def _add(self, kind: str, name: str, factory: str | Callable[..., Any], doc: str | None,
             aliases: Iterable[str], **fields: Any) -> ComponentSpec:
        found_doc, params = describe(factory)
        spec = ComponentSpec(
            kind=kind, name=name, factory=factory, plugin=self.plugin,
            doc=doc if doc is not None else found_doc, params=params, aliases=tuple(aliases), **fields,
        )
        self._registry.add(spec)
        self.registered.append(spec)
        return spec

    def generator(self, name: str, factory: str | Callable[..., Any], *, doc: str | None = None,
                  aliases: Iterable[str] = (), conditional: bool = False) -> ComponentSpec:
        """A generator: ``factory(data, latent_dim=..., **params)`` returns an ``nn.Module``."""
        return self._add("generator", name, factory, doc, aliases, conditional=conditional)

    def discriminator(self, name: str, factory: str | Callable[..., Any], *, doc: str | None = None,
                      aliases: Iterable[str] = (), conditional: bool = False) -> ComponentSpec:
        """A discriminator: ``factory(data, **params)`` returns an ``nn.Module`` giving (N,) scores."""
        return self._add("discriminator", name, factory, doc, aliases, conditional=conditional)

    def loss(self, name: str, factory: str | Callable[..., Any], *, role: str, doc: str | None = None,
             aliases: Iterable[str] = ()) -> ComponentSpec:
        """A loss term; ``role`` is ``"adversarial"`` (exactly one per spec) or ``"regularizer"``."""
        if role not in ("adversarial", "regularizer"):
            raise ValueError(f"loss {name!r}: role must be 'adversarial' or 'regularizer', not {role!r}")
        return self._add("loss", name, factory, doc, aliases, role=role)

    def dataset(self, name: str, factory: str | Callable[..., Any], *, doc: str | None = None,
                aliases: Iterable[str] = ()) -> ComponentSpec:
        """A dataset: ``factory(root=None, **params)`` returns a `ganzoo.interfaces.Dataset`."""
        return self._add("dataset", name, factory, doc, aliases)


class RecipeRegistrar:
    """What a plugin's ``ganzoo_register_recipes`` hook receives."""

    def __init__(self, registry: Registry, plugin: PluginInfo):
        self._registry = registry
        self.plugin = plugin

    def recipe(self, name: str, config: dict[str, Any], *, doc: str = "") -> RecipeSpec:
        from .recipes import validate_recipe

        source = f"plugin {self.plugin.name}"
        validate_recipe(name, config, source)
        return self._registry.add_recipe(RecipeSpec(name, config, source, self.plugin, doc))

    def toml(self, path: str | Path) -> list[RecipeSpec]:
        from .recipes import load_recipe_file

        recipes, default = load_recipe_file(Path(path), plugin=self.plugin)
        for spec in recipes:
            self._registry.add_recipe(spec)
        if default:
            self._registry.set_default(default, str(path))
        return recipes
