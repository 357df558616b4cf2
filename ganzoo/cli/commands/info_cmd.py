"""`ganzoo info NAME`: a component's docstring, parameters and plugin; a recipe's
composition; or what a composed loss spec such as ``bce+0.5*l1`` does."""

from __future__ import annotations

from typing import TypedDict, final

import click

from ...base.errors import UnknownNameError
from ...base.specs import ALL_KINDS, KINDS, SAMPLING_OPTIONS, ComponentSpec, RecipeSpec
from ...config.lossspec import LossSpec, LossSpecError, resolve_terms
from ...plugin.heads import MAIN
from ...plugin.registry import Registry
from ._common import json_option, kind_option, print_json


# What `lookup` gives (and `ganzoo info --json` prints): one TypedDict per kind of entry.

class ParamEntry(TypedDict):
    name: str
    type: str
    default: object
    required: bool


class KeyEntry(TypedDict):
    key: str
    label: str
    better: str | None
    floor: bool
    hint: str


class MetricEntry(TypedDict):
    needs: list[str]
    takes: list[str]
    default: bool
    extras: list[str]
    keys: list[KeyEntry]


class _Models(TypedDict, total=False):  # generators and discriminators
    algorithm: str | None
    heads: list[str]


class _Algorithm(TypedDict, total=False):  # algorithms
    supports: list[str]
    generators: list[str]
    discriminators: list[str]
    losses: list[str]


class _Metric(TypedDict, total=False):  # metrics
    metric: MetricEntry


class _Component(TypedDict):
    kind: str
    name: str
    plugin: str
    distribution: str | None
    version: str | None
    factory: str
    summary: str
    doc: str
    aliases: list[str]
    conditional: bool
    role: str | None
    sampling: list[str]
    params: list[ParamEntry]


class _ComponentKeys(_Component, _Models, _Algorithm, _Metric, total=False):
    """Every key of a component's entry: the ones of its kind among them."""


# final, as the others below: `"KEY" in entry` then tells mypy which kind of entry it is
@final
class ComponentEntry(_ComponentKeys):
    """A registered component."""


@final
class TermEntry(_ComponentKeys):
    """A term of a composed loss spec: its loss component, and its weight."""

    weight: float


@final
class LossSpecEntry(TypedDict):
    kind: str  # "loss-spec"
    name: str
    terms: list[TermEntry]


class PretrainedEntry(TypedDict):
    plugin: str
    path: str
    sha256: str


@final
class RecipeEntry(TypedDict):
    kind: str  # "recipe"
    name: str
    summary: str
    doc: str
    source: str
    plugin: str
    default: bool
    config: dict[str, object]
    data: str | None
    pretrained: PretrainedEntry | None
    pretrained_hidden: str | None


Entry = ComponentEntry | LossSpecEntry | RecipeEntry


def _component(spec: ComponentSpec) -> ComponentEntry:
    models: _Models = ({"algorithm": spec.algorithm, "heads": list(spec.heads)}
                       if spec.kind in ("generator", "discriminator") else {})
    algorithm: _Algorithm = ({"supports": sorted(spec.supports), "generators": list(spec.generators),
                              "discriminators": list(spec.discriminators), "losses": list(spec.losses)}
                             if spec.kind == "algorithm" else {})
    metric: _Metric = {"metric": _metric(spec)} if spec.metric is not None else {}
    return {
        "kind": spec.kind, "name": spec.name, "plugin": spec.plugin.name,
        "distribution": spec.plugin.dist, "version": spec.plugin.version, "factory": spec.target,
        "summary": spec.summary, "doc": spec.doc, "aliases": list(spec.aliases),
        "conditional": spec.conditional, "role": spec.role, "sampling": list(spec.sampling),
        **models, **algorithm, **metric,
        "params": [{"name": p.name, "type": p.type, "default": p.default, "required": p.required}
                   for p in spec.params],
    }


def _metric(spec: ComponentSpec) -> MetricEntry:
    """What a metric declares: what it needs and measures, whether plain `ganzoo eval` computes it, its keys."""
    info = spec.metric
    assert info is not None
    return {"needs": list(info.needs), "takes": list(info.takes), "default": info.default, "extras": list(info.extras),
            "keys": [{"key": k.key, "label": k.label, "better": k.better, "floor": k.floor, "hint": k.hint}
                     for k in info.keys]}


