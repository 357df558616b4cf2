"""`ganzoo sample`: draw samples from a trained run (its EMA generator when it has one).

An image-to-image run (its generator registered ``takes="image"``: pix2pix,
CycleGAN) translates images instead: the user's own (``--input``, a picture
or a folder of them, converted to the input domain's channels and size), or
else a batch of its dataset's held-out split, shown beside their targets.

The output never replaces a file of a run (its checkpoints, grids, config or
metrics), and replaces another existing file only with ``--force``; the
default output takes a fresh name. Files are written atomically.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import UsageError, plugin_code
from ..rundir import RunDir, resolve_path
from ._common import device_option

if TYPE_CHECKING:
    from torch import Tensor

    from ..trained import LoadedGenerator


@dataclass
class Drawn:
    """What `sample_to_file` wrote."""

    loaded: LoadedGenerator
    out: Path
    num: int
    labels: Tensor | None


def check_out(out: Path, force: bool) -> None:
    """Refuse an output that would replace a run's own file, or any existing file without ``force``."""
    where = resolve_path(out, "--out")  # a symbolic-link loop: one line
    for folder in list(where.parents)[:3]:
        run = RunDir(folder)
        if not run.is_run():
            continue
        if where.parent == run.checkpoints.resolve() or (run.owns(where) and not where.name.startswith("sample-")):
            raise UsageError(f"--out {out} would replace a file of the run in {folder}",
                             "write samples outside its checkpoints/ (e.g. --out samples.png)")
    if out.exists() and not force:
        raise UsageError(f"--out {out} exists", "pass --force to replace it, or choose another file")


def _free_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable), None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def check_memory(n: int, sample_numel: int, latent_dim: int) -> None:
    """Refuse ``n`` samples whose float32 tensors (codes, samples, a uint8 copy) cannot fit in free memory."""
    need = n * (4 * latent_dim + 5 * sample_numel)
    free = _free_memory()
    if free is not None and need > free // 2:
        raise UsageError(f"--num {n}: the samples need about {_size(need)} of memory and {_size(free)} is free",
                         "draw fewer, in several files with different --seed")


def sample_to_file(target: str | Path, out: str | Path | None = None, num: int | None = None,
                   label: int | None = None, seed: int = 0, use_ema: bool = True,
                   device: str = "cpu", registry: Any = None, force: bool = False,
                   input_path: str | Path | None = None, direction: str = "AtoB",
                   truncation: float | None = None) -> Drawn:
    """Write a PNG grid (or scatter plot) or a safetensors file of samples from a run or checkpoint.

    An image-to-image run translates ``input_path`` (an image file or a folder of
    them), or without it ``num`` images of its dataset's held-out split
    (default 16); ``direction`` "BtoA" uses a CycleGAN run's reverse generator. ``truncation``: the
    generator's own truncation trick, for generators that declare one (``register.generator(...,
    sampling=...)``, `ganzoo.specs.SAMPLING_OPTIONS`); any other is refused in one line, an image-to-image
    one included.
    """
    if out is not None and Path(out).suffix.lower() not in (".png", ".safetensors"):
        raise UsageError(f"--out {out}: expected a .png or .safetensors file")
    if num is not None and num < 1:
        raise UsageError(f"--num must be positive, not {num}")
    if input_path is not None and not Path(input_path).exists():
        raise UsageError(f"--input {input_path} does not exist", "give an image file or a folder of images")
    if out is not None:
        check_out(Path(out), force)
    import torch

    from ..device import resolve_device
    from ..pretrained import resolve
    from ..sampling import write_picture
    from ..trained import load_generator

    loaded = load_generator(resolve(target, registry), use_ema, resolve_device(device), registry, direction=direction)
    options = loaded.sampling_options(truncation)  # checked before anything is drawn, for translators too
    if loaded.translates:
        return _translate_to_file(loaded, out, num, label, seed, input_path, resolve_device(device))
    if input_path is not None:
        raise UsageError(f"--input: generator {loaded.config.gen['name']!r} draws from noise; it takes no images",
                         "--input is for image-to-image runs (pix2pix, cyclegan)")
    data, conditional = loaded.data, loaded.conditional
    classes = data.num_classes or 0
    if label is not None and conditional:
        loaded.labels(1, label)  # one line when the label is out of range, before the memory check
    default_n = 64 if data.is_image else 1000
    if conditional and label is None:  # one full row per class: --num is rounded up to a multiple of the classes
        nrow = 8 if num is None else max(1, math.ceil(num / classes))
        n = nrow * classes
    else:
        n = num or default_n
        nrow = max(1, math.ceil(math.sqrt(n)))
    check_memory(n, math.prod(data.shape), loaded.latent_dim)
    labels: Tensor | None = None
    if conditional:
        labels = (torch.full((n,), label, dtype=torch.long) if label is not None
                  else torch.arange(classes).repeat_interleave(nrow))
    samples = loaded.sample(n, labels if conditional else label, seed=seed, truncation=truncation)
    path = Path(out) if out is not None else loaded.default_out(seed)
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import save

        from ..interfaces import to_uint8
        from ..checkpoint import metadata_strings
        from ..rundir import write_atomic

        tensors = {"images": to_uint8(samples)} if data.is_image else {"points": samples.float().contiguous()}
        if labels is not None:
            tensors["labels"] = labels.long()
        meta = {"generator": loaded.config.gen["name"], "seed": str(seed), "step": str(loaded.step),
                "ema": json.dumps(loaded.ema), "checkpoint": str(loaded.checkpoint), "options": json.dumps(options)}
        write_atomic(path, save(tensors, metadata=metadata_strings(meta)))  # a non-UTF-8 name too
    else:
        write_picture(samples, path, data, labels, nrow)
    return Drawn(loaded, path, n, labels)


