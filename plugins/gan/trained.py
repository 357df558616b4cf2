"""A `gan` run read back: one generator that draws from noise (and class labels when it is conditional).

What `ganzoo sample`, `ganzoo eval`, `ganzoo.load` and a pretrained export do with the runs of the `gan`
algorithm, and of every algorithm that registers no reader of its own (ProGAN's, a plugin's). Options:
``label`` for a conditional generator, ``truncation`` for a generator that declares a truncation trick
(``register.generator(..., sampling=...)``, `ganzoo.specs.SAMPLING_OPTIONS`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ganzoo.config import argcheck
from ganzoo.checkpoint import load_model
from ganzoo.errors import UsageError, plugin_code
from ganzoo.registry import Registry
from ganzoo.specs import SAMPLING_OPTIONS
from ganzoo.trained import Controls, Drawing, Option, Scoring, Stored, Trained

Labels = Tensor | list[int] | int | None


class NoiseGenerator(Trained):
    """A generator of samples from latent codes: the trained model of a `gan` run."""

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
        from ganzoo.components.build import build_generator

        spec = stored.generator(registry)
        if spec.takes != "noise":
            raise UsageError(f"{spec.who} takes {spec.takes}s, and the run's algorithm reads generators that draw "
                             "from noise", "train it with an algorithm made for it")
        model = build_generator(spec.name, stored.data, stored.config.train["latent_dim"],
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
            from ganzoo.sampling import sampling_options

            sampling_options(self.config.gen["name"], self.sampling, truncation=1.0)  # raises: it declares none
        return super().accept(given)

    def controls(self) -> Controls:
        return Controls("noise", self.conditional, self.sampling)

    @property
    def latent_dim(self) -> int:
        return int(self.config.train["latent_dim"])

    @property
    def takes(self) -> str:
        """What its generator takes (`ganzoo.specs.TAKES`)."""
        return "noise"

    @property
    def translates(self) -> bool:
        return False

    # -- drawing ---------------------------------------------------------------------------------------
    def sample(self, n: int = 64, labels: Labels = None, *, seed: int = 0,  # type: ignore[override]
               truncation: float | None = None, **options: object) -> Tensor:
        """``n`` samples, float32 on the CPU: images (n, C, H, W) in [-1, 1], or points (n, D).

        ``labels``: for a conditional generator, one class for all, or one per sample; None: the classes in
        turn (0, 1, ..., 0, 1, ...). ``seed`` seeds the latent codes (the same seed, the same samples).
        ``truncation``: the generator's own truncation trick, for generators that declare one (its
        ``sampling``; `ganzoo.specs.SAMPLING_OPTIONS` says what the value means for each).
        """
        from ganzoo.sampling import generate, seeded_noise, split_options

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
        from ganzoo.sampling import latent, split_options

        on_latent, _ = split_options(self.sampling_values(chosen))
        return latent(self.model, n, self.latent_dim, torch.Generator().manual_seed(seed), options=on_latent)

    def sampling_values(self, chosen: Mapping[str, object]) -> dict[str, float]:
        """The generator's sampling options (by `SAMPLING_OPTIONS` name) among the accepted ``chosen``, each
        checked against its range (`ganzoo.sampling.sampling_options`)."""
        from ganzoo.sampling import sampling_options

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
        from ganzoo.sampling import check_memory

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
        from ganzoo.sampling import split_options
        from ganzoo.walk import fractions, interpolate

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
        conditional one), against the held-out split of its dataset (`ganzoo.evaluation`)."""
        from ganzoo.evaluation import evaluate as evaluate_samples

        return evaluate_samples(self.stored.asked, num=scoring.num, seed=scoring.seed, dataset=scoring.dataset,
                                device=scoring.device, inception=scoring.inception, log=scoring.log,
                                metrics=scoring.metrics or None)


def _uint8(samples: Tensor) -> Tensor:
    from ganzoo.interfaces import to_uint8

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


__all__ = ["NoiseGenerator"]
