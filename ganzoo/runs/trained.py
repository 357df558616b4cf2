"""A trained run read back by the algorithm that trained it: what `ganzoo sample`, `ganzoo eval`,
`ganzoo.load` and a pretrained export do with a run.

The core reads the checkpoint (`Stored`: its ``config`` and ``meta`` are the truth of what produced its
weights, see `ganzoo.runs.rundir`, so a lone checkpoint file samples as well as a run folder) and hands it to
the reader its algorithm registered (``register.algorithm(..., trained="module:Class")``: a `Trained`
subclass; an algorithm that registers none is read by `NoiseGenerator`, below). The reader owns all that
depends on what its models take: which weights it builds, the `Option` s it accepts (class labels, named
latent codes, a truncation, input images, a direction...), how a draw is laid out (`Drawing`), how it is
evaluated, and which weights a pretrained file keeps (`Trained.shipped`). The core names none of them: it
passes options by name, writes what is drawn, and reports what is measured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import math
import numbers

import torch
from torch import Tensor, nn

from ..base.errors import CheckpointError, GanzooError, UsageError, plugin_code
from ..base.specs import SAMPLING_OPTIONS, ComponentSpec, DataInfo
from ..config import argcheck
from ..config.runconfig import RunConfig, finalize
from . import checkpoint as ckpt_mod
from .checkpoint import load_model
from .rundir import RunDir, fresh_path

if TYPE_CHECKING:  # pragma: no cover
    from ..plugin.registry import Registry

__all__ = ["Option", "Stored", "Drawing", "Scoring", "Controls", "Trained", "NoiseGenerator", "load",
           "load_generator", "read", "locate", "flag_of"]

OptionType = Literal["int", "float", "text", "path"]


def flag_of(name: str) -> str:
    """How the command line spells option ``name``: ``--label``; a latent code ``code.c`` is ``--code c=...``."""
    if name.startswith("code."):
        return f"--code {name[len('code.'):]}=..."
    return f"--{name.replace('_', '-')}"


def given_as(name: str, value: object) -> str:
    """Option ``name`` set to ``value`` as the command line spells it: ``--label 12``, ``--code digit=12``."""
    if name.startswith("code."):
        return f"--code {name[len('code.'):]}={value}"
    return f"--{name.replace('_', '-')} {value}"


@dataclass(frozen=True)
class Option:
    """An option a trained model accepts, by name: ``ganzoo sample --NAME VALUE`` where the command has that
    flag (label, truncation, input, direction), ``--code C=VALUE`` for the latent code ``code.C``, and
    ``-o NAME=VALUE`` for any; ``ganzoo.load(..., NAME=VALUE)`` and ``.sample(..., NAME=VALUE)`` in Python."""

    name: str
    help: str
    type: OptionType = "text"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def parse(self, value: object) -> object:
        """``value`` (typed, or the text of a flag) as this option's type, checked: one line when it is not."""
        try:
            if self.type == "int":  # a class or a count is never rounded: 7.9 is not 7, True is not 1
                if not (isinstance(value, str) or argcheck.is_int(value)):
                    raise ValueError
                parsed: object = int(value)
            elif self.type == "float":
                if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                    raise ValueError
                parsed = float(value)
            elif self.type == "path":
                parsed = Path(str(value))
            else:
                parsed = str(value)
        except (TypeError, ValueError):
            raise UsageError(f"{given_as(self.name, value)}: expected {'an integer' if self.type == 'int' else 'a number'}",
                             self.help) from None
        if self.choices and parsed not in self.choices:
            raise UsageError(f"{given_as(self.name, parsed)}: expected one of {', '.join(self.choices)}", self.help)
        if isinstance(parsed, (int, float)):
            low, high = self.minimum, self.maximum
            if (low is not None and parsed < low) or (high is not None and parsed > high) or parsed != parsed:
                bounds = f"{low:g}..{high:g}" if low is not None and high is not None else (
                    f"at least {low:g}" if low is not None else f"at most {high:g}")
                raise UsageError(f"{given_as(self.name, parsed)}: out of range ({bounds})", self.help)
        return parsed


