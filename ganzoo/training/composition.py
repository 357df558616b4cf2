"""Every name a run config uses, looked up in the registry once, before torch is imported.

`lookup` turns a `RunConfig` into a `Composition`: the training algorithm
(the one the config names; else the one its generator or discriminator
trains with alone; else the registry's default), the generator,
discriminator and dataset specs (checked to fit the algorithm: what its
generators take, the pairing of its data, the scores it reads, the models
it names and the algorithm a model names), the loss spec's terms resolved to the
registered losses (with the one-adversarial-term rule), each
component's parameters checked against its declaration (`ganzoo.params`),
the loggers of ``train.loggers`` (`ganzoo.loggers`), and the metrics of ``train.metrics``
(`ganzoo.evaluation.selection.check_run`).
``ganzoo run`` calls it right after resolving the config, so a wrong name or
parameter is one line within a fraction of a second; the trainer and
`ganzoo.training.assemble` then build from the `Composition` without looking
anything up again. Torch-free.

`check_supports` holds a run's shared settings (EMA, AMP, compile, DDP) to
what its algorithm declares; the trainer calls it once it knows the device
and the number of processes, before it joins a process group or builds
anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base.errors import UsageError
from ..base.specs import ComponentSpec
from ..config.lossspec import Term, resolve_terms, term_params
from ..config.runconfig import RunConfig
from ..config.settings import TrainSettings
from ..plugin.params import check_params
from ..plugin.registry import Registry
from .loggers import check_loggers

__all__ = ["Composition", "lookup", "check_fit", "check_supports"]


@dataclass(frozen=True)
class Composition:
    """A run config with the registry entries it names; ``config`` holds the checked parameters."""

    config: RunConfig
    algorithm: ComponentSpec
    generator: ComponentSpec
    discriminator: ComponentSpec
    dataset: ComponentSpec
    terms: tuple[Term, ...]
    loggers: tuple[ComponentSpec, ...] = ()

    @property
    def specs(self) -> dict[str, ComponentSpec]:
        """The named components by kind (the loss is ``terms``)."""
        return {"algorithm": self.algorithm, "generator": self.generator, "discriminator": self.discriminator,
                "dataset": self.dataset}


def lookup(config: RunConfig, registry: Registry) -> Composition:
    """Look up every name in ``config``: UnknownNameError (with a suggestion), UsageError for a
    loss spec the registry cannot satisfy, ParamError for a parameter the component does not declare,
    UsageError for components that do not fit the algorithm."""
    gen = registry.get("generator", config.gen["name"])
    disc = registry.get("discriminator", config.disc["name"])
    algo = _algorithm(config, registry, gen, disc)
    data = registry.get("dataset", config.dataset["name"])
    _check_data_root(config, data, registry)
    loggers = check_loggers(config.settings.loggers, registry)
    check_fit(algo, gen, disc, data, registry)
    if config.settings.metrics:  # what the run evaluates during training, held to its generator and data
        from ..evaluation.selection import check_run

        check_run(config.settings.metrics, gen, data, registry)
    terms = resolve_terms(config.loss_spec, registry, adversarial_optional=algo.adversarial_optional)
    check_losses(algo, terms)
    tables = term_params(terms, config.loss_params, config.loss_spec.text)
    loss: dict[str, Any] = {"name": config.loss["name"]}
    for term in terms:
        checked = check_params(term.spec, tables[term.name])
        if checked:
            loss[term.name] = checked
    checked_config = dataclasses.replace(
        config,
        gen=_table(config.gen, check_params(gen, RunConfig.params(config.gen))),
        disc=_table(config.disc, check_params(disc, RunConfig.params(config.disc))),
        # None is how a flag that was not given reads (--data-root); the dataset's own default applies
        dataset=_table(config.dataset, check_params(data, {k: v for k, v in RunConfig.params(config.dataset).items()
                                                           if v is not None})),
        loss=loss, algo=_table({"name": algo.name}, check_params(algo, RunConfig.params(config.algo))))
    return Composition(checked_config, algo, gen, disc, data, terms, loggers)


def _check_data_root(config: RunConfig, data: ComponentSpec, registry: Registry) -> None:
    """A recipe that trains on the user's own files says what to download when no --data-root is given."""
    if config.recipe is None or config.recipe not in registry.names("recipe") or config.dataset.get("root"):
        return
    recipe = registry.recipe(config.recipe)
    if recipe.data and any(p.name == "root" for p in data.params) and config.dataset["name"] == recipe.component(
            "dataset"):
        raise UsageError(f"recipe {recipe.name!r} trains on a folder of your own images: pass --data-root DIR",
                         " ".join(recipe.data.split()))  # one line, however the recipe file wraps its text


def _algorithm(config: RunConfig, registry: Registry, gen: ComponentSpec, disc: ComponentSpec) -> ComponentSpec:
    """The algorithm the config names; else the one its models train with alone (`ComponentSpec.algorithm`), so
    that ``--gen X`` of a model that needs algorithm X trains with X; else the registry's default."""
    needed = {s.algorithm for s in (gen, disc) if s.algorithm is not None}
    if len(needed) > 1 and not config.algo.get("name"):
        raise UsageError(f"{gen.who} trains with algorithm {gen.algorithm!r} alone, and {disc.who} with "
                         f"{disc.algorithm!r}", "choose a --gen and --disc that train with one algorithm")
    name = config.algo.get("name") or (needed.pop() if needed else registry.default_algorithm)
    if name is None:
        raise UsageError("the run names no training algorithm and no plugin registers a default one",
                         "name one with --algo (see `ganzoo list --kind algorithm`)")
    return registry.get("algorithm", name)


