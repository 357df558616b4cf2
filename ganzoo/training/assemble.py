"""Building what a run trains from its config: ``lookup`` the names (`ganzoo.training.composition`), then ``assemble`` the parts.

The two steps are apart so the trainer can check the output folder in
between: an unknown name fails before the folder is looked at, and a folder
that holds another run fails before anything slow (a dataset download, a
model) is built. Nothing here writes to disk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..base.errors import ComponentError, GanzooError, UnsupportedDataError, UsageError
from ..base.specs import ComponentSpec, DataInfo
from ..base.version import __version__
from ..components.build import build_dataset, build_loss
from ..components.device import device_label, noise_generator, use_channels_last
from ..components.interfaces import Dataset
from ..components.losses import CompositeLoss
from ..config.runconfig import RunConfig
from ..plugin.registry import Registry
from ..runs import checkpoint as ck
from ..runs.rundir import default_name
from . import distributed as dist
from .algorithm import Algorithm, FeedData, Setup
from .batches import FeedSettings, Feeder, make_feeder
from .composition import Composition, lookup
from .ema import enabled as ema_enabled
from .trainstate import restore_training, save_training

__all__ = ["Parts", "lookup", "assemble", "run_path"]


@dataclass
class Parts:
    """Everything one rank trains with; ``meta`` is what config.toml and checkpoints record.

    The models and optimizers are the algorithm's (`ganzoo.algorithm.Algorithm`); `restore` and `save`
    move all of it (weights, optimizers, the algorithm's own state, RNG and data order) to and from a
    checkpoint.
    """

    dataset: Dataset
    info: DataInfo
    loss: CompositeLoss
    algorithm: Algorithm
    setup: Setup
    noise: torch.Generator
    feed: Feeder
    channels_last: bool
    meta: dict[str, Any] = field(default_factory=dict)
    #: each component as errors name it ("discriminator 'dcgan' from plugin 'dcgan' (ganzoo 0.1)")
    blame: dict[str, str] = field(default_factory=dict)
    #: one line each, printed when the run starts: combinations that train but not as one would expect
    warnings: list[str] = field(default_factory=list)

    @property
    def G(self) -> torch.nn.Module:
        """The algorithm's "generator" module (the one `ganzoo sample` draws from)."""
        return self.algorithm.modules["generator"]

    @property
    def D(self) -> torch.nn.Module | None:
        return self.algorithm.modules.get("discriminator")

    @property
    def ema(self) -> torch.nn.Module | None:
        return self.algorithm.modules.get("ema")

    @property
    def g_cond(self) -> bool:
        return self.setup.g_cond

    def restore(self, c: ck.Checkpoint, config: RunConfig, env: dist.DistEnv) -> int:
        """Load a checkpoint into these parts; returns its step.

        Every rank gets back its own random streams (global torch RNG, CUDA RNG, noise) when the checkpoint
        holds them, that is when it was written with at least as many processes; a rank it has none for is
        seeded afresh from (seed, rank, step).
        """
        algo = self.algorithm
        step = restore_training(c, config, modules=algo.modules, optimizers=algo.optimizers, feed=self.feed,
                                noise=self.noise if env.is_main else None)
        algo.load_state(c.section("algo"))
        self.loss.load_state(c.section("loss"))  # none in an older checkpoint: the terms start fresh
        if not env.is_main:
            seed = config.settings.seed
            if not _restore_rank_rng(c, env.rank, self.noise):
                torch.manual_seed(_stream_seed(seed, env.rank, step) + 1)
                self.noise.manual_seed(_stream_seed(seed, env.rank, step))
        if c.meta.get("created"):
            self.meta["created"], self.meta["resumed"] = c.meta["created"], self.meta["created"]
        return step

    def rank_rng(self, env: dist.DistEnv) -> dict[str, torch.Tensor]:
        """Every other rank's random streams, gathered on rank 0 for its checkpoint (a collective; {} elsewhere)."""
        if not env.enabled:
            return {}
        mine = {"torch": torch.get_rng_state(), "noise": self.noise.get_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            mine["cuda"] = torch.cuda.get_rng_state()
        gathered = dist.gather_object(mine, env)
        return {f"rng.rank{r}.{k}": v.clone() for r, states in enumerate(gathered or []) if r
                for k, v in states.items()}

    def save(self, path: Path, step: int, config: RunConfig, keep: Path | None = None,
             rank_rng: dict[str, torch.Tensor] | None = None) -> None:
        algo = self.algorithm
        extra = {f"algo.{k}": v.detach().cpu().contiguous() for k, v in algo.state().items()}
        extra.update({f"loss.{k}": v.detach().cpu().contiguous() for k, v in self.loss.state().items()})
        save_training(path, modules=algo.modules, optimizers=algo.optimizers, feed=self.feed, noise=self.noise,
                      step=step, config_json=config.to_json(), meta=self.meta, keep=keep,
                      extra={**extra, **(rank_rng or {})})


def _stream_seed(seed: int, rank: int, step: int = 0) -> int:
    """The seed of one rank's noise stream (the global torch RNG of ranks > 0 uses the next one)."""
    return seed + 1 + 7919 * rank + 104729 * step


def _restore_rank_rng(c: ck.Checkpoint, rank: int, noise: torch.Generator) -> bool:
    states = c.section(f"rng.rank{rank}")
    if "torch" not in states or "noise" not in states:
        return False
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state(states["cuda"])
    try:
        noise.set_state(states["noise"])
    except RuntimeError:  # written on another kind of device
        return False
    return True


def _component(spec: ComponentSpec) -> dict[str, Any]:
    return {"name": spec.name, "plugin": spec.plugin.name, "dist": spec.plugin.dist, "version": spec.plugin.version}


def run_path(config: RunConfig, registry: Registry) -> Path:
    """``out``, else runs/<recipe>-<time> (while the recipe's generator is used), else runs/<gen>-<time>."""
    if config.out:
        return Path(config.out)
    base = config.gen["name"]
    if config.recipe:
        try:
            if registry.recipe(config.recipe).component("gen") in (None, config.gen["name"]):
                base = config.recipe
        except GanzooError:
            pass
    return default_name(base)


def assemble(config: RunConfig, registry: Registry, env: dist.DistEnv, device: torch.device,
             names: Composition | None = None) -> Parts:
    """Build the dataset, loss, noise, the algorithm (its models and optimizers) and the batch feeder,
    seeded by ``train.seed``."""
    names = names or lookup(config, registry)
    cfg, t = names.config, names.config.settings  # the config with its parameters checked
    torch.manual_seed(t.seed)
    dataset = build_dataset(cfg.dataset["name"], RunConfig.params(cfg.dataset), registry)
    info = dataset.info
    if t.eval_every and dataset.streaming:  # found now, not at the first evaluation
        raise UsageError(f"train.eval_every needs an in-memory dataset; {cfg.dataset['name']!r} streams its data",
                         "set train.eval_every=0 and run `ganzoo eval` on the checkpoints instead")
    loss = build_loss(names.terms, cfg.loss_params, registry)
    _check_modalities(loss, info, cfg.dataset["name"])

    spec = names.algorithm
    d_spec = names.specs["discriminator"]
    noise = noise_generator(device, _stream_seed(t.seed, env.rank))
    setup = Setup(config=cfg, composition=names, registry=registry, dataset=dataset, info=info, loss=loss,
                  device=device, env=env, noise=noise)
    algorithm = build_algorithm(spec, setup, RunConfig.params(cfg.algo))
    channels_last = use_channels_last(t.channels_last, device, info.is_image, *algorithm.modules.values())
    if env.rank:  # the models start alike on every rank (DDP broadcasts them too); dropout and ε must not
        torch.manual_seed(_stream_seed(t.seed, env.rank) + 1)
    feed_data = algorithm.feed(dataset)
    source: Dataset = dataset if feed_data is None else _Held(feed_data)
    feed = make_feeder(source, cfg.dataset["name"], FeedSettings(
        batch_size=t.batch_size, n_critic=algorithm.batches_per_step, seed=t.seed, rank=env.rank,
        world=env.world_size, device=device, channels_last=channels_last,
        need_labels=setup.g_cond or setup.d_cond or feed_data is not None))
    meta = {
        "ganzoo_version": __version__, "torch_version": torch.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "recipe": cfg.recipe, "world_size": env.world_size,
        "device": device_label(device), "total_batch_size": t.batch_size * env.world_size,
        "steps_per_epoch": feed.steps_per_epoch, "n_critic": loss.n_critic, "data": info.to_dict(),
        "components": {**{k: _component(s) for k, s in names.specs.items()},
                       "loss": [{**_component(term.spec), "weight": term.weight} for term in names.terms]},
    }
    described = algorithm.describe()
    if described:
        meta["algorithm"] = described
    _check_generator_methods(loss, algorithm.modules["generator"], cfg.gen["name"])
    D = algorithm.modules.get("discriminator")
    warnings = run_warnings(loss, D, cfg.disc["name"], cfg.dataset["name"],
                            tuple(p.name for p in d_spec.params), paired=info_paired(spec))
    return Parts(dataset=dataset, info=info, loss=loss, algorithm=algorithm, setup=setup, noise=noise, feed=feed,
                 channels_last=channels_last, meta=meta, blame={k: s.who for k, s in names.specs.items()},
                 warnings=warnings)


def info_paired(spec: ComponentSpec) -> bool:
    """Whether the algorithm pairs each output with its own target (l1/l2 then mean what they should)."""
    return spec.pairing == "paired"


class _Held(Dataset):
    """What an algorithm asked the feeder to batch (`Algorithm.feed`), as an in-memory dataset."""

    def __init__(self, data: FeedData):
        self.data = data
        self.info = data.info

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.data.x, self.data.labels


def build_algorithm(spec: ComponentSpec, setup: Setup, params: dict[str, Any]) -> Algorithm:
    """Call the algorithm's factory with the setup and its checked parameters; it must give an Algorithm."""
    from ..components.build import _construct

    algo = _construct(spec, (setup,), params, {})
    if not (isinstance(getattr(algo, "modules", None), dict) and isinstance(getattr(algo, "optimizers", None), dict)
            and callable(getattr(algo, "step", None))):
        raise ComponentError(f"{spec.who} returned {type(algo).__name__}, which is not an algorithm "
                             f"(subclass ganzoo.algorithm.Algorithm: modules, optimizers, step)")
    if "generator" not in algo.modules:
        raise ComponentError(f"{spec.who} keeps no 'generator' module (what `ganzoo sample` draws from)")
    # an EMA the run asked for and the algorithm declared must exist and be saved: never silently dropped
    if "ema" in spec.supports and ema_enabled(setup.config.settings) and "ema" not in algo.modules:
        raise ComponentError(f"{spec.who} declares supports=ema but keeps no 'ema' module with this run's EMA on "
                             f"(make it with setup.keep_ema(G) and keep its .module as modules['ema'])")
    kept = {id(m) for m in algo.modules.values()}
    lost = [k for k in setup.kept if id(k.module) not in kept]
    if lost:
        raise ComponentError(f"{spec.who} keeps an EMA from setup.keep_ema outside its modules, so checkpoints "
                             f"would lose it (keep its .module as modules['ema'])")
    return algo


def _check_modalities(loss: CompositeLoss, info: DataInfo, dataset: str) -> None:
    """A term that declares the data it works on is refused other data here, before anything is written."""
    for term, impl in loss.terms:
        supported = tuple(impl.modalities)
        if info.modality not in supported:
            raise UnsupportedDataError(
                f"loss {term.name!r} works on {' and '.join(supported)} data; dataset {dataset!r} holds "
                f"{info.modality} data", "drop the term, or train on a dataset it supports")


def _check_generator_methods(loss: CompositeLoss, G: torch.nn.Module, gen: str) -> None:
    """A term that calls an optional generator method (`LossTerm.reads_generator`) is refused a generator
    without it here, before the first step, instead of failing at the step it first acts on."""
    for term, impl in loss.terms:
        missing = [m for m in impl.reads_generator if not callable(getattr(G, m, None))]
        if missing:
            raise UsageError(f"loss {term.name!r} calls the generator's {missing[0]}(), which generator {gen!r} "
                             f"does not define", f"drop the term, or use a generator that has it "
                             f"(see `ganzoo info {term.name}`)")


def run_warnings(loss: CompositeLoss, D: torch.nn.Module | None, disc: str, dataset: str,
                 disc_params: tuple[str, ...] = (), paired: bool = False) -> list[str]:
    """Combinations that train, but not as one would expect: one line each, printed at the run's start.

    ``disc_params``: the discriminator's parameter names, so a warning can name the switch where there is one.
    ``paired``: the algorithm compares each output with its own target, so l1/l2 warn of nothing.
    """
    out = []
    penalties = [t.name for t, impl in loss.terms if impl.penalizes_input_gradients]
    if penalties and D is not None:
        which = " and ".join(repr(n) for n in penalties)
        if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in D.modules()):
            fix = "--set disc.norm=layer" if "norm" in disc_params else "a discriminator without it"
            out.append(f"warning: discriminator {disc!r} uses BatchNorm, which couples the samples whose input "
                       f"gradients {which} penalizes one by one ({fix} gives the penalty what it assumes)")
        if any(isinstance(m, torch.nn.modules.dropout._DropoutNd) for m in D.modules()):
            fix = "--set disc.dropout=0" if "dropout" in disc_params else "a discriminator without it"
            out.append(f"warning: discriminator {disc!r} uses dropout, so the input gradient {which} penalizes "
                       f"is that of a randomly thinned network ({fix} makes it deterministic)")
    for term, impl in loss.terms:
        if impl.pairs_by_index and not paired:
            out.append(f"warning: loss {term.name!r} compares each fake with an unrelated real sample of "
                       f"{dataset!r} (unpaired data): its minimum is one average image for every z, which "
                       f"rewards collapse (see `ganzoo info {term.name}`)")
    return out
