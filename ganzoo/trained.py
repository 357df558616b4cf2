"""A trained run read back: its generator, rebuilt from a checkpoint, for `ganzoo sample` and `ganzoo eval`.

The checkpoint alone is read (its ``config`` and ``meta`` are the truth of
what produced its weights, see `ganzoo.rundir`), so a lone checkpoint file
samples as well as a run folder.

An image-to-image generator (registered ``takes="image"``: pix2pix, CycleGAN)
is rebuilt from the run's ``meta.algorithm``: ``source`` is the DataInfo of the
images it takes, ``generators`` the direction of each generator section
(``{"generator": "AtoB", "generator_ba": "BtoA"}``). "BtoA" is the section
whose direction says so, built with data and source swapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TYPE_CHECKING

import torch
from torch import nn

from . import argcheck
from . import checkpoint as ckpt_mod
from .config import RunConfig, finalize
from .errors import CheckpointError, GanzooError, UsageError, plugin_code
from .rundir import RunDir, fresh_path
from .specs import DataInfo

if TYPE_CHECKING:  # pragma: no cover
    from .registry import Registry


@dataclass
class LoadedGenerator:
    """A run's generator in eval mode, with what it was trained on and where it came from."""

    model: nn.Module
    data: DataInfo
    config: RunConfig
    meta: dict[str, Any]
    run_dir: Path  # the run folder, or the folder of a lone checkpoint
    checkpoint: Path
    step: int
    ema: bool  # the EMA weights were loaded
    conditional: bool
    takes: str = "noise"  # what the generator takes: "noise" (latent codes) or "image" (it translates images)
    source: DataInfo | None = None  # the images an image-to-image generator takes; None for noise
    direction: str = "AtoB"  # which of an image-to-image run's generators this is
    sampling: tuple[str, ...] = ()  # the sampling options its forward takes (`ComponentSpec.sampling`)
    pretrained: str | None = None  # the recipe whose shipped weights these are (`ganzoo.pretrained`); None for a run
    who: str = "the generator"  # its registration in words (`ComponentSpec.who`), for the line that reports its failure

    def default_out(self, seed: int) -> Path:
        """Where `ganzoo sample` writes without --out: the run's samples/ folder, or for shipped weights (whose
        folder is the installed package) a fresh NAME-sample-SEED.png in the working folder."""
        if self.pretrained is None:
            return RunDir(self.run_dir).sample_file(seed)
        return fresh_path(Path(), f"{self.pretrained}-sample-{seed}", ".png")

    @property
    def translates(self) -> bool:
        return self.takes == "image"

    @property
    def latent_dim(self) -> int:
        return int(self.config.train["latent_dim"])

    def sample(self, n: int = 64, labels: torch.Tensor | list[int] | int | None = None, *, seed: int = 0,
               truncation: float | None = None) -> torch.Tensor:
        """``n`` samples, float32 on the CPU: images (n, C, H, W) in [-1, 1], or points (n, D).

        ``labels``: for a conditional generator, one class for all, or one per sample; None: the classes in
        turn (0, 1, ..., 0, 1, ...). ``seed`` seeds the latent codes (the same seed, the same samples).
        ``truncation``: the generator's own truncation trick, for generators that declare one (its
        ``sampling``; `ganzoo.specs.SAMPLING_OPTIONS` says what the value means for each).
        """
        from .sampling import generate, latent, seeded_noise, split_options

        if self.translates:
            raise UsageError(f"generator {self.config.gen['name']!r} translates images; it draws no samples",
                             "call it on a batch of input images: loaded.model(images)")
        n = argcheck.integer("n", n, minimum=1)
        seed = argcheck.seed("seed", seed)
        options = self.sampling_options(truncation)
        y = self.labels(n, labels)
        on_latent, on_forward = split_options(options)
        # the seed fixes the noise the generator draws itself as well (StyleGAN2's per-pixel noise)
        with plugin_code(self.who, "while sampling"), seeded_noise(self.model, seed):
            z = latent(self.model, n, self.latent_dim, torch.Generator().manual_seed(seed), options=on_latent)
            return generate(self.model, z, y, 256, **on_forward)

    def sampling_options(self, truncation: float | None = None) -> dict[str, float]:
        """The options of `sample`, each checked against what this generator declares (`ComponentSpec.sampling`):
        one line (`UsageError`) for a flag it declares nothing for, an image-to-image one included."""
        from .sampling import sampling_options

        return sampling_options(self.config.gen["name"], self.sampling, truncation=truncation)

    def labels(self, n: int, labels: torch.Tensor | list[int] | int | None) -> torch.Tensor | None:
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


