"""An InfoGAN run read back: samples drawn by code, laid out as the paper's figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ganzoo.errors import plugin_code
from ganzoo.interfaces import to_uint8
from ganzoo.sampling import generate, seeded_noise
from ganzoo.trained import Drawing, NoiseGenerator, Option, Scoring

from .codes import Codes

#: what `ganzoo eval` measures of an InfoGAN without --metric: the default set of a generator of samples, with
#: code-purity in the place of conditional-accuracy (its codes are not the data's classes)
METRICS = ("fd", "kid", "precision-recall", "coverage", "memorization", "code-purity")
#: the continuous code's sweep across a grid's columns (the paper's Figure 2 runs -2..2)
SWEEP = (-2.0, 2.0)


class InfoGANModel(NoiseGenerator):
    """An InfoGAN generator. Options: ``code.digit`` (the categorical code), ``code.c1``, ``code.c2``, ...
    (continuous codes). Without codes a grid has one row per value of ``digit`` and sweeps ``c1`` across
    its columns; a fixed ``digit`` fills the grid with that value."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        space = self.model.codes
        assert isinstance(space, Codes)
        self.space = space
        top = space.categories - 1
        self.options = self.options + (
            Option("code.digit", f"the categorical code, 0..{top}", "int", minimum=0, maximum=top),
            *(Option(f"code.{name}", "a continuous code (trained on -1..1)", "float", minimum=-5, maximum=5)
              for name in space.names[1:]))

    def codes(self, n: int, seed: int, chosen: Mapping[str, object]) -> torch.Tensor:
        """Latent vectors from the prior, with the codes ``chosen`` fixed (``code.digit``, ``code.c1``, ...)."""
        digit = chosen.get("code.digit")
        y = torch.full((n,), int(digit)) if digit is not None else None  # type: ignore[call-overload]
        return self.space.draw(n, generator=torch.Generator().manual_seed(seed), digit=y, cont=self._continuous(chosen))

    def _continuous(self, chosen: Mapping[str, object]) -> dict[int, float]:
        return {i: float(chosen[f"code.{name}"]) for i, name in enumerate(self.space.names[1:])  # type: ignore[arg-type]
                if f"code.{name}" in chosen}

    def draw(self, num: int | None, seed: int, options: Mapping[str, object]) -> Drawing:
        """Without codes, the paper's figure: a row per value of ``digit``, ``c1`` swept across the columns.
        With codes, ``num`` samples (default 64) with those codes fixed and the others drawn."""
        chosen = self.accept(options)
        space = self.space
        if "code.digit" in chosen or "code.c1" in chosen:
            n = num or 64
            z = self.codes(n, seed, chosen)
            nrow = max(1, int(n ** 0.5 + 0.999))
        else:
            cols = max(1, (num or 8 * space.categories) // space.categories)
            n = cols * space.categories
            y = torch.arange(space.categories).repeat_interleave(cols)
            z = space.draw(n, generator=torch.Generator().manual_seed(seed), digit=y, cont=self._continuous(chosen))
            z[:, space.noise + space.categories] = torch.linspace(*SWEEP, cols).repeat(space.categories)
            nrow = cols
        with plugin_code(self.who, "while sampling"), seeded_noise(self.model, seed):
            samples = generate(self.model, z, None)
        tensors = {"images": to_uint8(samples), "codes": z[:, space.noise:].contiguous()}
        return Drawing(samples, nrow, n, "samples", tensors, {"layout": "rows: digit, columns: c1"})

    def evaluate(self, scoring: Scoring) -> dict[str, Any]:
        """The samples of every categorical code in turn (the codes as their labels), against the held-out split
        of its dataset: FD, KID, precision/recall, coverage, memorization and code-purity by default."""
        from ganzoo.evaluation.runs import run_dataset
        from ganzoo.evaluation.scoring import evaluate_samples

        n = scoring.num or 5000
        codes = torch.arange(n) % self.space.categories
        z = self.space.draw(n, generator=torch.Generator().manual_seed(scoring.seed), digit=codes)
        with plugin_code(self.who, "while sampling for evaluation"), seeded_noise(self.model, scoring.seed):
            samples = to_uint8(generate(self.model, z, None))
        name, params = run_dataset(self.config)
        result = evaluate_samples(samples, codes, scoring.dataset or name, dataset_params=params, seed=scoring.seed,
                                  device=scoring.device, inception=scoring.inception, log=scoring.log,
                                  metrics=scoring.metrics or METRICS)
        result["source"] = str(self.stored.asked)
        return result
