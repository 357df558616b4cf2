"""Every name a run config uses, looked up in the registry once, before torch is imported.

`lookup` turns a `RunConfig` into a `Composition`: the generator,
discriminator and dataset specs, the loss spec's terms resolved to the
registered losses (with the one-adversarial-term rule), and each
component's parameters checked against its declaration (`ganzoo.params`).
``ganzoo run`` calls it right after resolving the config, so a wrong name or
parameter is one line within a fraction of a second; the trainer and
`ganzoo.assemble` then build from the `Composition` without looking
anything up again. Torch-free.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .config import RunConfig
from .lossspec import Term, resolve_terms, term_params
from .params import check_params
from .registry import Registry
from .specs import ComponentSpec

__all__ = ["Composition", "lookup"]


@dataclass(frozen=True)
class Composition:
    """A run config with the registry entries it names; ``config`` holds the checked parameters."""

    config: RunConfig
    generator: ComponentSpec
    discriminator: ComponentSpec
    dataset: ComponentSpec
    terms: tuple[Term, ...]

    @property
    def specs(self) -> dict[str, ComponentSpec]:
        """The named components by kind (the loss is ``terms``)."""
        return {"generator": self.generator, "discriminator": self.discriminator, "dataset": self.dataset}


def lookup(config: RunConfig, registry: Registry) -> Composition:
    """Look up every name in ``config``: UnknownNameError (with a suggestion), UsageError for a
    loss spec the registry cannot satisfy, ParamError for a parameter the component does not declare."""
    gen = registry.get("generator", config.gen["name"])
    disc = registry.get("discriminator", config.disc["name"])
    data = registry.get("dataset", config.dataset["name"])
    terms = resolve_terms(config.loss_spec, registry)
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
        loss=loss)
    return Composition(checked_config, gen, disc, data, terms)


def _table(table: dict[str, Any], params: dict[str, object]) -> dict[str, Any]:
    return {"name": table["name"], **params}
