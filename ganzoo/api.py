"""Training, loading and scoring from Python: what `ganzoo run`, `ganzoo sample` and `ganzoo eval` do, for
notebooks and scripts (docs/api.md).

Each function goes through the same layers as its command: a run config is
resolved from a recipe and overrides by `ganzoo.config.resolve`, its names
looked up by `ganzoo.training.composition.lookup`, trained by `ganzoo.training.trainer.Trainer`;
a run's trained model is read back by its algorithm's reader (`ganzoo.trained.load`), which samples and
scores it: `evaluate` (which `ganzoo eval` calls too) asks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .base.errors import GanzooError, UsageError
from .config import argcheck

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from PIL import Image

    from .config.runconfig import RunConfig
    from .plugin.registry import Registry
    from .runs.trained import Scoring, Trained
    from .training.composition import Composition
    from .training.results import TrainResult

#: the tables of a run config an override may name; any other keyword is a [train] setting
TABLES = ("algo", "gen", "disc", "loss", "dataset")


def overrides_layer(overrides: Mapping[str, object]) -> dict[str, object]:
    """``train(..., gen="dcgan", loss="bce+l1", epochs=2, out="runs/x")`` as a config layer: a table given as a
    name or a dict of its keys; ``out``; every other keyword a [train] setting (docs/settings.md)."""
    layer: dict[str, object] = {}
    train: dict[str, object] = {}
    for key, value in overrides.items():
        if key in TABLES:
            if not isinstance(value, (str, Mapping)):
                raise UsageError(f"{key} must be a name or a table (a dict such as {{'name': ...}}), not "
                                 f"{argcheck.shown(value)}")
            layer[key] = {"name": value} if isinstance(value, str) else dict(value)
        elif key == "out":
            if value is not None:  # None: the default folder, as when out= is left out (not a folder named None)
                layer["out"] = str(argcheck.path("out", value, what="the run folder"))
        else:
            layer.setdefault("train", train)
            train[key] = list(value) if isinstance(value, tuple) else value
    return layer


@dataclass
class Run:
    """A trained run: its folder, how training ended, and its generator on demand."""

    path: Path
    result: TrainResult | None = None  # None for a run opened with `open_run` rather than trained here

    def __post_init__(self) -> None:
        self.path = Path(argcheck.path("path", self.path, what="a run folder"))

    def generator(self, ema: bool = True, device: str = "cpu") -> Trained:
        """The run's generator (its EMA when it kept one and ``ema``), in eval mode: `ganzoo.load`."""
        return load(self.path, ema=ema, device=device)

    def sample(self, n: int = 64, labels: torch.Tensor | list[int] | int | None = None, *, seed: int = 0,
               truncation: float | None = None) -> torch.Tensor:
        """``n`` samples of the run's generator: float32 images (n, C, H, W) in [-1, 1] (or points)."""
        argcheck.integer("n", n, minimum=1)  # before the generator is loaded
        argcheck.seed("seed", seed)
        return self.generator().sample(n, labels=labels, seed=seed, truncation=truncation)

    def images(self, n: int = 16, labels: torch.Tensor | list[int] | int | None = None, *,
               seed: int = 0) -> list[Image.Image]:
        """``n`` samples as PIL images, as a notebook shows them."""
        return to_pil(self.sample(n, labels, seed=seed))

    def evaluate(self, num: int | None = None, *, seed: int = 0, device: str = "cpu",
                 metrics: Iterable[str] | None = None) -> dict[str, object]:
        """`ganzoo eval` on this run: the numbers by name, measured against the dataset's held-out split
        (``metrics``: those metrics alone, as `ganzoo eval --metric`)."""
        return evaluate(self.path, num=num, seed=seed, device=device, metrics=metrics)

    def metrics(self) -> list[dict[str, object]]:
        """metrics.jsonl, a dict per line (losses every ``log_every`` steps, evaluations)."""
        from .runs.rundir import RunDir, read_metrics

        path = RunDir(self.path).metrics
        return read_metrics(path) if path.exists() else []