# how many held-out examples a translation grid shows by default, and side by side in a row
HELDOUT_EXAMPLES, EXAMPLES_PER_ROW = 16, 4


def _columns(columns: list[Tensor], per_row: int) -> tuple[Tensor, int]:
    """Examples side by side (input | output | target), ``per_row`` of them in a grid row: (images, nrow).

    Columns of other channels or sizes than the outputs (the second) are converted to match them.
    """
    import torch

    from ..images import fit_image

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


def _translate_to_file(loaded: LoadedGenerator, out: str | Path | None, num: int | None, label: int | None,
                       seed: int, input_path: str | Path | None, device: Any) -> Drawn:
    """`sample_to_file` for an image-to-image generator (see there)."""
    from ..evaluation.runs import run_dataset
    from ..evaluation.translation import heldout_images, translate
    from ..images import MAX_PIXELS, TOO_LARGE, image_files, read_images, save_grid
    from ..plugin_manager import warn

    if label is not None:
        raise UsageError(f"--label: generator {loaded.config.gen['name']!r} translates images; it takes no labels")
    assert loaded.source is not None
    source, data = loaded.source, loaded.data
    targets: Tensor | None = None
    if input_path is not None:
        files, _ = image_files(Path(input_path))
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
        name, params = run_dataset(loaded.config)
        held = heldout_images(name, params, loaded.direction, num or HELDOUT_EXAMPLES, seed)
        for line in held.notes:
            warn(line)
        inputs, targets, what = held.inputs, held.targets, f"{held.split} split of {name}"
    with plugin_code(loaded.who, "while translating"):
        outputs = translate(loaded.model, inputs, device, seed)  # seeds test-time noise (dropout) too
    path = Path(out) if out is not None else loaded.default_out(seed)
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import save

        from ..checkpoint import metadata_strings
        from ..rundir import write_atomic

        tensors = {"images": outputs.contiguous(), "inputs": inputs.contiguous()}
        if targets is not None:
            tensors["targets"] = targets.contiguous()
        meta = {"generator": loaded.config.gen["name"], "direction": loaded.direction, "inputs": what,
                "seed": str(seed), "step": str(loaded.step), "ema": json.dumps(loaded.ema),
                "checkpoint": str(loaded.checkpoint)}
        write_atomic(path, save(tensors, metadata=metadata_strings(meta)))  # a non-UTF-8 name too
    else:
        columns = [inputs, outputs] + ([targets] if targets is not None else [])
        images, nrow = _columns(columns, EXAMPLES_PER_ROW)
        save_grid(images, path, nrow)
    return Drawn(loaded, path, len(outputs), None)


def _truncation_help() -> str:
    """--truncation's help, from the options generators may declare for it (`ganzoo.specs.SAMPLING_OPTIONS`)."""
    from ..specs import SAMPLING_OPTIONS

    kinds = [o for o in SAMPLING_OPTIONS.values() if o.flag == "truncation"]
    return ("The generator's own truncation trick, for generators that declare one (others refuse it; "
            "`ganzoo info GEN` says which): " + "; or ".join(f"the {o.meaning} ({o.range})" for o in kinds) + ".")