@dataclass
class Stored:
    """A checkpoint read back, before any model is built: its run config, data and where it came from."""

    run_dir: Path  # the run folder, or the folder of a lone checkpoint
    checkpoint: Path
    ck: ckpt_mod.Checkpoint
    config: RunConfig
    data: DataInfo  # what the run trained on (meta.data)
    pretrained: str | None  # the recipe whose shipped weights these are (`ganzoo.pretrained`); None for a run
    asked: Path  # what was read: the run folder or the checkpoint file

    @property
    def meta(self) -> dict[str, Any]:
        """The checkpoint's header (``ck.meta``): the run's components, data and what its algorithm recorded."""
        return self.ck.meta

    def algorithm(self, registry: Registry) -> ComponentSpec:
        """The registration of the algorithm that trained this run (one line when it is not installed)."""
        from ..plugin.manager import unavailable

        name = self.config.algo.get("name") or registry.default_algorithm
        if not name or not registry.has("algorithm", name):
            raise unavailable("algorithm", str(name), (self.meta.get("components") or {}).get("algorithm"))
        return registry.get("algorithm", name)

    def generator(self, registry: Registry) -> ComponentSpec:
        """The registration of the run's generator (one line when it is not installed)."""
        from ..plugin.manager import unavailable

        name = self.config.gen["name"]
        if not registry.has("generator", name):
            raise unavailable("generator", name, (self.meta.get("components") or {}).get("generator"))
        return registry.get("generator", name)

    def recorded(self, key: str) -> dict[str, Any]:
        """What the training algorithm recorded under ``meta.algorithm.KEY`` (`Algorithm.describe`); {} when none."""
        algo = self.meta.get("algorithm")
        value = algo.get(key) if isinstance(algo, dict) else None
        return value if isinstance(value, dict) else {}


def locate(target: str | Path) -> tuple[Path, Path]:
    """(run folder, checkpoint file) for a run folder or a checkpoint path."""
    p = Path(target)
    ckpt = ckpt_mod.find(p)
    if p.is_dir():
        return p, ckpt
    run = p.parent.parent
    if p.parent.name == RunDir(run).checkpoints.name and RunDir(run).is_run():
        return run, ckpt
    return p.parent, ckpt