def _recipe(spec: RecipeSpec, registry: Registry) -> RecipeEntry:
    weights = registry.pretrained(spec.name)
    return {"kind": "recipe", "name": spec.name, "summary": spec.summary, "doc": spec.doc,
            "source": spec.source, "plugin": spec.plugin.name if spec.plugin else "user",
            "default": spec.name == registry.default_recipe, "config": spec.config, "data": spec.data or None,
            "pretrained": {"plugin": weights.plugin.name, "path": weights.path, "sha256": weights.sha256}
            if weights is not None else None, "pretrained_hidden": _hidden(spec, registry)}


def _hidden(spec: RecipeSpec, registry: Registry) -> str | None:
    """Why a plugin's shipped generator is not offered under this name: a user's recipe replaced its recipe."""
    weights = registry.shadowed_pretrained(spec.name)
    if weights is None:
        return None
    return (f"plugin {weights.plugin.name!r} ships a trained generator for its own recipe {spec.name!r}, which "
            f"{spec.source} replaces: it is not offered under this name (rename your recipe to use both)")


def _loss_spec(spec: LossSpec, registry: Registry) -> LossSpecEntry:
    terms = resolve_terms(spec, registry)
    return {"kind": "loss-spec", "name": spec.text, "terms": [{"weight": t.weight, **_component(t.spec)} for t in terms]}


def lookup(name: str, kind: str | None) -> list[Entry]:
    """What ``name`` is: every component or recipe so called, else a composed loss spec."""
    from ...plugin.manager import get_registry

    registry = get_registry()
    found = registry.find(name, kind)
    if found:
        return [_recipe(s, registry) if isinstance(s, RecipeSpec) else _component(s) for s in found]
    if kind in (None, "loss"):
        try:
            spec: LossSpec | None = LossSpec.parse(name)
        except LossSpecError as exc:
            if exc.composed:  # meant as a spec (it has a '+' or a weight): say what is wrong with it
                raise
            spec = None  # not even a name's spelling: reported as an unknown name below
        if spec is not None and spec.composed:
            return [_loss_spec(spec, registry)]
    kinds = [kind] if kind else list(ALL_KINDS)
    names = [n for k in kinds for n in registry.names(k)]
    elsewhere = [k for k in KINDS if k != kind and registry.has(k, name)]
    raise UnknownNameError(kind or "component or recipe", name, names, registered_as=elsewhere)