def train(recipe_or_config: str | Path | Mapping[str, object] | RunConfig | Composition | None = None, *,
          resume: bool = False, overwrite: bool = False, progress: str = "auto", registry: Registry | None = None,
          **overrides: object) -> Run:
    """Train a recipe (by name), a config file (a path to a TOML), a config dict, or the default recipe.

    ``overrides``: tables by name or dict (``gen="dcgan"``, ``loss="bce+0.5*l1"``,
    ``dataset={"name": "mnist-10k", "image_size": 32}``), ``out`` (the run folder), and any [train]
    setting (``epochs=2``, ``lr=1e-4``, ``ema=0.999``, ``init="dcgan-mnist"``). ``progress``: auto | bar |
    plain | quiet (auto: a live bar on a terminal and in Jupyter, plain lines elsewhere). ``resume``: continue
    the run in ``out``. Errors are `ganzoo.errors.GanzooError`, one line each. `ganzoo run` calls this with
    the config it resolved from its flags (a `RunConfig`, or its looked-up `Composition`).
    """
    from .config.runconfig import RunConfig, resolve
    from .plugin.manager import get_registry
    from .plugin.registry import Registry
    from .training.composition import Composition

    # every argument checked before anything is resolved, built or written
    if not (recipe_or_config is None or isinstance(recipe_or_config, (str, Path, Mapping, RunConfig, Composition))):
        raise UsageError("the first argument must be a recipe name, a path to a TOML config, a config dict or "
                         f"None (the default recipe), not {argcheck.shown(recipe_or_config)}")
    resume, overwrite = argcheck.flag("resume", resume), argcheck.flag("overwrite", overwrite)
    if resume and overwrite:
        raise UsageError("pass resume=True or overwrite=True, not both")
    progress = argcheck.one_of("progress", progress, argcheck.PROGRESS)
    if registry is not None and not isinstance(registry, Registry):
        raise UsageError(f"registry must be a ganzoo.registry.Registry or None, not {argcheck.shown(registry)}")
    registry = registry or get_registry()
    if isinstance(recipe_or_config, (RunConfig, Composition)):
        if overrides:
            raise UsageError("a resolved run config takes no overrides", "put them in the config itself")
        config: RunConfig | Composition = recipe_or_config
    else:
        layer = overrides_layer(overrides)
        if resume and recipe_or_config is None:  # as `ganzoo run --resume`: the checkpoint's own config is the base
            out = layer.get("out")  # a str, when given
            config = resolve(flags=layer, base=_resume_base(out if isinstance(out, str) else None), recipes=registry)
        elif isinstance(recipe_or_config, Mapping):  # a whole config: it takes the recipe's place under the overrides
            config = resolve(flags=layer, base=dict(recipe_or_config), recipes=registry)
        elif isinstance(recipe_or_config, Path) or (isinstance(recipe_or_config, str)
                                                   and recipe_or_config.endswith(".toml")):
            config = resolve(config_file=recipe_or_config, flags=layer, recipes=registry)
        else:
            config = resolve(recipe=recipe_or_config, flags=layer, recipes=registry)
        from .training.composition import lookup

        config = lookup(config, registry)  # every name and parameter checked before anything is built
    if resume:  # both ways to resume (this and `ganzoo run --resume`) pass here
        from .training.resumed import note_edited_config

        note_edited_config(config.config if isinstance(config, Composition) else config)
    from .training.trainer import Trainer

    result = Trainer(config, resume=resume, overwrite=overwrite, progress=progress, registry=registry).fit()
    return Run(result.run_dir, result)


def _resume_base(out: str | None) -> dict[str, object]:
    """The config layer ``train(resume=True, out=...)`` starts from: the run's latest checkpoint's own."""
    from .runs.rundir import RunDir

    if out is None:
        raise UsageError("resume=True continues the run in out=: name its folder",
                         "ganzoo.train(resume=True, out=\"runs/x\")")
    return RunDir(Path(out)).resume_base()


