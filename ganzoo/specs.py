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
from collections.abc import Callable

KINDS: tuple[str, ...] = ("generator", "discriminator", "loss", "dataset", "algorithm", "logger")

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
    default: Any = None
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


@dataclass(frozen=True)
class ComponentSpec:
    """A registered generator, discriminator, loss term, dataset, training algorithm or logger.

    ``factory`` is either a callable or a lazy ``"package.module:attr"`` string;
    the string form keeps registration free of torch imports. ``doc`` and
    ``params`` are read from the factory's source without importing it when
    they are not given explicitly.
    """

    kind: str
    name: str
    factory: str | Callable[..., Any]
    plugin: PluginInfo
    doc: str = ""
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    # generators/discriminators: needs class labels. losses: "adversarial" or "regularizer".
    conditional: bool = False
    role: str | None = None
    evaluation: DatasetEvaluation | None = None  # datasets only
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

    def load_factory(self) -> Callable[..., Any]:
        """Import and return the factory (this is where torch gets imported)."""
        if not isinstance(self.factory, str):
            return self.factory
        module_name, _, attr = self.factory.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj


@dataclass(frozen=True)
class RecipeSpec:
    """A named composition: the config tables of a run (gen, disc, loss, dataset, train)."""

    name: str
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
    (`ganzoo.pretrained.verified`).
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

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"shape": list(self.shape), "size": self.size, "modality": self.modality}
        if self.num_classes is not None:
            d["num_classes"] = self.num_classes
        if self.class_names is not None:
            d["class_names"] = list(self.class_names)
        if self.split is not None:
            d["split"] = self.split
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataInfo:
        names = d.get("class_names")
        return cls(tuple(d["shape"]), d.get("num_classes"), int(d.get("size", 0)),
                   d.get("modality", "image"), tuple(names) if names else None, d.get("split"))