def read(target: str | Path) -> Stored:
    """The checkpoint of a run folder or a checkpoint file, checked (CheckpointError, one line, when it
    cannot be read back). Pretrained names are resolved to their file before (`ganzoo.runs.pretrained.resolve`)."""
    run_dir, path = locate(target)
    ck = ckpt_mod.load(path)
    pretrained = ck.json("pretrained").get("name") if "pretrained" in ck.metadata else None
    if not ck.config:
        raise CheckpointError(f"checkpoint {path} records no run config", "it was not written by `ganzoo run`")
    try:
        config = finalize({k: v for k, v in ck.config.items() if v is not None})
    except (GanzooError, AttributeError, TypeError, ValueError) as exc:  # the file was edited or crafted
        raise CheckpointError(f"checkpoint {path} has a run config that does not validate: {exc}") from None
    if not isinstance(ck.meta.get("data"), dict):
        raise CheckpointError(f"checkpoint {path}: the run's data description (meta.data) is missing")
    try:
        data = DataInfo.from_dict(ck.meta["data"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"checkpoint {path}: the run's data description (meta.data) is corrupt") from None
    return Stored(run_dir, path, ck, config, data, pretrained, Path(target))


@dataclass
class Drawing:
    """What a reader drew for `ganzoo sample`; the core writes it as a PNG grid (or a scatter plot of points)
    or as a .safetensors file."""

    picture: torch.Tensor  # images (N, C, H, W), float in [-1, 1] or uint8, in grid order; or points (N, D)
    nrow: int  # images per grid row
    count: int  # how many things were drawn (samples, translations)
    noun: str  # what they are, for the line `ganzoo sample` prints: "samples", "AtoB translations"
    tensors: dict[str, torch.Tensor]  # the .safetensors file's tensors
    meta: dict[str, str] = field(default_factory=dict)  # its header, beside seed, step, ema and checkpoint
    labels: torch.Tensor | None = None  # the colours of a scatter plot of points; the file's labels


@dataclass(frozen=True)
class Controls:
    """What an interactive page (`ganzoo explore`) may offer for a trained model."""

    takes: str = "noise"  # "noise": it draws from seeds; "image": it translates pictures (`ganzoo.specs.TAKES`)
    conditional: bool = False  # it draws by class (the "label" option)
    sampling: tuple[str, ...] = ()  # the `ganzoo.specs.SAMPLING_OPTIONS` it declares (the "truncation" option)
    directions: tuple[str, ...] = ()  # what its "direction" option may be, for a model that translates both ways
    source: DataInfo | None = None  # the pictures it takes, for a model that translates


@dataclass(frozen=True)
class Scoring:
    """What `ganzoo eval` asks of a trained model (`Trained.evaluate`)."""

    num: int | None  # samples or inputs to score; None: the reader's default
    seed: int = 0
    dataset: str | None = None  # another dataset to measure against, where the reader allows one
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    inception: bool = False
    metrics: tuple[str, ...] = ()  # registered metric names; (): the reader's default set
    log: Callable[[str], None] | None = None
    #: the core's evaluation of a run by its samples ((run or checkpoint, scoring) -> the result), which the
    #: caller hands down so that this layer needs none of evaluation's: `ganzoo.evaluate` gives
    #: `ganzoo.evaluation.evaluate`'s; `NoiseGenerator.evaluate` calls it
    of_samples: Callable[[Path, Scoring], dict[str, Any]] | None = None


class Trained:
    """A trained model read back (what `ganzoo.load` returns): ``.model`` (in eval mode), what it makes
    (``.data``), the run's config and checkpoint, and what its algorithm does with it.

    An algorithm's reader subclasses it and implements `read` (build the models from a `Stored` checkpoint,
    with the options it accepts) and `draw`; `evaluate`, `walk` and `shipped` as it supports them.
    """

    def __init__(self, stored: Stored, model: nn.Module, *, ema: bool, who: str, data: DataInfo | None = None,
                 options: tuple[Option, ...] = ()) -> None:
        self.stored = stored
        self.model = model
        self.ema = ema  # the EMA weights were loaded
        self.who = who  # the generator's registration in words, for the line that reports its failure
        self.data = data or stored.data  # what the model makes
        self.options = options  # what this model accepts (`Option`), checked by `accept`
        # what every trained model is: the facts of the checkpoint it was read from, fixed once read
        self.config: RunConfig = stored.config
        self.meta: dict[str, Any] = stored.meta
        self.run_dir: Path = stored.run_dir
        self.checkpoint: Path = stored.checkpoint
        self.step: int = stored.ck.step
        self.pretrained: str | None = stored.pretrained  # the recipe whose shipped weights these are

    # -- what the core asks of every reader ------------------------------------------------------------
    @classmethod
    def read(cls, stored: Stored, *, ema: bool, device: torch.device, registry: Registry,
             options: Mapping[str, object]) -> Trained:  # pragma: no cover
        """Build the trained model(s) from ``stored`` on ``device`` (the EMA weights when ``ema`` and the run
        kept them); ``options`` are the user's, by name, checked with `accept`."""
        raise NotImplementedError

    def draw(self, num: int | None, seed: int, options: Mapping[str, object]) -> Drawing:  # pragma: no cover
        """What `ganzoo sample` writes: ``num`` things (None: the reader's default), seeded by ``seed``."""
        raise NotImplementedError

    def evaluate(self, scoring: Scoring) -> dict[str, Any]:
        """What `ganzoo eval` prints (``--json``): numbers by name, measured on a split the model never
        trained on."""
        raise UsageError(f"{self.who} declares no evaluation for its runs",
                         "ask its plugin's author; `ganzoo sample` still draws from it")

    def translate(self, inputs: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """``inputs`` (N, C, H, W) in [-1, 1], as `controls().source` describes them, translated: float32 on the
        CPU. For readers of models that take images (`ganzoo explore`'s canvas and uploads call it)."""
        raise UsageError(f"{self.who} draws from noise; it takes no pictures", "draw samples from seeds instead")

    def walk(self, seed_a: int, seed_b: int, frames: int, options: Mapping[str, object]) -> torch.Tensor:
        """``frames`` images from seed ``seed_a``'s input to ``seed_b``'s (`ganzoo sample --walk`)."""
        raise UsageError(f"--walk: {self.who} has no latent codes to walk between",
                         "--walk is for generators that draw from noise")

    def controls(self) -> Controls:
        """What `ganzoo explore` may offer for this model. Default: seeds alone."""
        return Controls()

    @property
    def takes(self) -> str:
        """What its generator takes (`ganzoo.specs.TAKES`): "noise", or "image" for a translator."""
        return self.controls().takes

    @property
    def translates(self) -> bool:
        return self.takes == "image"

    @classmethod
    def shipped(cls, stored: Stored) -> tuple[str, ...]:
        """The checkpoint sections a pretrained file keeps (`ganzoo.pretrained.export`): by default the EMA
        generator where the run kept one, else the generator."""
        return ("ema",) if stored.ck.section("ema") else ("generator",)

    def sample(self, n: int = 64, *, seed: int = 0, **options: object) -> torch.Tensor:
        """``n`` outputs, float32 on the CPU (images (n, C, H, W) in [-1, 1], or points): what `draw` draws."""
        n = argcheck.integer("n", n, minimum=1)
        return self.draw(n, argcheck.seed("seed", seed), self.accept(options)).picture

    # -- services for readers --------------------------------------------------------------------------
    def accept(self, given: Mapping[str, object]) -> dict[str, object]:
        """``given`` (None values dropped) parsed by this model's `Option` s: one line for a name it does not
        take, naming those it does."""
        return accept(self.options, given, self.who)

    # -- where it writes --------------------------------------------------------------------------------
    def default_out(self, seed: int) -> Path:
        """Where `ganzoo sample` writes without --out: the run's samples/ folder, or for shipped weights (whose
        folder is the installed package) a fresh NAME-sample-SEED.png in the working folder."""
        if self.pretrained is None:
            return RunDir(self.run_dir).sample_file(seed)
        return fresh_path(Path(), f"{self.pretrained}-sample-{seed}", ".png")


def accept(declared: tuple[Option, ...], given: Mapping[str, object], who: str) -> dict[str, object]:
    """``given`` options (None values dropped), each parsed by the declared `Option` of its name."""
    by_name = {o.name: o for o in declared}
    out: dict[str, object] = {}
    for name, value in given.items():
        if value is None:
            continue
        option = by_name.get(name)
        if option is None:
            takes = ", ".join(flag_of(o.name) for o in declared) or "no options"
            raise UsageError(f"{flag_of(name)}: {who} takes no {name.replace('_', ' ')}", f"it takes {takes}")
        out[name] = option.parse(value)
    return out


def reader(spec: ComponentSpec) -> type[Trained]:
    """The `Trained` subclass that reads the runs of algorithm ``spec``: the one it registers (``trained=``),
    else `NoiseGenerator`, the reader of generators that draw from noise."""
    from ..base.errors import ComponentError

    if spec.trained is None:
        return NoiseGenerator
    with plugin_code(spec.who, "while importing its reader of trained runs"):
        cls = spec.load_trained()
    if not (isinstance(cls, type) and issubclass(cls, Trained)):
        raise ComponentError(f"{spec.who} reads its trained runs with {cls!r}, not a ganzoo.trained.Trained "
                             f"subclass", "register.algorithm(..., trained='module:Class') names the class")
    return cls


def load(target: str | Path, *, ema: bool = True, device: str | torch.device = "cpu",
         registry: Registry | None = None, options: Mapping[str, object] | None = None) -> Trained:
    """Rebuild a run's trained model by its algorithm's reader (CheckpointError/ComponentError/UsageError,
    one line, when it cannot). ``target``: a run folder or a checkpoint file (`ganzoo.runs.pretrained.resolve`
    turns a pretrained name into its file before). ``options``: the user's, by name (`Option`)."""
    from ..plugin.manager import get_registry

    registry = registry or get_registry()
    stored = read(target)
    spec = stored.algorithm(registry)
    cls = reader(spec)
    with plugin_code(spec.who, "while reading its trained run"):
        return cls.read(stored, ema=ema, device=torch.device(device), registry=registry, options=dict(options or {}))


def load_generator(target: str | Path, use_ema: bool = True, device: str | torch.device = "cpu",
                   registry: Registry | None = None, **options: object) -> Trained:
    """`load`, as ganzoo 0.x called it (``direction=...`` and the other options as keywords)."""
    return load(target, ema=use_ema, device=device, registry=registry, options=options)


# -- the reader of generators that draw from noise ------------------------------------------------------------
# What `ganzoo sample`, `ganzoo eval` and `ganzoo.load` do with a generator registered to take noise (the core's
# generator contract: `register.generator(..., conditional=..., sampling=...)`): the reader of the default
# algorithm's runs, and of every algorithm's that registers none; a plugin's reader may subclass it.

Labels = Tensor | list[int] | int | None


class NoiseGenerator(Trained):
    """A generator of samples from latent codes (and class labels when it is conditional): options ``label``
    for a conditional generator and ``truncation`` for one that declares a truncation trick."""

    def __init__(self, stored: Stored, model: torch.nn.Module, *, ema: bool, who: str, conditional: bool,
                 sampling: tuple[str, ...]) -> None:
        self.conditional = conditional
        self.sampling = sampling  # the sampling options its forward takes (`ComponentSpec.sampling`)
        options = [Option("label", "the class to draw (default: each class in turn, one row per class)",
                          "int")] if conditional else []
        for name in sampling:
            o = SAMPLING_OPTIONS[name]
            options.append(Option(o.flag, f"the {o.meaning} ({o.range})", "float"))
        super().__init__(stored, model, ema=ema, who=who, options=tuple(options))

    @classmethod
    def read(cls, stored: Stored, *, ema: bool, device: torch.device, registry: Registry,
             options: Mapping[str, object]) -> NoiseGenerator:
        from ..components.build import build_generator

        spec = stored.generator(registry)
        if spec.takes != "noise":
            raise UsageError(f"{spec.who} takes {spec.takes}s, and the run's algorithm reads generators that draw "
                             "from noise", "train it with an algorithm made for it")
        model = build_generator(spec.name, stored.data, stored.config.settings.latent_dim,
                                stored.config.params(stored.config.gen), registry)
        use_ema = ema and bool(stored.ck.section("ema"))
        load_model(stored.ck, "ema" if use_ema else "generator", model, f"generator {spec.name!r}")
        model.to(device).eval()
        loaded = cls(stored, model, ema=use_ema, who=spec.who, conditional=spec.conditional,
                     sampling=spec.sampling)
        loaded.accept(options)  # a flag it takes none of: one line now, before anything is drawn
        return loaded

    def accept(self, given: Mapping[str, object]) -> dict[str, object]:
        """As `Trained.accept`, with the lines users of earlier ganzoo know for a label or a truncation this
        generator takes none of."""
        name = self.config.gen["name"]
        if given.get("input") is not None:
            raise UsageError(f"--input: generator {name!r} draws from noise; it takes no images",
                             "--input is for image-to-image runs (pix2pix, cyclegan)")
        if given.get("direction") is not None:
            raise UsageError(f"--direction {given['direction']}: generator {name!r} draws from noise; it translates "
                             "no images", "--direction is for image-to-image runs (pix2pix, cyclegan)")
        if given.get("label") is not None and not self.conditional:
            self.labels(1, 0)  # raises: not conditional
        truncation = given.get("truncation")
        if truncation is not None and not any(SAMPLING_OPTIONS[o].flag == "truncation" for o in self.sampling):
            from .sampling import sampling_options

            sampling_options(self.config.gen["name"], self.sampling, truncation=1.0)  # raises: it declares none
        return super().accept(given)

    def controls(self) -> Controls:
        return Controls("noise", self.conditional, self.sampling)

    @property
    def latent_dim(self) -> int:
        return int(self.config.settings.latent_dim)

    # -- drawing ---------------------------------------------------------------------------------------
    def sample(self, n: int = 64, labels: Labels = None, *, seed: int = 0,  # type: ignore[override]
               truncation: float | None = None, **options: object) -> Tensor:
        """``n`` samples, float32 on the CPU: images (n, C, H, W) in [-1, 1], or points (n, D).

        ``labels``: for a conditional generator, one class for all, or one per sample; None: the classes in
        turn (0, 1, ..., 0, 1, ...). ``seed`` seeds the latent codes (the same seed, the same samples).
        ``truncation``: the generator's own truncation trick, for generators that declare one (its
        ``sampling``; `ganzoo.specs.SAMPLING_OPTIONS` says what the value means for each).
        """
        from .sampling import generate, seeded_noise, split_options

        n = argcheck.integer("n", n, minimum=1)
        seed = argcheck.seed("seed", seed)
        chosen = self.accept({**options, "truncation": truncation})
        y = self.labels(n, labels)
        _, on_forward = split_options(self.sampling_values(chosen))
        # the seed fixes the noise the generator draws itself as well (StyleGAN2's per-pixel noise)
        with plugin_code(self.who, "while sampling"), seeded_noise(self.model, seed):
            return generate(self.model, self.codes(n, seed, chosen), y, 256, **on_forward)

    def codes(self, n: int, seed: int, chosen: Mapping[str, object]) -> Tensor:
        """The ``n`` latent codes drawn for ``seed`` (its ``sample_latent``, else N(0, I)), with the accepted
        options ``chosen``: a reader whose options set latent codes overrides this, and `sample`, `draw` and
        `walk` all draw through it."""
        from .sampling import latent, split_options

        on_latent, _ = split_options(self.sampling_values(chosen))
        return latent(self.model, n, self.latent_dim, torch.Generator().manual_seed(seed), options=on_latent)

    def sampling_values(self, chosen: Mapping[str, object]) -> dict[str, float]:
        """The generator's sampling options (by `SAMPLING_OPTIONS` name) among the accepted ``chosen``, each
        checked against its range (`ganzoo.sampling.sampling_options`)."""
        from .sampling import sampling_options

        flags = {SAMPLING_OPTIONS[o].flag for o in self.sampling}
        values = {k: float(v) for k, v in chosen.items() if k in flags and isinstance(v, (int, float))}
        return sampling_options(self.config.gen["name"], self.sampling, **values)

    def sampling_options(self, truncation: float | None = None) -> dict[str, float]:
        """The options of `sample` by option name, checked against what this generator declares."""
        return self.sampling_values(self.accept({"truncation": truncation}))

    def labels(self, n: int, labels: Labels) -> Tensor | None:
        """The ``n`` class labels `sample` would draw with (None for an unconditional G), checked: one line
        (`UsageError`) for a label out of range, a count that does not match, or labels it cannot take."""
        name, classes = self.config.gen["name"], self.data.num_classes or 0
        if not self.conditional:
            if labels is not None:
                raise UsageError(f"--label: generator {name!r} is not conditional",
                                 "drop --label, or sample a conditional recipe such as cdcgan-mnist")
            return None
        if labels is None:
            return torch.arange(n) % classes
        y = _label_tensor(labels, classes)
        y = y.expand(n) if y.numel() == 1 else y
        if y.numel() != n:
            raise UsageError(f"{y.numel()} labels for {n} samples: give one label, or one per sample")
        bad = y[(y < 0) | (y >= classes)]
        if bad.numel():
            raise UsageError(f"--label {int(bad[0])} is out of range", f"this model has classes 0..{classes - 1}")
        return y.clone()

    def draw(self, num: int | None, seed: int, options: Mapping[str, object]) -> Drawing:
        """A grid of ``num`` samples (default 64, 1000 points); a conditional generator without a label draws
        one full row per class (``num`` rounded up to whole rows)."""
        from .sampling import check_memory

        chosen = self.accept(options)
        label = chosen.get("label")
        data, classes = self.data, self.data.num_classes or 0
        if self.conditional and label is None:
            nrow = 8 if num is None else max(1, math.ceil(num / classes))
            n = nrow * classes
            y: Tensor | None = torch.arange(classes).repeat_interleave(nrow)
        else:
            n = num or (64 if data.is_image else 1000)
            nrow = max(1, math.ceil(math.sqrt(n)))
            y = self.labels(n, label) if self.conditional else None  # type: ignore[arg-type]
        check_memory(n, math.prod(data.shape), self.latent_dim)
        rest = {k: v for k, v in chosen.items() if k != "label"}
        samples = self.sample(n, y, seed=seed, **rest)  # type: ignore[arg-type]
        tensors = {"images": _uint8(samples)} if data.is_image else {"points": samples.float().contiguous()}
        if y is not None:
            tensors["labels"] = y.long()
        return Drawing(samples, nrow, n, "samples", tensors, {"options": _json(self.sampling_values(chosen))}, y)

    def walk(self, seed_a: int, seed_b: int, frames: int, options: Mapping[str, object]) -> Tensor:
        """The frames from seed A's latent code to seed B's: spherical in z, or the generator's own path
        (`ganzoo.walk.interpolate`); a conditional generator keeps ``label`` (default 0) the whole way."""
        from .sampling import split_options
        from .walk import fractions, interpolate

        name = self.config.gen["name"]
        if not self.data.is_image:
            raise UsageError(f"--walk: generator {name!r} draws points, not images", "a walk is an animation of images")
        chosen = self.accept(options)
        label = chosen.get("label")
        labels = self.labels(frames, 0 if label is None and self.conditional else label)  # type: ignore[arg-type]
        _, on_forward = split_options(self.sampling_values(chosen))
        with plugin_code(self.who, "while walking its latent space"):
            return interpolate(self.model, self.codes(1, seed_a, chosen), self.codes(1, seed_b, chosen),
                               fractions(frames), labels, **on_forward)

    # -- evaluation ------------------------------------------------------------------------------------
    def evaluate(self, scoring: Scoring) -> dict[str, Any]:
        """FD, KID, precision/recall, coverage and memorization of its samples (asked-digit accuracy for a
        conditional one), against the held-out split of its dataset: the core's evaluation of a run's samples,
        which the caller hands down (`Scoring.of_samples`: `ganzoo.evaluate` gives `ganzoo.evaluation.evaluate`)."""
        if scoring.of_samples is None:
            raise UsageError(f"{self.who}: this caller gave no evaluation of samples",
                             "evaluate through ganzoo.evaluate or `ganzoo eval`")
        return scoring.of_samples(self.stored.asked, scoring)


def _uint8(samples: Tensor) -> Tensor:
    from ..components.interfaces import to_uint8

    return to_uint8(samples)


def _json(value: object) -> str:
    import json

    return json.dumps(value)


def _label_tensor(labels: Any, classes: int) -> Tensor:
    """``labels`` as a 1-D long tensor, when they are classes: an integer, or a list or 1-D tensor of them.

    A class is never rounded: ``7.9`` is not class 7 and ``True`` not class 1 (torch would cast both).
    """

    def refuse(what: Any) -> UsageError:
        return UsageError(f"labels must be classes, integers 0..{classes - 1} (one, or one per sample), "
                          f"not {argcheck.shown(what)}")

    if isinstance(labels, (Tensor, numbers.Number)) or hasattr(labels, "__array__"):  # numpy too
        if isinstance(labels, bool) or (isinstance(labels, numbers.Number) and not argcheck.is_int(labels)):
            raise refuse(labels)
        y = torch.as_tensor(labels)
        if y.dtype == torch.bool or y.is_floating_point() or y.is_complex() or y.dim() > 1:
            raise refuse(labels)
        return y.long().reshape(-1)
    if isinstance(labels, (list, tuple, range)):
        odd = [v for v in labels if not argcheck.is_int(v)]
        if odd:
            raise refuse(odd[0])
        return torch.tensor([int(v) for v in labels], dtype=torch.long)
    raise refuse(labels)


