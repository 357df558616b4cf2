"""A pix2pix or CycleGAN run read back: generators that translate images of one domain into another.

What `ganzoo sample`, `ganzoo eval`, `ganzoo.load` and a pretrained export do with the runs of the
`pix2pix` and `cyclegan` algorithms. The run records (`Algorithm.describe`, ``meta.algorithm``) the input
domain (``source``, a DataInfo) and each generator section's direction (``{"generator": "AtoB",
"generator_ba": "BtoA"}``); "BtoA" is built with the domains swapped. Options: ``direction`` (which
generator), ``input`` (an image file or a folder of them to translate; default: held-out examples beside
their targets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganzoo.checkpoint import load_model
from ganzoo.errors import CheckpointError, UsageError, plugin_code
from ganzoo.registry import Registry
from ganzoo.specs import DataInfo
from ganzoo.trained import Controls, Drawing, Option, Scoring, Stored, Trained

DIRECTIONS = ("AtoB", "BtoA")
#: how many held-out examples a translation grid shows by default, and side by side in a row
HELDOUT_EXAMPLES, EXAMPLES_PER_ROW = 16, 4


class Translator(Trained):
    """One generator of an image-to-image run, in one direction."""

    def __init__(self, stored: Stored, model: torch.nn.Module, *, ema: bool, who: str, data: DataInfo,
                 source: DataInfo, direction: str, directions: tuple[str, ...]) -> None:
        self.source = source  # the images it takes
        self.direction = direction
        self.directions = directions  # the directions this run's generators translate
        super().__init__(stored, model, ema=ema, who=who, data=data, options=_OPTIONS)

    @classmethod
    def read(cls, stored: Stored, *, ema: bool, device: torch.device, registry: Registry,
             options: Mapping[str, object]) -> Translator:
        from ganzoo.components.build import build_generator
        from ganzoo.trained import accept

        spec = stored.generator(registry)
        # the options are checked before anything is built
        direction = str(accept(_OPTIONS, options, spec.who).get("direction", "AtoB"))
        source, directions = _domains(stored)
        gens = {v: k for k, v in _sections(stored).items()}
        section = gens.get(direction)
        if section is None:
            raise UsageError(f"--direction {direction}: this run's generators translate {', '.join(directions)} only",
                             "a pix2pix run learns one direction; CycleGAN runs have both")
        data = stored.data
        if direction == "BtoA":
            data, source = source, data
        model = build_generator(spec.name, data, params=stored.config.params(stored.config.gen), registry=registry,
                                source=source)
        # the EMA shadows the main generator only (CycleGAN keeps none)
        use_ema = ema and section == "generator" and bool(stored.ck.section("ema"))
        load_model(stored.ck, "ema" if use_ema else section, model, f"generator {spec.name!r} ({direction})")
        model.to(device).eval()
        return cls(stored, model, ema=use_ema, who=spec.who, data=data, source=source, direction=direction,
                   directions=directions)

    def controls(self) -> Controls:
        return Controls("image", directions=self.directions, source=self.source)

    @classmethod
    def shipped(cls, stored: Stored) -> tuple[str, ...]:
        """The main generator (its EMA where the run kept one) and every other direction's generator."""
        main = ("ema",) if stored.ck.section("ema") else ("generator",)
        return main + tuple(s for s in _sections(stored) if s != "generator")

    def sample(self, n: int = 64, *, seed: int = 0, **options: object) -> Tensor:
        raise UsageError(f"generator {self.config.gen['name']!r} translates images; it draws no samples",
                         "call it on a batch of input images: loaded.model(images)")

    def walk(self, seed_a: int, seed_b: int, frames: int, options: Mapping[str, object]) -> Tensor:
        raise UsageError(f"--walk: generator {self.config.gen['name']!r} translates images; it has no latent codes "
                         "to walk between", "--walk is for generators that draw from noise")

    def draw(self, num: int | None, seed: int, options: Mapping[str, object]) -> Drawing:
        """``input``'s images (at most ``num``), or ``num`` held-out inputs (default 16) beside their targets,
        translated; the grid shows input | output (| target) side by side."""
        from ganzoo.images import MAX_PIXELS, TOO_LARGE, image_files, read_images
        from ganzoo.plugin.manager import warn
        from ganzoo.sampling import check_memory
        from ganzoo.evaluation.runs import run_dataset

        from .evaluation import heldout_images

        chosen = self.accept(options)
        source, data = self.source, self.data
        targets: Tensor | None = None
        input_path = chosen.get("input")
        if input_path is not None:
            assert isinstance(input_path, Path)
            if not input_path.exists():
                raise UsageError(f"--input {input_path} does not exist", "give an image file or a folder of images")
            files, _ = image_files(input_path)
            count = min(len(files), num) if num is not None else len(files)
            check_memory(count, math.prod(source.shape) + math.prod(data.shape), 0)
            read = read_images(input_path, source.shape, limit=num)
            note = read.skip_note()
            if not len(read.images):  # one line: what was skipped is why there is nothing
                too_large = TOO_LARGE in read.skipped
                raise UsageError(f"--input {input_path}: no readable images" + (f"; {note}" if note else ""),
                                 f"scale the pictures down to at most {MAX_PIXELS // 1_000_000} megapixels"
                                 if too_large else "give .png, .jpg, .jpeg, .webp or .bmp files")
            if note:
                warn(f"--input {input_path}: {note}")
            inputs, what = read.images, str(input_path)
        else:
            name, params = run_dataset(self.config)
            held = heldout_images(name, params, self.direction, num or HELDOUT_EXAMPLES, seed)
            for line in held.notes:
                warn(line)
            inputs, targets, what = held.inputs, held.targets, f"{held.split} split of {name}"
        outputs = self.translate(inputs, seed)
        tensors = {"images": outputs.contiguous(), "inputs": inputs.contiguous()}
        if targets is not None:
            tensors["targets"] = targets.contiguous()
        columns = [inputs, outputs] + ([targets] if targets is not None else [])
        picture, nrow = _columns(columns, EXAMPLES_PER_ROW)
        return Drawing(picture, nrow, len(outputs), f"{self.direction} translations", tensors,
                       {"direction": self.direction, "inputs": what})

    def translate(self, inputs: Tensor, seed: int = 0) -> Tensor:
        from ganzoo.evaluation.translation import translate

        with plugin_code(self.who, "while translating"):
            return translate(self.model, inputs, next(iter(self.model.parameters())).device, seed)

    def evaluate(self, scoring: Scoring) -> dict[str, Any]:
        """L1, PSNR and SSIM against the targets (paired data), FD of the outputs against held-out targets, and
        for labelled data the share of outputs that keep the input's class (CycleGAN: also A -> B -> A), on the
        held-out split's inputs."""
        from .evaluation import evaluate_translation_run

        if scoring.dataset is not None:
            raise UsageError("--dataset: an image-to-image run is scored on its own dataset's held-out split",
                             "leave --dataset out")
        return evaluate_translation_run(self.checkpoint, num=scoring.num, seed=scoring.seed, device=scoring.device,
                                        direction=self.direction, log=scoring.log,
                                        metrics=scoring.metrics or None, inception=scoring.inception)


