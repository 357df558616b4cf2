"""Which metrics an evaluation computes: the names asked for, looked up in the registry and held to what the
evaluation can give them (`ganzoo.specs.NEEDS`).

No names (``ganzoo eval`` without ``--metric``, an empty ``train.metrics``) is the default set: every metric
registered with ``default=True`` that measures what the generator gives (``takes``) and whose needs this
evaluation meets, in registration order; a default metric whose needs are not met is left out without a word
(a noise generator has no pairs; that is no news). Named metrics are computed in registration order too, and one
whose needs are not met is refused in one line (`UsageError`, exit 2) before anything is computed. The Inception
features of standard FID are part of the default set only when asked for (``--inception``, ``inception=True``);
a metric named explicitly gets them regardless.

Torch-free: ``ganzoo run`` holds ``train.metrics`` to its generator and dataset with it (`check_run`) before
torch is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ..base.errors import UsageError
from ..base.specs import NEEDS, ComponentSpec
from ..plugin.registry import Registry

#: what a metric measures, by what the generators it measures take
MEASURES = {"noise": "samples drawn from noise", "image": "translations of images"}
#: what an evaluation gives, by what its generator takes
GIVES = {"noise": "gives samples (drawn from noise)", "image": "gives translations of images"}


@dataclass(frozen=True)
class Source:
    """What an evaluation can give its metrics, said before anything is computed.

    ``takes``: what its generator takes ("noise": samples; "image": translations). ``what``: how messages name
    it. ``has``: the needs (`ganzoo.specs.NEEDS`) it meets; ``why``: for a need it does not meet, why, in a few
    words (the end of the line that refuses a metric). ``pending``: needs it cannot tell yet (the data is not
    read): a metric that needs one is not refused on its account.
    """

    takes: str
    what: str
    has: frozenset[str]
    why: Mapping[str, str] = field(default_factory=dict)
    pending: frozenset[str] = frozenset()


def resolve(names: Iterable[str] | str | None, registry: Registry) -> tuple[ComponentSpec, ...] | None:
    """The registered metrics ``names`` stand for, each once (an alias and its name are one); None, for no
    names, is the default set. `UnknownNameError` (one line, with a suggestion) for a name no plugin registers."""
    if names is None:
        return None
    if isinstance(names, str):
        names = (names,)
    found: dict[str, ComponentSpec] = {}
    for name in names:
        spec = registry.get("metric", name)
        found.setdefault(spec.name, spec)
    return tuple(found.values()) or None


def refusal(spec: ComponentSpec, source: Source) -> tuple[str, str] | None:
    """(message, hint) saying why ``source`` cannot give metric ``spec`` what it needs; None when it can."""
    info = spec.metric
    assert info is not None, spec
    if source.takes not in info.takes:
        measures = " and ".join(MEASURES.get(t, t) for t in info.takes)
        return (f"metric {spec.name!r} measures {measures}; {source.what} {GIVES.get(source.takes, source.takes)}",
                f"`ganzoo list --kind metric` lists the metrics; `ganzoo info {spec.name}` says what it measures")
    for need in info.needs:
        if need not in source.has and need not in source.pending:
            why = source.why.get(need, f"{source.what} has none")
            return (f"metric {spec.name!r} needs {NEEDS[need]}: {why}",
                    f"leave it out; `ganzoo info {spec.name}` says what it needs")
    return None


def fits(spec: ComponentSpec, source: Source) -> bool:
    """Whether ``source`` gives metric ``spec`` all it needs (pending needs not counted as given)."""
    info = spec.metric
    return info is not None and source.takes in info.takes and all(n in source.has for n in info.needs)


def choose(asked: tuple[ComponentSpec, ...] | None, source: Source, registry: Registry, *, inception: bool = True,
           strict: bool = True, note: Callable[[str], None] | None = None) -> tuple[ComponentSpec, ...]:
    """The metrics to compute, in registration order.

    ``asked`` None: the default set (see the module doc); ``inception``: whether it includes metrics that need
    Inception features. Named metrics that ``source`` cannot serve are refused (`UsageError`, one line) when
    ``strict``; otherwise (evaluation during training, which must not end a run) left out, each said in one
    line to ``note``.
    """
    order = {s.name: i for i, s in enumerate(registry.metrics())}
    if asked is None:
        return tuple(s for s in registry.metrics() if s.metric is not None and s.metric.default and fits(s, source)
                     and (inception or "inception" not in s.metric.needs))
    chosen = []
    for spec in asked:
        problem = refusal(spec, source)
        if problem is None:
            chosen.append(spec)
        elif strict:
            raise UsageError(*problem)
        elif note is not None:
            note(f"{problem[0]}; left out")
    return tuple(sorted(chosen, key=lambda s: order.get(s.name, len(order))))


def planned(takes: str, conditional: bool | None, dataset: ComponentSpec | None, what: str) -> Source:
    """What an evaluation will be able to give, as far as the registrations tell before any data is read:
    ``takes`` and ``conditional`` of its generator (None: only the data can tell whether there are labels), and
    its dataset's registration (None: unknown)."""
    has: set[str] = {"inception"}
    why: dict[str, str] = {}
    pending = {"reference", "features", "classes", "images"}
    if takes == "noise":
        if conditional:
            has.add("labels")
        elif conditional is None:
            pending.add("labels")
        else:
            why["labels"] = f"{what} is unconditional"
        why["pairs"] = "samples drawn from noise have no targets"
        why["round-trip"] = "samples drawn from noise are not translated back"
    else:
        pending |= {"labels", "round-trip"}
        if dataset is None or dataset.pairing == "paired":
            pending.add("pairs")
        else:
            why["pairs"] = f"dataset {dataset.name!r} is not paired"
    if dataset is None or any(p.name == "split" for p in dataset.params):  # SPLIT_PARAM of .reference
        pending.add("heldout")
    else:
        why["heldout"] = f"dataset {dataset.name!r} declares no held-out split"
    if dataset is None:
        pending.add("modes")
    elif dataset.evaluation is not None and dataset.evaluation.modes:
        has.add("modes")
    else:
        why["modes"] = f"dataset {dataset.name!r} declares no mode metric"
    return Source(takes, what, frozenset(has), why, frozenset(pending))


def check_run(names: Iterable[str], generator: ComponentSpec, dataset: ComponentSpec, registry: Registry) -> None:
    """Hold a run's ``train.metrics`` to its generator and dataset, before anything is built: an unknown name, a
    metric of translations on a noise generator, labels from an unconditional one, pairs from unpaired data, a
    held-out split or mode metric the dataset does not declare, each refused in one line. What only the data
    can tell (labelled images, say) is checked at each evaluation, which leaves out what it cannot compute, in a
    note."""
    asked = resolve(list(names), registry)
    if asked is None:
        return
    conditional = generator.conditional if generator.takes == "noise" else None
    choose(asked, planned(generator.takes, conditional, dataset, f"generator {generator.name!r}"), registry)
