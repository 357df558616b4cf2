"""Specs by kind and name, and the register objects plugins fill them through.

The registry knows nothing about any particular GAN: it is a dictionary of
`ComponentSpec` and `RecipeSpec` records. Plugins add to it through
`ComponentRegistrar` / `RecipeRegistrar`, which stamp each record with the
plugin that made it (so a clash can name both sides).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict
from collections.abc import Callable, Iterable

from ..base.errors import DuplicateNameError, GanzooError, UnknownNameError
from ..base.specs import (KINDS, PAIRINGS, SAMPLING_OPTIONS, SCORES, SHARED, TAKES, ComponentSpec, DatasetEvaluation,
                          PluginInfo, PretrainedSpec, RecipeSpec, check_name)
from ..base.specs import BETTER, NEEDS, MetricInfo, MetricKey, Shared
from .introspect import read_signature

if TYPE_CHECKING:
    from typing import Unpack


class Registry:
    def __init__(self) -> None:
        self._components: dict[tuple[str, str], ComponentSpec] = {}
        self._aliases: dict[tuple[str, str], str] = {}
        self._recipes: dict[str, RecipeSpec] = {}
        self._pretrained: dict[str, PretrainedSpec] = {}
        #: registered weights whose file is not there (yet): not offered, but named when asked for
        self._missing_pretrained: dict[str, PretrainedSpec] = {}
        self._default_recipe: str | None = None
        self._default_algorithm: ComponentSpec | None = None
        self.default_source: str | None = None
        self.recipe_file_errors: list[GanzooError] = []

    # -- components -----------------------------------------------------
    def check(self, spec: ComponentSpec, pending: Iterable[ComponentSpec] = ()) -> None:
        """Raise if ``spec`` cannot be added: a bad kind or name, or a name already taken here or in ``pending``."""
        if spec.kind not in KINDS:
            raise ValueError(f"unknown kind {spec.kind!r}; expected one of {', '.join(KINDS)}")
        staged = {(p.kind, n): p for p in pending for n in (p.name, *p.aliases)}
        for name in (spec.name, *spec.aliases):
            check_name(name)
            key = (spec.kind, name)
            taken = (self._components.get(key) or self._components.get((spec.kind, self._aliases.get(key, "")))
                     or staged.get(key))
            if taken is not None:
                raise DuplicateNameError(
                    f"{spec.kind} {name!r} from plugin {spec.plugin.name!r} ({spec.plugin.label}) is already "
                    f"registered by plugin {taken.plugin.name!r} ({taken.plugin.label})",
                    "rename one of them, or block one with GANZOO_BLOCK_PLUGINS",
                )

    def add(self, spec: ComponentSpec) -> ComponentSpec:
        self.check(spec)
        self._components[(spec.kind, spec.name)] = spec
        for alias in spec.aliases:
            self._aliases[(spec.kind, alias)] = spec.name
        return spec

    def get(self, kind: str, name: str) -> ComponentSpec:
        key = (kind, self._aliases.get((kind, name), name))
        if key not in self._components:
            raise UnknownNameError(kind, name, self.names(kind),
                                   registered_as=[k for k in KINDS if k != kind and self.has(k, name)])
        return self._components[key]

    def has(self, kind: str, name: str) -> bool:
        return (kind, self._aliases.get((kind, name), name)) in self._components

    def names(self, kind: str) -> list[str]:
        if kind == "recipe":
            return sorted(self._recipes)
        names = [n for (k, n) in self._components if k == kind]
        return sorted(names + [a for (k, a) in self._aliases if k == kind])

    @property
    def default_algorithm(self) -> str | None:
        """The algorithm a run uses when its config names none (registered with ``default=True``)."""
        return self._default_algorithm.name if self._default_algorithm is not None else None

    def set_default_algorithm(self, spec: ComponentSpec) -> None:
        taken = self._default_algorithm
        if taken is not None and taken.plugin != spec.plugin:
            raise DuplicateNameError(
                f"algorithm {spec.name!r} from plugin {spec.plugin.name!r} claims to be the default algorithm, "
                f"which is {taken.name!r} from plugin {taken.plugin.name!r}", "only one plugin may register default=True")
        self._default_algorithm = spec

    def components(self, kind: str | None = None) -> list[ComponentSpec]:
        specs = [s for s in self._components.values() if kind in (None, s.kind)]
        return sorted(specs, key=lambda s: (KINDS.index(s.kind), s.name))

    def metrics(self) -> list[ComponentSpec]:
        """Every registered metric in the order it was registered (ganzoo's own first, then each plugin's): the
        order of `ganzoo eval`'s table, `ganzoo plot`'s panels and a result's keys."""
        return [s for s in self._components.values() if s.kind == "metric"]

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

    @property
    def default_recipe(self) -> str | None:
        self._check_recipe_files()
        return self._default_recipe

    def _check_recipe_files(self) -> None:
        # A broken recipe file fails what reads recipes, and nothing else (sampling a run does not).
        if self.recipe_file_errors:
            raise self.recipe_file_errors[0]

    def drop_plugin(self, plugin: PluginInfo) -> None:
        """Forget everything ``plugin`` registered (it failed in a later hook: a plugin counts whole or not at all)."""
        gone = {key for key, spec in self._components.items() if spec.plugin == plugin}
        for key in gone:
            del self._components[key]
        self._aliases = {k: v for k, v in self._aliases.items() if (k[0], v) not in gone}
        self._recipes = {k: r for k, r in self._recipes.items() if r.plugin != plugin}
        self._pretrained = {k: w for k, w in self._pretrained.items() if w.plugin != plugin}
        self._missing_pretrained = {k: w for k, w in self._missing_pretrained.items() if w.plugin != plugin}
        if self._default_algorithm is not None and self._default_algorithm.plugin == plugin:
            self._default_algorithm = None

    def recipe(self, name: str) -> RecipeSpec:
        self._check_recipe_files()
        if name not in self._recipes:
            raise UnknownNameError("recipe", name, self._recipes, registered_as=[k for k in KINDS if self.has(k, name)])
        return self._recipes[name]

    def recipes(self) -> list[RecipeSpec]:
        return [self._recipes[n] for n in sorted(self._recipes)]

    # -- pretrained weights -------------------------------------------
    def add_pretrained(self, spec: PretrainedSpec) -> PretrainedSpec:
        taken = self._pretrained.get(spec.name)
        if taken is not None:
            raise DuplicateNameError(f"pretrained weights {spec.name!r} from plugin {spec.plugin.name!r} are already "
                                     f"registered by plugin {taken.plugin.name!r}", "rename one of the recipes")
        self._pretrained[spec.name] = spec
        return spec

    def add_missing_pretrained(self, spec: PretrainedSpec) -> None:
        self._missing_pretrained.setdefault(spec.name, spec)

    def missing_pretrained(self, name: str) -> PretrainedSpec | None:
        """Weights registered for recipe ``name`` whose file was missing at registration (`RecipeRegistrar.pretrained`)."""
        return self._missing_pretrained.get(name)

    def pretrained(self, name: str) -> PretrainedSpec | None:
        """The weights shipped for recipe ``name``, None when there are none (no check of the file here), or
        when a user's recipe file replaced that recipe (`shadowed_pretrained`)."""
        spec = self._pretrained.get(name)
        return spec if spec is not None and self._trained_by(spec) else None

    def shadowed_pretrained(self, name: str) -> PretrainedSpec | None:
        """Weights shipped for a plugin's recipe ``name`` that a user's recipe of that name replaced.

        They were trained by the plugin's recipe, not by the recipe the name now means, so they are not offered
        under it (`ganzoo sample NAME` would draw a generator the user's recipe never trains); `ganzoo info NAME`
        says so. Renaming the user's recipe brings them back.
        """
        spec = self._pretrained.get(name)
        return spec if spec is not None and not self._trained_by(spec) else None

    def _trained_by(self, spec: PretrainedSpec) -> bool:
        recipe = self._recipes.get(spec.name)
        return recipe is None or recipe.plugin == spec.plugin

    def all_pretrained(self) -> list[PretrainedSpec]:
        return [self._pretrained[n] for n in sorted(self._pretrained) if self._trained_by(self._pretrained[n])]

    def set_default(self, name: str, source: str) -> None:
        self._default_recipe, self.default_source = name, source

    def find(self, name: str, kind: str | None = None) -> list[ComponentSpec | RecipeSpec]:
        """Everything called ``name`` (a generator and a discriminator often share one)."""
        found: list[ComponentSpec | RecipeSpec] = [
            self.get(k, name) for k in KINDS if kind in (None, k) and self.has(k, name)
        ]
        if kind in (None, "recipe") and name in self._recipes:
            found.append(self._recipes[name])
        return found


