"""The small typed records the registry holds.

Everything here is torch-free on purpose: `ganzoo list`, `ganzoo info` and
`ganzoo --help` work from these records alone, and heavy modules are imported
only when a component is actually built (see `ComponentSpec.load_factory`).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Literal
from collections.abc import Callable, Mapping

KINDS: tuple[str, ...] = ("generator", "discriminator", "loss", "dataset", "algorithm", "logger", "metric")

#: what a generator takes, and what an algorithm's generators must take
TAKES = ("noise", "image")
#: how a dataset's samples go together: None (samples), "paired" (input, target) or "unpaired" (two domains)
PAIRINGS = ("paired", "unpaired")
#: what a discriminator scores: each sample (N,) or each patch (N, 1, h, w)
SCORES = ("sample", "patch")
ALL_KINDS: tuple[str, ...] = KINDS + ("recipe",)

#: what the trainer shares with an algorithm that declares it (``register.algorithm(..., supports=...)``): the EMA
#: of G (`Setup.keep_ema`), bf16 autocast (``train.amp``), torch.compile (`Setup.compiled`) and DDP (`Setup.wrap`)
Shared = Literal["ema", "amp", "compile", "ddp"]
SHARED: tuple[Shared, ...] = ("ema", "amp", "compile", "ddp")

NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def check_name(name: str) -> str:
    """Names are what users type, so they are lowercase-with-dashes and nothing else."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"invalid name {name!r}: names are lowercase letters, digits and single dashes")
    return name


@dataclass(frozen=True)
class SamplingOption:
    """A sampling option a generator may declare (``register.generator(..., sampling=(NAME,))``): which flag
    of `ganzoo sample` sets it, what its value means, the values it takes, and where it goes."""

    name: str
    flag: str  # the `ganzoo sample` flag (and `.sample()` keyword, without the dashes) that sets it
    what: str  # what the value is, in a word ("psi", "threshold")
    meaning: str  # one line for help and messages: what the value does to the samples
    low: float  # the smallest value it takes (excluded when ``low_open``)
    high: float  # the largest (math.inf: none)
    low_open: bool = False
    latent: bool = False  # True: a keyword of the generator's ``sample_latent`` (it shapes z); else of ``forward``

    def accepts(self, value: float) -> bool:
        return (value > self.low if self.low_open else value >= self.low) and value <= self.high

    @property
    def range(self) -> str:
        low = f"{self.low:g} <" if self.low_open else f"{self.low:g} <="
        return f"{low} VALUE" + (f" <= {self.high:g}" if self.high != float("inf") else "")


#: the sampling options a generator may declare, by name. Both set --truncation, each in its own terms: a
#: generator declares at most one option per flag, so the flag always means that generator's own trick.
SAMPLING_OPTIONS: dict[str, SamplingOption] = {o.name: o for o in (
    SamplingOption("truncation_psi", "truncation", "psi",
                   "psi of the truncation trick in w space: w = w_avg + psi (w - w_avg); 1: none, 0.7: typical, "
                   "0: every sample the mean image", 0.0, 1.0),
    SamplingOption("truncation_threshold", "truncation", "threshold",
                   "threshold of the truncation trick in z: the latent is drawn from a normal truncated at "
                   "+-threshold (values beyond it redrawn); lower: better single samples, less variety",
                   0.0, float("inf"), low_open=True, latent=True),
)}


@dataclass(frozen=True)
class PluginInfo:
    """Where a registration came from: the pluggy plugin name and its distribution."""

    name: str
    dist: str | None = None
    version: str | None = None
    module: str | None = None

    @property
    def label(self) -> str:
        if self.dist:
            return f"{self.dist} {self.version or ''}".strip()
        return self.name


@dataclass(frozen=True)
class Param:
    """One keyword parameter of a component's factory, as `ganzoo info` shows it."""

    name: str
    type: str = ""
    default: object = None
    required: bool = False


@dataclass(frozen=True)
class DatasetEvaluation:
    """What a dataset plugin gives `ganzoo eval` beyond its data, declared at registration (torch-free).

    ``classifier``: a shipped weights file for the feature classifier (a safetensors file written by
    ``python -m ganzoo.evaluation.train_classifier``); used when its shape, classes and split match
    the dataset's, else a classifier is trained and cached on first use. ``modes``: a lazy
    ``"module:function"``; ``function(samples, dataset)`` returns mode-coverage numbers
    (``modes_covered``, ``num_modes``, ``high_quality_share``) for a dataset whose modes are known.
    """

    classifier: str | None = None
    modes: str | None = None