def _examples(registry: Registry, kind: str, fits: Callable[[ComponentSpec], bool]) -> str:
    names = [s.name for s in registry.components(kind) if fits(s)]
    return " or ".join(names[:3]) if names else "none is installed"


def check_fit(algo: ComponentSpec, gen: ComponentSpec, disc: ComponentSpec, data: ComponentSpec,
              registry: Registry) -> None:
    """The generator, discriminator and dataset must be of the kind the algorithm declares, the models those it
    names, and a model that names an algorithm must have that one (UsageError)."""
    for model in (gen, disc):
        if model.algorithm is not None and model.algorithm != algo.name:
            raise UsageError(f"{model.who} trains with algorithm {model.algorithm!r} alone; this run names "
                             f"{algo.name!r}", f"--algo {model.algorithm}, or leave --algo out")
    for kind, flag, model, names in (("generator", "gen", gen, algo.generators),
                                     ("discriminator", "disc", disc, algo.discriminators)):
        if names and model.name not in names:
            raise UsageError(f"{algo.name} trains the {' or '.join(names)} {kind}; {kind} {model.name!r} "
                             f"is not one", f"--{flag} {names[0]}, or train {model.name} with another --algo")
    if data.pairing != algo.pairing:
        wanted = {None: "a dataset of samples", "paired": "a paired dataset",
                  "unpaired": "an unpaired dataset (two domains)"}
        has = {None: "holds samples", "paired": "is paired (for an algorithm such as pix2pix)",
               "unpaired": "is unpaired (for an algorithm such as cyclegan)"}
        raise UsageError(f"{algo.name} needs {wanted[algo.pairing]} such as "
                         f"{_examples(registry, 'dataset', lambda s: s.pairing == algo.pairing)}; "
                         f"dataset {data.name!r} {has[data.pairing]}",
                         f"--algo {_examples(registry, 'algorithm', lambda s: s.pairing == data.pairing)} trains on it")
    if gen.takes != algo.takes:
        wanted = {"noise": "a generator of latent codes", "image": "an image-to-image generator"}
        raise UsageError(f"{algo.name} needs {wanted[algo.takes]} such as "
                         f"{_examples(registry, 'generator', lambda s: s.takes == algo.takes)}; "
                         f"generator {gen.name!r} takes {'images' if gen.takes == 'image' else 'latent codes'}",
                         "choose another --gen (see `ganzoo list --kind generator`)")
    if not set(disc.scores) & set(algo.scores):
        raise UsageError(f"{algo.name} needs a discriminator that scores each "
                         f"{' or '.join(algo.scores)}, such as "
                         f"{_examples(registry, 'discriminator', lambda s: bool(set(s.scores) & set(algo.scores)))}; "
                         f"discriminator {disc.name!r} scores each {disc.scores[0]}",
                         "choose another --disc (see `ganzoo list --kind discriminator`)")


def check_losses(algo: ComponentSpec, terms: tuple[Term, ...]) -> None:
    """Every term of the run's loss spec must be one the algorithm declares it trains with
    (``register.algorithm(..., losses=...)``; none declared: any), in one UsageError line naming the others."""
    refused = [t.name for t in terms if algo.losses and t.name not in algo.losses]
    if refused:
        raise UsageError(f"{algo.name} trains with the loss terms {', '.join(algo.losses)}; the loss spec names "
                         f"{', '.join(repr(n) for n in refused)}", f"compose --loss from {', '.join(algo.losses)}")


def _table(table: dict[str, Any], params: dict[str, object]) -> dict[str, Any]:
    return {"name": table["name"], **params}


def check_supports(algo: ComponentSpec, train: TrainSettings, *, world_size: int, cuda: bool) -> None:
    """Refuse a run that turns on what the trainer shares (`ganzoo.specs.SHARED`) with an algorithm that does not
    declare it (``register.algorithm(..., supports=...)``): one UsageError line naming the algorithm and the
    setting, never a setting silently dropped. ``train.amp`` counts only on CUDA, the one place it acts."""
    who = f"algorithm {algo.name!r} (plugin {algo.plugin.name!r})"
    # the two forms of `ganzoo.training.ema.enabled`, read here without importing torch
    key, value = ("ema_kimg", train.ema_kimg) if train.ema_kimg > 0 else ("ema", train.ema)
    if value > 0 and "ema" not in algo.supports:
        raise UsageError(f"{who} keeps no EMA of its generator, and this run sets train.{key} = {value:g}",
                         "set train.ema=0 and train.ema_kimg=0 (--set), or train with an algorithm that keeps one")
    if train.amp and cuda and "amp" not in algo.supports:
        raise UsageError(f"{who} does not run under AMP (bf16 autocast), which train.amp turns on for CUDA",
                         "--no-amp (train.amp=false)")
    if train.compile and "compile" not in algo.supports:
        raise UsageError(f"{who} does not use torch.compile, and this run sets train.compile = true",
                         "leave out --compile (train.compile=false)")
    if world_size > 1 and "ddp" not in algo.supports:
        raise UsageError(f"{who} does not train under DDP, and this run has {world_size} processes (torchrun)",
                         "run it in one process")