class _KindFields(TypedDict, total=False):
    """The `ComponentSpec` fields that some kinds of component declare (see its comments)."""

    conditional: bool
    role: str | None
    evaluation: DatasetEvaluation | None
    metric: MetricInfo | None
    takes: str
    pairing: str | None
    scores: tuple[str, ...]
    sampling: tuple[str, ...]
    adversarial_optional: bool
    supports: frozenset[Shared]
    generators: tuple[str, ...]
    discriminators: tuple[str, ...]
    algorithm: str | None
    heads: tuple[str, ...]
    losses: tuple[str, ...]
    trained: str | Callable[..., object] | None


class ComponentRegistrar:
    """What a plugin's ``ganzoo_register_components`` hook receives.

    Registrations are checked as they are made but reach the registry only at
    `commit`, after the hook has returned: a hook that raises half-way leaves
    nothing behind.
    """

    def __init__(self, registry: Registry, plugin: PluginInfo):
        self._registry = registry
        self.plugin = plugin
        self.registered: list[ComponentSpec] = []
        self._default_algorithm: ComponentSpec | None = None

    def commit(self) -> None:
        for spec in self.registered:
            self._registry.add(spec)
        if self._default_algorithm is not None:
            self._registry.set_default_algorithm(self._default_algorithm)

    def _add(self, kind: str, name: str, factory: str | Callable[..., object], doc: str | None,
             aliases: Iterable[str], **fields: Unpack[_KindFields]) -> ComponentSpec:
        found = read_signature(factory)
        spec = ComponentSpec(
            kind=kind, name=name, factory=factory, plugin=self.plugin, doc=doc if doc is not None else found.doc,
            params=found.params, open_params=found.open, aliases=tuple(aliases), **fields,
        )
        self._registry.check(spec, self.registered)
        self.registered.append(spec)
        return spec

    def generator(self, name: str, factory: str | Callable[..., object], *, doc: str | None = None,
                  aliases: Iterable[str] = (), conditional: bool = False, takes: str = "noise",
                  sampling: Iterable[str] = (), algorithm: str | None = None,
                  heads: Iterable[str] = ()) -> ComponentSpec:
        """A generator: ``factory(data, latent_dim=..., **params)`` returns an ``nn.Module``.

        ``takes="image"``: an image-to-image generator (pix2pix, CycleGAN); its factory is called as
        ``factory(data, source=DataInfo_of_the_input, **params)`` and its module maps images to images.
        ``sampling``: the options of `ganzoo.specs.SAMPLING_OPTIONS` that `ganzoo sample` may set, at most one
        per flag: ``"truncation_psi"`` (a keyword of its ``forward``) or ``"truncation_threshold"`` (a keyword
        of its ``sample_latent``), each set by ``--truncation``; training never passes them.
        ``algorithm``: the training algorithm it trains with alone (a run naming none then trains with it, and a
        run naming another is refused before torch is imported); None: any algorithm that fits.
        ``heads``: the outputs its ``forward_heads(z, labels=None)`` returns by name besides ``"main"`` (the
        samples), as for `discriminator`.
        """
        from .heads import check_heads

        _one_of("takes", takes, TAKES, name)
        sampling = tuple(sampling)
        for option in sampling:
            _one_of("sampling", option, tuple(SAMPLING_OPTIONS), name)
        flags = [SAMPLING_OPTIONS[o].flag for o in sampling]
        if len(set(flags)) != len(flags):
            raise ValueError(f"{name!r}: sampling declares two options set by one flag ({', '.join(sampling)}); "
                             f"--{max(flags, key=flags.count)} must mean one thing for a generator")
        return self._add("generator", name, factory, doc, aliases, conditional=conditional, takes=takes,
                         sampling=sampling, algorithm=_needs(algorithm, name), heads=check_heads(heads, name))

    def discriminator(self, name: str, factory: str | Callable[..., object], *, doc: str | None = None,
                      aliases: Iterable[str] = (), conditional: bool = False, scores: str = "sample",
                      algorithm: str | None = None, heads: Iterable[str] = ()) -> ComponentSpec:
        """A discriminator: ``factory(data, **params)`` returns an ``nn.Module`` giving (N,) scores.

        ``scores="patch"``: it scores every patch, (N, 1, h, w) (PatchGAN), for algorithms that accept that.
        ``algorithm``: the training algorithm it trains with alone, as for `generator`.
        ``heads``: the extra outputs it computes on its shared trunk (InfoGAN's ``"q"``, AC-GAN's class
        logits), by name: its ``forward_heads(x, labels=None)`` returns them with the scores under ``"main"``
        in one pass, while ``forward`` keeps returning the scores alone (`ganzoo.interfaces.Discriminator`).
        """
        from .heads import check_heads

        _one_of("scores", scores, SCORES, name)
        return self._add("discriminator", name, factory, doc, aliases, conditional=conditional, scores=(scores,),
                         algorithm=_needs(algorithm, name), heads=check_heads(heads, name))

    def algorithm(self, name: str, factory: str | Callable[..., object], *, doc: str | None = None,
                  aliases: Iterable[str] = (), takes: str = "noise", pairing: str | None = None,
                  scores: Iterable[str] = ("sample",), default: bool = False,
                  adversarial_optional: bool = False, supports: Iterable[str] = (),
                  generators: Iterable[str] = (), discriminators: Iterable[str] = (), losses: Iterable[str] = (),
                  trained: str | Callable[..., object] | None = None) -> ComponentSpec:
        """A training algorithm: ``factory(setup, **params)`` returns a `ganzoo.algorithm.Algorithm`.

        Declared here, so a run is checked before torch is imported: ``takes`` is what its generators
        must take ("noise" or "image"), ``pairing`` the data it trains on (None: samples; "paired",
        "unpaired"), ``scores`` the discriminator outputs it accepts ("sample", "patch"). ``default``:
        the algorithm of runs whose config names none (ganzoo's `gan` is; one plugin at most).
        ``adversarial_optional``: a loss spec of regularizers alone trains too (pix2pix's L1-only ablation).
        ``supports``: what of the trainer's it applies (`ganzoo.specs.SHARED`): "ema" (it keeps the run's EMA
        through `Setup.keep_ema`), "amp" (its steps run under `ganzoo.device.autocast` with ``train.amp``),
        "compile" (`Setup.compiled`), "ddp" (`Setup.wrap`); a run that turns on one it does not declare is
        refused in one line. ``generators`` / ``discriminators``: the models it trains, by name (empty: any
        that fits ``takes`` and ``scores``); ``losses``: the loss terms it trains with, by name (empty: any; a
        run whose loss spec names another is refused before torch is imported). ``trained``: the `ganzoo.trained.Trained` subclass (or a lazy
        "module:Class") that reads its runs back: what `ganzoo sample`, `ganzoo eval`, `ganzoo.load` and a
        pretrained export do with them; None: `ganzoo.trained.NoiseGenerator`, the reader of generators that draw from noise.
        """
        _one_of("takes", takes, TAKES, name)
        if pairing is not None:
            _one_of("pairing", pairing, PAIRINGS, name)
        scores = tuple(scores)
        for s in scores:
            _one_of("scores", s, SCORES, name)
        features = frozenset(supports) if not isinstance(supports, str) else frozenset((supports,))
        for feature in sorted(features):
            _one_of("supports", feature, SHARED, name)
        shared = frozenset(f for f in SHARED if f in features)  # the same set, as the names each was checked to be
        models: dict[str, tuple[str, ...]] = {}
        for what, given in (("generators", generators), ("discriminators", discriminators), ("losses", losses)):
            if isinstance(given, str):  # ("progan") without its comma: a name, not a tuple of names
                raise ValueError(f"{name!r}: {what} must be a tuple of component names, not {given!r}")
            models[what] = tuple(check_name(n) for n in given)
        if trained is not None and not (callable(trained) or (isinstance(trained, str) and ":" in trained)):
            raise ValueError(f"{name!r}: trained must be a class or a lazy 'module:Class' string, not {trained!r}")
        spec = self._add("algorithm", name, factory, doc, aliases, takes=takes, pairing=pairing, scores=scores,
                         adversarial_optional=adversarial_optional, supports=shared, trained=trained,
                         generators=models["generators"], discriminators=models["discriminators"],
                         losses=models["losses"])
        if default:
            if self._registry.default_algorithm is not None:
                self._registry.set_default_algorithm(spec)  # raises: another plugin's is the default
            self._default_algorithm = spec
        return spec

    def logger(self, name: str, factory: str | Callable[..., object], *, doc: str | None = None,
               aliases: Iterable[str] = ()) -> ComponentSpec:
        """An experiment tracker: ``factory(run_dir, **params)`` returns a `ganzoo.loggers.Logger`."""
        return self._add("logger", name, factory, doc, aliases)

    def metric(self, name: str, factory: str | Callable[..., object], *, doc: str | None = None,
               aliases: Iterable[str] = (), needs: Iterable[str] = (), keys: Iterable[MetricKey] = (),
               takes: Iterable[str] = ("noise",), default: bool = False,
               extras: Iterable[str] = ()) -> ComponentSpec:
        """A metric: ``factory()`` returns a `ganzoo.evaluation.metric.Metric`, called once per evaluation with
        the inputs every metric of it shares (`ganzoo.evaluation.metric.Evaluation`), and returning its numbers
        by key.

        ``needs``: what it needs of an evaluation, names of `ganzoo.specs.NEEDS` ("labels", "pairs",
        "features", "classes", "heldout", ...); an evaluation that cannot give one leaves it out of its default
        set, and refuses it in one line when it is asked for by name. ``keys``: the numbers it gives, each a
        `ganzoo.specs.MetricKey` (its label, format, which way is better, whether it gives a real-vs-real
        ``KEY_floor``). ``takes``: the generators it measures, by what they take ("noise": samples drawn from
        noise; "image": translations). ``default``: plain `ganzoo eval` and evaluation during training compute
        it; otherwise only when it is named (``ganzoo eval --metric NAME``, ``train.metrics``). ``extras``: other
        entries it may put in a result besides its numbers (details, such as the name of a weights file).
        """
        info = _metric_info(name, needs, keys, takes, default, extras)
        return self._add("metric", name, factory, doc, aliases, metric=info)

    def loss(self, name: str, factory: str | Callable[..., object], *, role: str, doc: str | None = None,
             aliases: Iterable[str] = ()) -> ComponentSpec:
        """A loss term; ``role`` is ``"adversarial"`` (exactly one per spec) or ``"regularizer"``."""
        if role not in ("adversarial", "regularizer"):
            raise ValueError(f"loss {name!r}: role must be 'adversarial' or 'regularizer', not {role!r}")
        return self._add("loss", name, factory, doc, aliases, role=role)

    def dataset(self, name: str, factory: str | Callable[..., object], *, doc: str | None = None,
                aliases: Iterable[str] = (), evaluation: DatasetEvaluation | None = None,
                pairing: str | None = None) -> ComponentSpec:
        """A dataset: ``factory(**params)`` returns a `ganzoo.interfaces.Dataset`.

        ``evaluation`` declares what `ganzoo eval` may use beyond the data (shipped classifier
        weights, a mode-coverage metric); a ``split`` parameter ("train" / "heldout" / "all")
        gives evaluation a held-out part the GAN never trained on. ``pairing``: "paired" for
        (input, target) pairs (the dataset has ``pairs()``), "unpaired" for two domains (``domains()``).
        """
        if pairing is not None:
            _one_of("pairing", pairing, PAIRINGS, name)
        return self._add("dataset", name, factory, doc, aliases, evaluation=evaluation, pairing=pairing)