def _show(entry: Entry) -> None:
    """Print ``entry``; its names, docs, paths and settings are a plugin's or user's text, so never markup."""
    from rich.markdown import Markdown
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    from ...base.console import console
    from ...plugin.params import type_label

    if "terms" in entry:  # a loss spec
        console.print(f"[bold]loss spec[/] {escape(entry['name'])}: L = " + " + ".join(
            (f"{t['weight']:g}·" if t["weight"] != 1 else "") + escape(t["name"]) for t in entry["terms"]))
        for term in entry["terms"]:
            console.print(f"  [bold]{escape(term['name'])}[/] (weight {term['weight']:g}, {term['role']}, "
                          f"{escape(term['distribution'] or term['plugin'])}): {escape(term['summary'])}")
        return
    title = f"{entry['kind']} [bold]{escape(entry['name'])}[/]"
    lines = []
    if "source" in entry:  # a recipe
        lines.append(f"source: {entry['source']}" + ("  (the default recipe)" if entry["default"] else ""))
        table = Table(box=None, show_header=True, header_style="bold")
        table.add_column("table")
        table.add_column("settings")
        for key, value in entry["config"].items():
            table.add_row(escape(key), escape(", ".join(f"{k} = {v!r}" for k, v in value.items())
                                              if isinstance(value, dict) else repr(value)))
        console.print(Panel.fit(table, title=title))
        console.print(lines[0], markup=False)
        if entry["doc"]:
            console.print(entry["doc"], markup=False)
        if entry["data"]:
            console.print(f"data: {entry['data']}", highlight=False, markup=False)
        if entry["pretrained"]:
            console.print(f"pretrained: its trained generator ships with plugin {entry['pretrained']['plugin']!r} "
                          f"(ganzoo sample {entry['name']}, ganzoo run --init {entry['name']})", highlight=False,
                          markup=False)
        if entry["pretrained_hidden"]:
            console.print(f"pretrained: {entry['pretrained_hidden']}", highlight=False, soft_wrap=True, markup=False)
        return
    where = f"{entry['distribution']} {entry['version']}" if entry["distribution"] else entry["plugin"]
    meta = f"plugin [cyan]{escape(entry['plugin'])}[/] ({escape(where)}) · factory {escape(entry['factory'])}"
    if entry["role"]:
        meta += f" · {entry['role']} term"
    if entry["conditional"]:
        meta += " · conditional (needs class labels)"
    console.print(Panel(Markdown(entry["doc"] or "(no docstring)"), title=title, subtitle=meta, title_align="left"))
    if entry.get("algorithm"):
        console.print(f"trains with algorithm {entry['algorithm']} alone (a run naming none uses it)",
                      highlight=False, markup=False)
    if entry["kind"] == "algorithm":
        shared = ", ".join(entry["supports"]) or "none"
        console.print(f"shares with the trainer: {shared} (a run that turns on another of ema, amp, compile, ddp "
                      "is refused)", highlight=False, soft_wrap=True, markup=False)
        for kind in ("generators", "discriminators", "losses"):
            if entry[kind]:
                console.print(f"trains the {kind}: {', '.join(entry[kind])}", highlight=False, markup=False)
    if entry.get("metric"):
        _show_metric(entry["name"], entry["metric"])
    if entry.get("heads"):  # what forward_heads returns besides what forward does
        output = "scores" if entry["kind"] == "discriminator" else "samples"
        console.print(f"heads: {', '.join(entry['heads'])} (forward_heads(x, labels) returns each by name, with the "
                      f"{output} under {MAIN!r})", highlight=False, soft_wrap=True, markup=False)
    for name in entry.get("sampling") or ():
        option = SAMPLING_OPTIONS.get(name)
        if option is not None:  # what `ganzoo sample --FLAG` means for this generator
            console.print(f"ganzoo sample --{option.flag} VALUE: the {option.meaning} ({option.range})",
                          highlight=False, soft_wrap=True)
    if entry["params"]:
        table = Table(title="parameters", title_justify="left", box=None, header_style="bold")
        for col in ("name", "type", "default"):
            table.add_column(col)
        for p in entry["params"]:
            table.add_row(escape(p["name"]), escape(type_label(p["type"])),
                          "(required)" if p["required"] else escape(repr(p["default"])))
        console.print(table)


def _show_metric(name: str, metric: MetricEntry) -> None:
    """A metric's declaration: what it measures and needs, whether plain `ganzoo eval` computes it, its numbers."""
    from rich.markup import escape
    from rich.table import Table

    from ...base.console import console
    from ...base.specs import NEEDS

    def say(line: str) -> None:
        console.print(line, highlight=False, soft_wrap=True, markup=False)

    kinds = {"noise": "samples drawn from noise", "image": "translations of images"}
    say("measures: " + ", ".join(kinds.get(t, t) for t in metric["takes"]))
    for need in metric["needs"]:
        say(f"needs {need}: {NEEDS.get(need, need)}")
    say(f"computed by plain `ganzoo eval` and --eval-every: {'yes' if metric['default'] else 'no'} "
        f"(ganzoo eval RUN --metric {name}; train.metrics)")
    table = Table(title="numbers", title_justify="left", box=None, header_style="bold")
    for col in ("key", "label", "better", "floor", "how to read it"):
        table.add_column(col, overflow="fold" if col == "how to read it" else "ellipsis")
    for k in metric["keys"]:
        table.add_row(escape(k["key"]), escape(k["label"] or "-"), k["better"] or "-",
                      f"{k['key']}_floor" if k["floor"] else "-", escape(k["hint"]))
    console.print(table)


@click.command("info")
@click.argument("name")
@kind_option
@json_option
def info_cmd(name: str, kind: str | None, as_json: bool) -> None:
    """Show what NAME is: docstring, parameters and plugin; a recipe's composition;
    or a composed loss spec such as bce+0.5*l1."""
    entries = lookup(name, kind)
    if as_json:
        print_json(entries if len(entries) > 1 else entries[0])
        return
    for entry in entries:
        _show(entry)