#: What a metric may need (``register.metric(..., needs=...)``), and what each is. An evaluation that cannot
#: give one (labels from an unconditional generator, pairs from a noise generator) leaves the metric out of its
#: default set, and refuses it in one line when it is asked for by name (`ganzoo.evaluation.selection`).
NEEDS: dict[str, str] = {
    "labels": "the class each sample was drawn for (a conditional generator), or its input's class (a translation)",
    "pairs": "each sample's own target (paired image-to-image data)",
    "reference": "the data's real samples (its held-out split where it declares one)",
    "features": "features of the samples and of as many real ones, in the data's feature space (its classifier, "
                "pixels or the points themselves), at least 10 of each",
    "classes": "each sample's class probabilities from a classifier of the data (labelled images)",
    "heldout": "a held-out split of the data, which the run never trained on",
    "modes": "the dataset's own mode metric (register.dataset(..., evaluation=DatasetEvaluation(modes=...)))",
    "images": "image samples, not points",
    "inception": "Inception-v3 features (standard FID, from weights on disk; never downloaded)",
    "round-trip": "the samples translated back into the inputs' domain by the run's reverse generator (CycleGAN)",
}
#: which way a metric's number is better
BETTER = ("lower", "higher")


@dataclass(frozen=True)
class MetricKey:
    """One number a metric puts in a result, and how `ganzoo eval`, `ganzoo plot` and the progress line show it.

    ``key``: its name in the result (``fd``). ``label``: its row in `ganzoo eval`'s table and its panel in
    `ganzoo plot` ("" for a count shown beside another key, such as ``num_classes``). ``fmt``: how the table
    formats it. ``better``: "lower" or "higher" is better; None for neither (an entropy, a count). ``floor``: the
    metric also gives ``KEY_floor``, what real data scores (the table's "real vs real" column). ``hint``: how to
    read it; ``hints``: ``(takes, hint)`` pairs for results of generators that take something else ("image":
    translations). ``total``: the key it counts out of (``num_classes``: shown "7 / 10"). ``in_space``: a
    distance in the evaluation's feature space, labelled with it ("FD-classifier", "FD-pixels"). ``brief``: its
    name in the one-line summary of an evaluation during training ("": left out), formatted with
    ``brief_fmt``, with its floor when ``brief_floor``.
    """

    key: str
    label: str = ""
    fmt: str = "{:.3f}"
    better: str | None = None
    floor: bool = False
    hint: str = ""
    hints: tuple[tuple[str, str], ...] = ()
    total: str | None = None
    in_space: bool = False
    brief: str = ""
    brief_fmt: str = "{:.2f}"
    brief_floor: bool = False

    def hint_for(self, takes: str) -> str:
        """How to read it in a result of a generator that takes ``takes``."""
        return dict(self.hints).get(takes, self.hint)


@dataclass(frozen=True)
class MetricInfo:
    """What a registered metric declares (`ComponentRegistrar.metric`), torch-free: what it ``needs`` (names of
    `NEEDS`), the ``keys`` it may put in a result (`MetricKey`), the generators it measures by what they take
    (``takes``: "noise" samples, "image" translations), whether plain `ganzoo eval` computes it (``default``),
    and the ``extras`` it may add besides its numbers (details such as a weights file's name)."""

    needs: tuple[str, ...] = ()
    keys: tuple[MetricKey, ...] = ()
    takes: tuple[str, ...] = ("noise",)
    default: bool = False
    extras: tuple[str, ...] = ()

    def key(self, name: str) -> MetricKey | None:
        return next((k for k in self.keys if k.key == name), None)


@dataclass(frozen=True)
class ComponentSpec:
    """A registered generator, discriminator, loss term, dataset, training algorithm, logger or metric.

    ``factory`` is either a callable or a lazy ``"package.module:attr"`` string;
    the string form keeps registration free of torch imports. ``doc`` and
    ``params`` are read from the factory's source without importing it when
    they are not given explicitly.
    """

    kind: str
    name: str
    factory: str | Callable[..., object]
    plugin: PluginInfo
    doc: str = ""
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    # generators/discriminators: needs class labels. losses: "adversarial" or "regularizer".
    conditional: bool = False
    role: str | None = None
    evaluation: DatasetEvaluation | None = None  # datasets only
    metric: MetricInfo | None = None  # metrics only: what it needs and the numbers it gives
    # generators: what goes in ("noise": latent codes; "image": an image to translate). algorithms: what their
    # generators must take.
    takes: str = "noise"
    # datasets: None, "paired" or "unpaired" (see PAIRINGS). algorithms: the pairing of the data they train on.
    pairing: str | None = None
    # discriminators: "sample" (one score each) or "patch" (a map of scores). algorithms: the scores they accept.
    scores: tuple[str, ...] = ("sample",)
    # generators: the sampling options `ganzoo sample` may set (names of SAMPLING_OPTIONS)
    sampling: tuple[str, ...] = ()
    # algorithms: whether a loss spec without an adversarial term trains too (pix2pix's L1-only ablation)
    adversarial_optional: bool = False
    # algorithms: what of the trainer's they apply (SHARED); a run that turns on another is refused
    supports: frozenset[Shared] = frozenset()
    # algorithms: the generators / discriminators they train, by name (empty: any that fits takes/scores)
    generators: tuple[str, ...] = ()
    discriminators: tuple[str, ...] = ()
    # generators and discriminators: the algorithm they train with alone (None: any that fits)
    algorithm: str | None = None
    # generators and discriminators: the outputs forward_heads returns besides "main" (`ganzoo.plugin.heads`), each
    # held by `ganzoo.components.contract` to get gradient and have parameters of its own; (): forward's output alone
    heads: tuple[str, ...] = ()
    # algorithms: the loss terms they train with, by name (empty: any)
    losses: tuple[str, ...] = ()
    # algorithms: what reads their trained runs back for `ganzoo sample`/`eval`/`load` and pretrained export, a
    # `ganzoo.trained.Trained` subclass or a lazy "module:Class" (None: `ganzoo.trained.NoiseGenerator`)
    trained: str | Callable[..., object] | None = None
    # the factory takes **kwargs, or its signature could not be read: names beyond ``params`` are accepted
    open_params: bool = False

    @property
    def summary(self) -> str:
        return self.doc.strip().split("\n\n")[0].replace("\n", " ").strip() if self.doc else ""

    @property
    def who(self) -> str:
        """How every message names a component: ``generator 'dcgan' from plugin 'dcgan' (ganzoo 0.1.0)``."""
        return f"{self.kind} {self.name!r} from plugin {self.plugin.name!r} ({self.plugin.label})"

    @property
    def target(self) -> str:
        if isinstance(self.factory, str):
            return self.factory
        return f"{getattr(self.factory, '__module__', '?')}:{getattr(self.factory, '__qualname__', '?')}"

    # untyped results, here and in load_trained: what a factory makes depends on its kind (a module, a dataset, a
    # logger, a metric, a reader of runs), and each caller uses it as that kind's
    def load_factory(self) -> Callable[..., Any]:
        """Import and return the factory (this is where torch gets imported)."""
        return import_target(self.factory)

    def load_trained(self) -> Callable[..., Any] | None:
        """Import and return an algorithm's reader of trained runs (``trained``; None when it declares none)."""
        return None if self.trained is None else import_target(self.trained)