def open_run(path: str | Path) -> Run:
    """A run folder trained earlier (by `ganzoo run` or `train`)."""
    from .runs.rundir import RunDir

    path = argcheck.path("path", path, what="a run folder")
    if not RunDir(Path(path)).is_run():
        raise UsageError(f"{path} is not a run folder", "give the folder `ganzoo run` wrote (it holds config.toml)")
    return Run(Path(path))


def load(path: str | Path, *, ema: bool = True, device: str = "cpu", **options: object) -> Trained:
    """A trained model (a run folder, a checkpoint file, or a pretrained recipe's name such as "dcgan-mnist",
    see `ganzoo list --pretrained`), read back by the algorithm that trained it, in eval mode: ``.model`` is
    the ``nn.Module``, ``.sample(n, ...)`` draws from it, ``.data`` describes what it makes. ``ema``: the EMA
    weights when the run kept them. ``options``: what the model takes when it is read (a CycleGAN run's
    ``direction="BtoA"``); one line for an option it does not take."""
    path = argcheck.path("path", path, what="a run folder, a checkpoint or a pretrained recipe's name")
    ema, device = argcheck.flag("ema", ema), argcheck.device("device", device)
    from .components.device import resolve_device
    from .runs.pretrained import resolve
    from .runs.trained import load as read_back

    return read_back(resolve(path), ema=ema, device=resolve_device(device), options=options)


def evaluate(path: str | Path | Run, *, num: int | None = None, seed: int = 0, dataset: str | None = None,
             device: str = "cpu", inception: bool = False, log: Callable[[str], None] | None = None,
             metrics: Iterable[str] | str | None = None, **options: object) -> dict[str, object]:
    """Score a run, a checkpoint, a pretrained recipe's name or a .safetensors of samples, as `ganzoo eval` does:
    against the held-out split of the run's dataset, as its algorithm evaluates it (a noise generator: FD with
    its floor, precision/recall, coverage, memorization; an image-to-image run: L1, PSNR, SSIM, FD and digit
    kept). ``inception``: standard FID too, when Inception weights are on disk (never downloaded). ``num``: how
    many samples (or inputs) to score, at least 10; None: 5,000 drawn from a generator, every sample of a samples
    file, every held-out input of an image-to-image run (at most 5,000). ``metrics``: registered metric names
    (`ganzoo list --kind metric`); None: the default set, what `ganzoo eval` prints without --metric.
    ``options``: what the model takes when it is read (``direction="BtoA"``)."""
    if not isinstance(path, Run):
        path = argcheck.path("path", path, what="a run folder, a checkpoint, a pretrained recipe's name or samples")
    num = argcheck.optional_integer("num", num, minimum=argcheck.EVAL_MIN_NUM,
                                    none="the default (5,000 from a generator, all of a file)")
    seed = argcheck.seed("seed", seed)
    dataset = argcheck.text("dataset", dataset, optional=True, what="a dataset name")
    device = argcheck.device("device", device)
    inception = argcheck.flag("inception", inception)
    log = argcheck.callback("log", log)
    names = _metric_names(metrics)
    from .components.device import resolve_device
    from .runs.pretrained import resolve
    from .runs.trained import Scoring, load as read_back

    where = path.path if isinstance(path, Run) else resolve(path)
    scoring = Scoring(num=num, seed=seed, dataset=dataset, device=resolve_device(device), inception=inception,
                      metrics=names, log=log, of_samples=_of_samples)
    given = {k: v for k, v in options.items() if v is not None}
    if _holds_samples(where):  # samples, not a model: nothing to read back
        if given:
            raise UsageError(f"{', '.join(given)}: {where} holds samples, not a model that takes options")
        from .evaluation import evaluate as evaluate_samples

        return _named(evaluate_samples(where, num=num, seed=seed, dataset=dataset, device=scoring.device,
                                       inception=inception, log=log, metrics=names or None), path, where)
    loaded = read_back(where, ema=True, device=scoring.device, options=given)
    return _named(loaded.evaluate(scoring), path, where)