_OPTIONS = (Option("direction", "which way to translate (BtoA: a CycleGAN run's reverse generator)",
                   choices=DIRECTIONS),
            Option("input", "an image, or a folder of images, to translate (converted to the input domain's "
                            "channels and size); default: held-out examples", "path"))


def _domains(stored: Stored) -> tuple[DataInfo, tuple[str, ...]]:
    """The input domain the run recorded, and the directions of its generators."""
    raw = stored.recorded("source")
    if not raw:
        raise CheckpointError(f"checkpoint {stored.checkpoint}: generator {stored.config.gen['name']!r} translates "
                              f"images, but the run records no input domain (meta.algorithm.source)")
    try:
        source = DataInfo.from_dict(raw)
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"checkpoint {stored.checkpoint}: the input domain (meta.algorithm.source) is "
                              "corrupt") from None
    return source, tuple(sorted(set(_sections(stored).values())))


def _sections(stored: Stored) -> dict[str, str]:
    """Checkpoint section -> direction of each generator of the run."""
    algo = stored.meta.get("algorithm")
    gens = algo.get("generators") if isinstance(algo, dict) else None
    if gens is None:
        return {"generator": "AtoB"}
    if not isinstance(gens, dict):
        raise CheckpointError(f"checkpoint {stored.checkpoint}: meta.algorithm.generators is not a table")
    return {str(k): str(v) for k, v in gens.items()}


def _columns(columns: list[Tensor], per_row: int) -> tuple[Tensor, int]:
    """Examples side by side (input | output | target), ``per_row`` of them in a grid row: (images, nrow).

    Columns of other channels or sizes than the outputs (the second) are converted to match them.
    """
    from ganzoo.images import fit_image

    h, w = columns[1].shape[-2:]
    channels = max(col.shape[1] for col in columns)
    fitted = []
    for col in columns:
        if tuple(col.shape[-2:]) != (h, w):
            col = torch.stack([fit_image(x, h, w) for x in col]) if len(col) else col.new_zeros((0, col.shape[1], h, w))
        if col.shape[1] != channels:  # greyscale beside colour: shown as grey RGB
            col = col.expand(-1, channels, -1, -1) if col.shape[1] == 1 else col[:, :channels]
        fitted.append(col)
    stacked = torch.stack(fitted, dim=1).reshape(-1, channels, h, w)  # example by example, column by column
    return stacked, per_row * len(columns)