def _label_tensor(labels: Any, classes: int) -> torch.Tensor:
    """``labels`` as a 1-D long tensor, when they are classes: an integer, or a list or 1-D tensor of them.

    A class is never rounded: ``7.9`` is not class 7 and ``True`` not class 1 (torch would cast both).
    """
    import numbers

    def refuse(what: Any) -> UsageError:
        return UsageError(f"labels must be classes, integers 0..{classes - 1} (one, or one per sample), "
                          f"not {argcheck.shown(what)}")

    if isinstance(labels, (torch.Tensor, numbers.Number)) or hasattr(labels, "__array__"):  # numpy too
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


DIRECTIONS = ("AtoB", "BtoA")


@dataclass(frozen=True)
class _Translator:
    """Where an image-to-image generator's weights are and which domain is which."""

    section: str
    data: DataInfo
    source: DataInfo


def _translator(meta: dict[str, Any], data: DataInfo, direction: str, path: Path, name: str) -> _Translator:
    algo = meta.get("algorithm")
    if not isinstance(algo, dict) or not isinstance(algo.get("source"), dict):
        raise CheckpointError(f"checkpoint {path}: generator {name!r} translates images, but the run records no "
                              f"input domain (meta.algorithm.source)")
    try:
        source = DataInfo.from_dict(algo["source"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"checkpoint {path}: the input domain (meta.algorithm.source) is corrupt") from None
    gens = algo.get("generators") or {"generator": "AtoB"}
    if not isinstance(gens, dict):
        raise CheckpointError(f"checkpoint {path}: meta.algorithm.generators is not a table")
    section = next((k for k, v in gens.items() if v == direction), None)
    if section is None:
        have = ", ".join(sorted(str(v) for v in gens.values())) or "none"
        raise UsageError(f"--direction {direction}: this run's generators translate {have} only",
                         "a pix2pix run learns one direction; CycleGAN runs have both")
    if direction == "BtoA":
        data, source = source, data
    return _Translator(section, data, source)


def load_generator(target: str | Path, use_ema: bool = True, device: str | torch.device = "cpu",
                   registry: Registry | None = None, direction: str = "AtoB") -> LoadedGenerator:
    """Rebuild a run's generator from its checkpoint (CheckpointError/ComponentError, one line, when it cannot).

    ``target``: a run folder or a checkpoint file (pretrained weights are one: `ganzoo.pretrained.resolve`
    turns a pretrained name into its file before this is called).

    ``direction``: for an image-to-image run, which generator ("AtoB", the
    run's main one, or "BtoA", CycleGAN's reverse one); a noise run has only
    "AtoB". The EMA weights (``use_ema``) exist for the main generator only.
    """
    from .build import build_generator
    from .plugin_manager import get_registry, unavailable

    if direction not in DIRECTIONS:
        raise UsageError(f"--direction must be AtoB or BtoA, not {direction!r}")
    run_dir, path = locate(target)
    ck = ckpt_mod.load(path)
    pretrained = ck.json("pretrained").get("name") if "pretrained" in ck.metadata else None
    if not ck.config:
        raise CheckpointError(f"checkpoint {path} records no run config", "it was not written by `ganzoo run`")
    try:
        config = finalize({k: v for k, v in ck.config.items() if v is not None})
    except (GanzooError, AttributeError, TypeError, ValueError) as exc:  # the file was edited or crafted
        raise CheckpointError(f"checkpoint {path} has a run config that does not validate: {exc}") from None
    meta = ck.meta
    if not isinstance(meta.get("data"), dict):
        raise CheckpointError(f"checkpoint {path}: the run's data description (meta.data) is missing")
    try:
        data = DataInfo.from_dict(meta["data"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"checkpoint {path}: the run's data description (meta.data) is corrupt") from None
    registry = registry or get_registry()
    name = config.gen["name"]
    if not registry.has("generator", name):
        raise unavailable("generator", name, (meta.get("components") or {}).get("generator"))
    spec = registry.get("generator", name)
    params = RunConfig.params(config.gen)
    source: DataInfo | None = None
    section = "generator"
    if spec.takes == "image":
        where = _translator(meta, data, direction, path, name)
        data, source, section = where.data, where.source, where.section
        model = build_generator(name, data, params=params, registry=registry, source=source)
    else:
        if direction != "AtoB":
            raise UsageError(f"--direction {direction}: generator {name!r} draws from noise; it translates no images",
                             "--direction is for image-to-image runs (pix2pix, cyclegan)")
        model = build_generator(name, data, config.train["latent_dim"], params, registry)
    # the EMA shadows the main generator only (CycleGAN keeps none)
    ema = use_ema and section == "generator" and bool(ck.section("ema"))
    what = f"generator {name!r}" + (f" ({direction})" if source is not None else "")
    ckpt_mod.load_model(ck, "ema" if ema else section, model, what)
    model.to(device).eval()
    conditional = spec.conditional
    return LoadedGenerator(model=model, data=data, config=config, meta=meta, run_dir=run_dir, checkpoint=path,
                           step=ck.step, ema=ema, conditional=conditional, takes=spec.takes, source=source,
                           direction=direction, sampling=spec.sampling, pretrained=pretrained, who=spec.who)