def _needs(algorithm: str | None, name: str) -> str | None:
    """The algorithm a model registration names, checked as a name (it may come from another plugin)."""
    if algorithm is None:
        return None
    try:
        return check_name(algorithm)
    except ValueError as exc:
        raise ValueError(f"{name!r}: algorithm: {exc}") from None


def _names(what: str, given: Iterable[str], name: str) -> tuple[str, ...]:
    if isinstance(given, str):  # ("labels") without its comma: a name, not a tuple of names
        raise ValueError(f"{name!r}: {what} must be a tuple of names, not {given!r}")
    return tuple(given)


def _metric_info(name: str, needs: Iterable[str], keys: Iterable[MetricKey], takes: Iterable[str], default: bool,
                 extras: Iterable[str]) -> MetricInfo:
    """A metric's declaration, checked where it is made (a wrong need or key fails on the line that wrote it)."""
    import re

    needs, takes, extras = _names("needs", needs, name), _names("takes", takes, name), _names("extras", extras, name)
    for need in needs:
        _one_of("needs", need, tuple(NEEDS), name)
    if not takes:
        raise ValueError(f"{name!r}: takes must name what the generators it measures take ({', '.join(TAKES)})")
    for t in takes:
        _one_of("takes", t, TAKES, name)
    declared = tuple(keys)
    if not declared:
        raise ValueError(f"{name!r}: keys must declare the numbers the metric gives (ganzoo.specs.MetricKey)")
    seen: set[str] = set()
    for k in declared:
        if not isinstance(k, MetricKey):
            raise ValueError(f"{name!r}: keys must be ganzoo.specs.MetricKey, not {k!r}")
        if not re.match(r"^[a-z][a-z0-9_]*$", k.key) or k.key.endswith("_floor") or k.key in seen:
            raise ValueError(f"{name!r}: key {k.key!r} must be a new lowercase identifier not ending in _floor")
        seen.add(k.key)
        if k.better is not None:
            _one_of("better", k.better, BETTER, f"{name}: {k.key}")
        for t, _ in k.hints:
            _one_of("hints", t, TAKES, f"{name}: {k.key}")
        for fmt in (k.fmt, k.brief_fmt):
            try:
                fmt.format(1)
            except (ValueError, IndexError, KeyError) as exc:
                raise ValueError(f"{name!r}: key {k.key!r}: format {fmt!r} cannot show a number ({exc})") from None
    for k in declared:
        if k.total is not None and k.total not in seen:
            raise ValueError(f"{name!r}: key {k.key!r} counts out of {k.total!r}, which the metric does not declare")
    for extra in extras:
        if extra in seen or not re.match(r"^[a-z][a-z0-9_]*$", extra):
            raise ValueError(f"{name!r}: extra {extra!r} must be a lowercase identifier other than its keys")
    return MetricInfo(needs=needs, keys=declared, takes=takes, default=bool(default), extras=extras)