def import_target(target: str | Callable[..., object]) -> Callable[..., object]:
    """A lazy ``"module:attr.path"`` imported and looked up (a callable is returned as it is)."""
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    *path, last = attr.split(".")
    owner: object = importlib.import_module(module_name)
    for part in path:
        owner = getattr(owner, part)
    return getattr(owner, last)


@dataclass(frozen=True)
class RecipeSpec:
    """A named composition: the config tables of a run (gen, disc, loss, dataset, train)."""

    name: str
    # untyped tables: its readers (ganzoo.testing, plugins' own tests) index them as the recipe wrote them
    config: dict[str, Any]
    source: str
    plugin: PluginInfo | None = None
    doc: str = ""
    data: str = ""  # for a recipe that trains on the user's files: what to download, where to point --data-root

    kind = "recipe"

    @property
    def summary(self) -> str:
        return self.doc.strip().split("\n")[0] if self.doc else ""

    def component(self, table: str) -> str | None:
        value = self.config.get(table, {})
        return value.get("name") if isinstance(value, dict) else None


@dataclass(frozen=True)
class PretrainedSpec:
    """A generator's trained weights that a plugin ships for one of its recipes (`RecipeRegistrar.pretrained`).

    ``path`` is a ganzoo checkpoint holding the generator's weights (float16) with the run config and meta
    that produced them and the ``metrics`` they were evaluated with; ``sha256`` is checked before it is read
    (`ganzoo.runs.pretrained.verified`).
    """

    name: str  # the recipe's name: `ganzoo sample NAME`, `ganzoo eval NAME`, `ganzoo run --init NAME`
    path: str
    sha256: str
    plugin: PluginInfo
    source: str = ""

    kind = "pretrained"


@dataclass(frozen=True)
class DataInfo:
    """What a dataset says about itself; models are sized from this alone.

    ``shape`` is one sample's shape: ``(C, H, W)`` for images, ``(D,)`` for points.
    Image pixels are in [-1, 1] inside the models (Tanh range).
    """

    shape: tuple[int, ...]
    num_classes: int | None = None
    size: int = 0
    modality: str = "image"  # "image" or "points"
    class_names: tuple[str, ...] | None = None
    split: str | None = None  # the part held: "train", "heldout" or "all"; None when the dataset has no split

    @property
    def is_image(self) -> bool:
        return self.modality == "image"

    @property
    def channels(self) -> int | None:
        return self.shape[0] if self.is_image else None

    @property
    def resolution(self) -> int | None:
        return self.shape[-1] if self.is_image else None

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"shape": list(self.shape), "size": self.size, "modality": self.modality}
        if self.num_classes is not None:
            d["num_classes"] = self.num_classes
        if self.class_names is not None:
            d["class_names"] = list(self.class_names)
        if self.split is not None:
            d["split"] = self.split
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DataInfo:
        """Read back what `to_dict` wrote; the values go unchecked (a checkpoint's), so a corrupt one raises
        KeyError, TypeError or ValueError here or later, which the readers of checkpoints catch."""
        names = d.get("class_names")
        return cls(tuple(d["shape"]), d.get("num_classes"), int(d.get("size", 0)),
                   d.get("modality", "image"), tuple(names) if names else None, d.get("split"))