def _of_samples(target: Path, scoring: Scoring) -> dict[str, object]:
    """The core's evaluation of a run by samples drawn from its generator (`ganzoo.evaluation.evaluate`), which
    `evaluate` hands the run's reader (`ganzoo.trained.Scoring.of_samples`)."""
    from .evaluation import evaluate as evaluate_samples

    return evaluate_samples(target, num=scoring.num, seed=scoring.seed, dataset=scoring.dataset, device=scoring.device,
                            inception=scoring.inception, log=scoring.log, metrics=scoring.metrics or None)


def _metric_names(metrics: Iterable[str] | str | None) -> tuple[str, ...]:
    """``metrics`` as registered metric names, each looked up (one line, with a suggestion, for an unknown one)
    before anything is read; () for the default set."""
    if metrics is None:
        return ()
    given = (metrics,) if isinstance(metrics, str) else tuple(metrics) if isinstance(metrics, Iterable) else None
    if given is None or not all(isinstance(m, str) for m in given):
        raise UsageError(f"metrics must be metric names (a list of str), not {argcheck.shown(metrics)}",
                         "see `ganzoo list --kind metric`")
    from .evaluation.selection import resolve
    from .plugin.manager import get_registry

    asked = resolve(given, get_registry())
    return tuple(s.name for s in asked) if asked else ()


def _holds_samples(where: Path) -> bool:
    """Whether ``where`` is to be scored as a file of samples rather than read back as a trained model: any
    file but a ganzoo checkpoint (the samples path says in one line what is wrong with one that is neither)."""
    if where.is_dir() or not where.is_file():
        return not where.exists()
    if where.suffix != ".safetensors":
        return True
    from .runs.header import read_metadata

    try:
        return not str(read_metadata(where).get("format", "")).startswith("ganzoo.checkpoint")
    except GanzooError:
        return True


def _named(result: dict[str, object], asked: str | Path | Run, where: Path) -> dict[str, object]:
    """A pretrained generator's result names it as the user did (its recipe), not by the installed file."""
    if isinstance(asked, str) and Path(asked) != where:
        result["source"] = asked
    return _json_safe(result)


def _json_safe(result: dict[str, object]) -> dict[str, object]:
    """No NaN or inf anywhere in the result, nested ones included (a plugin's mode metric may return tables):
    each becomes None with a note, as `ganzoo.evaluation.scoring.finite` does for the top level, so that
    `ganzoo eval --json` prints JSON (which has no NaN) and the dict says the same."""
    import math

    bad: list[str] = []

    def clean(value: object, where: str) -> object:
        if isinstance(value, float) and not math.isfinite(value):
            if where not in bad:
                bad.append(where)
            return None
        if isinstance(value, dict):
            return {k: clean(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v, where) for v in value]
        return value

    out = {k: clean(v, str(k)) for k, v in result.items()}
    if bad:
        notes = out.get("notes", [])  # a list: ganzoo.evaluation.scoring.finite's
        out["notes"] = [*(notes if isinstance(notes, list) else [notes]),
                        f"{', '.join(bad)}: not a finite number (the samples or their features hold NaN or inf), "
                        f"shown as null"]
    return out


def to_pil(samples: torch.Tensor) -> list[Image.Image]:
    """Float images in [-1, 1] (N, C, H, W) as PIL images (greyscale or RGB)."""
    from PIL import Image

    from .components.interfaces import to_uint8

    if samples.dim() != 4:
        raise UsageError("these samples are not images (points have no picture)", "plot them instead")
    pixels = to_uint8(samples).permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(p[..., 0] if p.shape[-1] == 1 else p) for p in pixels]