def _one_of(what: str, value: object, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"{name!r}: {what} must be one of {', '.join(allowed)}, not {value!r}")


class RecipeRegistrar:
    """What a plugin's ``ganzoo_register_recipes`` hook receives; staged until `commit`, like components."""

    def __init__(self, registry: Registry, plugin: PluginInfo):
        self._registry = registry
        self.plugin = plugin
        self.registered: list[RecipeSpec] = []
        self.weights: list[PretrainedSpec] = []
        #: weights registered before their file exists: skipped alone, each reported in one line (`warnings`)
        self.missing: list[PretrainedSpec] = []
        self._default: tuple[str, str] | None = None

    def _stage(self, spec: RecipeSpec) -> RecipeSpec:
        taken = next((r for r in self.registered if r.name == spec.name), None)
        if taken is None and spec.name in self._registry.names("recipe"):
            taken = self._registry.recipe(spec.name)
        if taken is not None:
            raise DuplicateNameError(f"recipe {spec.name!r} from {spec.source} is already defined by {taken.source}",
                                     "rename one of them")
        self.registered.append(spec)
        return spec

    def commit(self) -> None:
        for spec in self.registered:
            self._registry.add_recipe(spec)
        for weights in self.weights:
            self._registry.add_pretrained(weights)
        for weights in self.missing:
            self._registry.add_missing_pretrained(weights)
        if self._default is not None:
            self._registry.set_default(*self._default)

    @property
    def warnings(self) -> list[str]:
        """One line per registration skipped alone (the plugin's other registrations stay)."""
        return [f"pretrained {w.name!r}: {w.path} is missing, so `ganzoo sample {w.name}` cannot use it yet "
                f"(export a trained run's generator there with ganzoo.pretrained.export)" for w in self.missing]

    # config: the type of RecipeSpec.config, so that any dict of tables a plugin holds is taken
    def recipe(self, name: str, config: dict[str, Any], *, doc: str = "", data: str = "") -> RecipeSpec:
        """``data``: for a recipe that trains on the user's own files, what to download and where to point
        --data-root (the one-line message a run without --data-root gets)."""
        from ..config.recipes import validate_recipe

        source = f"plugin {self.plugin.name}"
        validate_recipe(name, config, source)
        return self._stage(RecipeSpec(name, config, source, self.plugin, doc, data))

    def toml(self, path: str | Path) -> list[RecipeSpec]:
        from ..config.recipes import load_recipe_file

        recipes, default = load_recipe_file(Path(path), plugin=self.plugin)
        for spec in recipes:
            self._stage(spec)
        if default:
            self._default = (default, str(path))
        return recipes

    def pretrained(self, recipe: str, path: str | Path, *, sha256: str) -> PretrainedSpec:
        """Ship trained generator weights for ``recipe``, one of this plugin's own recipes (registered before
        this call): `ganzoo sample RECIPE`, `ganzoo eval RECIPE` and `ganzoo run --init RECIPE` then use the
        file at ``path`` (a checkpoint written by `ganzoo.pretrained.export`) once its ``sha256`` matches.

        A file that is not there (yet: the plugin is being developed before its weights exist) skips this
        registration alone, with one warning line (`ganzoo plugins` shows it); its digest is checked once the
        file exists, and `ganzoo sample RECIPE` says the file is missing meanwhile."""
        if recipe not in {r.name for r in self.registered}:
            raise ValueError(f"pretrained weights for {recipe!r}: register the recipe first, in the same hook "
                             f"(a plugin ships weights for its own recipes)")
        if not Path(str(path)).is_file():
            spec = PretrainedSpec(recipe, str(path), str(sha256), self.plugin, f"plugin {self.plugin.name}")
            self.missing.append(spec)
            return spec
        if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
            raise ValueError(f"pretrained weights for {recipe!r}: sha256 must be 64 lowercase hex digits")
        if any(w.name == recipe for w in self.weights):
            raise DuplicateNameError(f"pretrained weights for {recipe!r} are registered twice by plugin "
                                     f"{self.plugin.name!r}")
        spec = PretrainedSpec(recipe, str(path), sha256, self.plugin, f"plugin {self.plugin.name}")
        self.weights.append(spec)
        return spec