@click.command("sample")
@click.argument("target", metavar="RUN_DIR_CHECKPOINT_OR_PRETRAINED")
@click.option("--num", "-n", type=int, help="How many samples (default 64; conditional without --label: 8 per class, "
                   "or N rounded up to a whole row per class).")
@click.option("--label", type=int, help="Class to draw (conditional models only).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent codes.")
@click.option("--out", "-o", type=click.Path(dir_okay=False),
              help="A .png grid or a .safetensors file (images uint8 NxCxHxW, labels). "
                   "Default: RUN_DIR/samples/sample-SEED.png (or sample-SEED-2.png, ... when that exists); "
                   "for a pretrained name, NAME-sample-SEED.png here")
@click.option("--force", is_flag=True, help="Replace --out when it exists (never a file of a run).")
@click.option("--no-ema", is_flag=True, help="Use the raw generator even when the run kept an EMA.")
@click.option("--input", "-i", "input_", type=click.Path(exists=True),
              help="Image-to-image runs: translate this image, or every image in this folder (converted to the "
                   "input domain's channels and size; unreadable files are skipped and counted). The grid shows "
                   "input | output pairs. Default: --num images of the dataset's held-out split (16), shown as "
                   "input | output | target.")
@click.option("--truncation", type=float, default=None, metavar="VALUE", help=_truncation_help())
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB", show_default=True,
              help="Image-to-image runs: which way to translate (BtoA: a CycleGAN run's reverse generator).")
@click.option("--walk", type=int, nargs=2, default=None, metavar="SEED_A SEED_B",
              help="A latent walk from seed A's code to seed B's, written as a looping animation (--out a .gif or "
                   ".webp; default NAME-walk-A-B.gif here): spherical in z, or the generator's own path (StyleGAN2: "
                   "linear in w). A conditional generator keeps --label (default 0) the whole way.")
@click.option("--frames", type=int, default=16, show_default=True, help="With --walk: the frames, both ends included.")
@device_option("cpu", "Where to run the generator:")
def sample_cmd(target: str, num: int | None, label: int | None, seed: int, out: str | None, force: bool,
               no_ema: bool, input_: str | None, truncation: float | None, direction: str,
               walk: tuple[int, int] | None, frames: int, device: str) -> None:
    """Sample a trained generator: a PNG grid (one row per class for conditional models) or tensors.

    TARGET is a run folder, a checkpoint, or the name of a recipe that ships
    its trained generator (`ganzoo list --pretrained`): no training needed.

    \b
    ganzoo sample dcgan-mnist --out grid.png
    ganzoo sample runs/<run> --label 7 --num 16
    An image-to-image run (pix2pix, CycleGAN) translates images instead:
    ganzoo sample runs/<run> --input photos/ --out translated.png
    ganzoo sample runs/<cyclegan-run> --direction BtoA
    A walk between two seeds, as an animation:
    ganzoo sample dcgan-mnist --walk 1 2 --frames 24 --out walk.gif
    """
    from ..console import console

    if walk is not None:
        _walk(target, walk, frames, out, label, truncation, not no_ema, device, force, num, input_, direction)
        return

    drawn = sample_to_file(target, out=out, num=num, label=label, seed=seed, use_ema=not no_ema, device=device,
                           force=force, input_path=input_, direction=direction, truncation=truncation)
    which = "EMA generator" if drawn.loaded.ema else "generator"
    what = f"{drawn.loaded.direction} translations" if drawn.loaded.translates else "samples"
    console.print(f"wrote {drawn.num} {what} from the {which} at step {drawn.loaded.step} to {drawn.out}",
                  highlight=False, soft_wrap=True, markup=False)  # the path is the user's: "[x].png" is no markup


def _walk(target: str, seeds: tuple[int, int], frames: int, out: str | None, label: int | None,
          truncation: float | None, use_ema: bool, device: str, force: bool, num: int | None,
          input_: str | None, direction: str) -> None:
    """`sample --walk`: the flags that mean nothing for a walk are refused by name, then `ganzoo.walk`."""
    from ..console import console
    from ..walk import walk_to_file

    for flag, given in (("--num", num is not None), ("--input", input_ is not None), ("--direction", direction != "AtoB")):
        if given:
            raise UsageError(f"{flag} does not go with --walk", "a walk draws --frames images between two seeds")
    loaded, path = walk_to_file(target, seeds[0], seeds[1], frames, out, label, truncation, use_ema, device, force)
    console.print(f"wrote a walk of {frames} frames from seed {seeds[0]} to {seeds[1]} (step {loaded.step}) to {path}",
                  highlight=False, soft_wrap=True, markup=False)
