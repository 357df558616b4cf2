"""`ganzoo sample`: draw from a trained run (its EMA generator when it has one), as its algorithm draws.

What is drawn and how it is laid out is the run's algorithm's (its reader, `ganzoo.trained.Trained.draw`):
samples of a noise generator, one row per class for a conditional one, translations of images beside
their inputs... The command passes the user's options to it by name (``--label``, ``--truncation``,
``--input``, ``--direction``, ``--code NAME=VALUE``, ``-o NAME=VALUE``), and writes what it drew.

The output never replaces a file of a run (its checkpoints, grids, config or metrics), and replaces another
existing file only with ``--force``; the default output takes a fresh name. Files are written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ...base.errors import UsageError, plugin_code
from ...runs.rundir import check_output
from ._common import device_option

if TYPE_CHECKING:
    from torch import Tensor

    from ...plugin.registry import Registry
    from ...runs.trained import Trained


@dataclass
class Drawn:
    """What `sample_to_file` wrote."""

    loaded: Trained
    out: Path
    num: int
    labels: Tensor | None
    noun: str = "samples"


def named_values(flag: str, given: Sequence[str], prefix: str = "") -> dict[str, str]:
    """``NAME=VALUE`` texts (``--code c=3``, ``-o truncation=0.7``) as options by name (``prefix`` + NAME)."""
    out: dict[str, str] = {}
    for text in given:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{flag} {text!r}: expected NAME=VALUE", f"e.g. {flag} {'c' if prefix else 'label'}=3")
        out[prefix + name.strip()] = value.strip()
    return out


def sample_to_file(target: str | Path, out: str | Path | None = None, num: int | None = None,
                   label: int | None = None, seed: int = 0, use_ema: bool = True,
                   device: str = "cpu", registry: Registry | None = None, force: bool = False,
                   input_path: str | Path | None = None, direction: str | None = None,
                   truncation: float | None = None, options: Mapping[str, object] | None = None) -> Drawn:
    """Write a PNG grid (or scatter plot) or a safetensors file of what the run's algorithm draws.

    ``label``, ``input_path``, ``direction`` and ``truncation`` are the options of the built-in readers
    that `ganzoo sample` has flags for; ``options`` any option by name (a plugin's latent codes as
    ``code.NAME``). Each is checked by the run's reader (`ganzoo.trained.Trained.accept`): one line for an
    option it does not take.
    """
    if out is not None and Path(out).suffix.lower() not in (".png", ".safetensors"):
        raise UsageError(f"--out {out}: expected a .png or .safetensors file")
    if num is not None and num < 1:
        raise UsageError(f"--num must be positive, not {num}")
    if input_path is not None and not Path(input_path).exists():
        raise UsageError(f"--input {input_path} does not exist", "give an image file or a folder of images")
    if out is not None:
        check_output(Path(out), force)
    from ...components.device import resolve_device
    from ...runs.pretrained import resolve
    from ...runs.sampling import write_picture
    from ...runs.trained import load

    given = {"label": label, "input": input_path, "direction": direction, "truncation": truncation,
             **(options or {})}
    given = {k: v for k, v in given.items() if v is not None}
    loaded = load(resolve(target, registry), ema=use_ema, device=resolve_device(device), registry=registry,
                  options=given)
    chosen = loaded.accept(given)  # checked before anything is drawn
    with plugin_code(loaded.who, "while drawing"):
        drawing = loaded.draw(num, seed, chosen)
    path = Path(out) if out is not None else loaded.default_out(seed)
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import save

        from ...runs.checkpoint import metadata_strings
        from ...runs.rundir import write_atomic

        meta = {"generator": loaded.config.gen["name"], "seed": str(seed), "step": str(loaded.step),
                "ema": json.dumps(loaded.ema), "checkpoint": str(loaded.checkpoint), **drawing.meta}
        tensors = {k: v.contiguous() for k, v in drawing.tensors.items()}
        write_atomic(path, save(tensors, metadata=metadata_strings(meta)))  # a non-UTF-8 name too
    else:
        write_picture(drawing.picture, path, loaded.data, drawing.labels, drawing.nrow)
    return Drawn(loaded, path, drawing.count, drawing.labels, drawing.noun)


def _truncation_help() -> str:
    """--truncation's help, from the options generators may declare for it (`ganzoo.specs.SAMPLING_OPTIONS`)."""
    from ...base.specs import SAMPLING_OPTIONS

    kinds = [o for o in SAMPLING_OPTIONS.values() if o.flag == "truncation"]
    return ("The generator's own truncation trick, for generators that declare one (others refuse it; "
            "`ganzoo info GEN` says which): " + "; or ".join(f"the {o.meaning} ({o.range})" for o in kinds) + ".")


@click.command("sample")
@click.argument("target", metavar="RUN_DIR_CHECKPOINT_OR_PRETRAINED")
@click.option("--num", "-n", type=int, help="How many to draw (default: the model's own; 64 samples; a conditional "
                   "model without --label: 8 per class, or N rounded up to a whole row per class; a translator: 16 "
                   "held-out examples or every --input image).")
@click.option("--label", type=int, help="Class to draw, for models that take class labels.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent codes (and other noise).")
@click.option("--out", "-o", type=click.Path(dir_okay=False),
              help="A .png grid or a .safetensors file (images uint8 NxCxHxW, labels). "
                   "Default: RUN_DIR/samples/sample-SEED.png (or sample-SEED-2.png, ... when that exists); "
                   "for a pretrained name, NAME-sample-SEED.png here")
@click.option("--force", is_flag=True, help="Replace --out when it exists (never a file of a run).")
@click.option("--no-ema", is_flag=True, help="Use the raw generator even when the run kept an EMA.")
@click.option("--input", "-i", "input_", type=click.Path(exists=True),
              help="For models that translate images: this image, or every image in this folder (converted to the "
                   "input domain's channels and size; unreadable files are skipped and counted). The grid shows "
                   "input | output pairs. Default: --num images of the dataset's held-out split (16), shown as "
                   "input | output | target.")
@click.option("--truncation", type=float, default=None, metavar="VALUE", help=_truncation_help())
@click.option("--direction", default=None, metavar="NAME",
              help="For models that translate both ways: which way (the built-in translators: AtoB, the default, "
                   "or BtoA, a CycleGAN run's reverse generator).")
@click.option("--code", "codes", multiple=True, metavar="NAME=VALUE",
              help="A named latent code, for models whose algorithm declares codes (repeatable).")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Any option the run's model takes, by name (repeatable); a name it does not take is refused "
                   "with the list of those it does.")
@click.option("--walk", type=int, nargs=2, default=None, metavar="SEED_A SEED_B",
              help="A latent walk from seed A's code to seed B's, written as a looping animation (--out a .gif or "
                   ".webp; default NAME-walk-A-B.gif here): spherical in z, or the generator's own path (StyleGAN2: "
                   "linear in w). A conditional generator keeps --label (default 0) the whole way.")
@click.option("--frames", type=int, default=16, show_default=True, help="With --walk: the frames, both ends included.")
@device_option("cpu", "Where to run the generator:")
def sample_cmd(target: str, num: int | None, label: int | None, seed: int, out: str | None, force: bool,
               no_ema: bool, input_: str | None, truncation: float | None, direction: str | None,
               codes: tuple[str, ...], settings: tuple[str, ...], walk: tuple[int, int] | None, frames: int,
               device: str) -> None:
    """Sample a trained model as its algorithm draws: a PNG grid (one row per class for conditional models,
    input | output for translators) or tensors.

    TARGET is a run folder, a checkpoint, or the name of a recipe that ships
    its trained generator (`ganzoo list --pretrained`): no training needed.

    \b
    ganzoo sample dcgan-mnist --out grid.png
    ganzoo sample runs/<run> --label 7 --num 16
    ganzoo sample runs/<run> --code c=3 --code angle=0.5
    An image-to-image run (pix2pix, CycleGAN) translates images instead:
    ganzoo sample runs/<run> --input photos/ --out translated.png
    ganzoo sample runs/<cyclegan-run> --direction BtoA
    A walk between two seeds, as an animation:
    ganzoo sample dcgan-mnist --walk 1 2 --frames 24 --out walk.gif
    """
    from ...base.console import console

    options = {**named_values("--set", settings), **named_values("--code", codes, prefix="code.")}
    if walk is not None:
        _walk(target, walk, frames, out, label, truncation, not no_ema, device, force, num, input_, direction, options)
        return

    drawn = sample_to_file(target, out=out, num=num, label=label, seed=seed, use_ema=not no_ema, device=device,
                           force=force, input_path=input_, direction=direction, truncation=truncation,
                           options=options)
    which = "EMA generator" if drawn.loaded.ema else "generator"
    console.print(f"wrote {drawn.num} {drawn.noun} from the {which} at step {drawn.loaded.step} to {drawn.out}",
                  highlight=False, soft_wrap=True, markup=False)  # the path is the user's: "[x].png" is no markup


def _walk(target: str, seeds: tuple[int, int], frames: int, out: str | None, label: int | None,
          truncation: float | None, use_ema: bool, device: str, force: bool, num: int | None,
          input_: str | None, direction: str | None, options: dict[str, str]) -> None:
    """`sample --walk`: the flags that mean nothing for a walk are refused by name, then `ganzoo.walk`."""
    from ...base.console import console

    for flag, given in (("--num", num is not None), ("--input", input_ is not None), ("--direction", direction is not None)):
        if given:
            raise UsageError(f"{flag} does not go with --walk", "a walk draws --frames images between two seeds")
    loaded, path = walk_to_file(target, seeds[0], seeds[1], frames, out, label, truncation, use_ema, device, force,
                                options)
    console.print(f"wrote a walk of {frames} frames from seed {seeds[0]} to {seeds[1]} (step {loaded.step}) to {path}",
                  highlight=False, soft_wrap=True, markup=False)


def walk_to_file(target: str, seed_a: int, seed_b: int, frames: int = 16, out: str | None = None,
                 label: int | None = None, truncation: float | None = None, use_ema: bool = True,
                 device: str = "cpu", force: bool = False,
                 options: Mapping[str, object] | None = None) -> tuple[Trained, Path]:
    """`ganzoo sample TARGET --walk A B`: the walk written as a looping GIF or WebP (by ``out``'s ending;
    default a fresh ``NAME-walk-A-B.gif`` in the working folder). Returns the generator and the file."""
    from ...components.device import resolve_device
    from ...runs.pretrained import resolve
    from ...runs.rundir import check_output, fresh_path, write_atomic
    from ...runs.trained import load
    from ...runs.walk import ANIMATIONS, MAX_FRAMES, animation, walk

    if out is not None and Path(out).suffix.lower() not in ANIMATIONS:
        raise UsageError(f"--out {out}: a walk is an animation", "give a .gif or .webp file")
    if not 1 <= frames <= MAX_FRAMES:  # before the generator is loaded
        raise UsageError(f"--frames must be 1..{MAX_FRAMES}, not {frames}")
    if out is not None:
        check_output(Path(out), force)
    loaded = load(resolve(target), ema=use_ema, device=resolve_device(device))
    images = walk(loaded, seed_a, seed_b, frames, label, truncation, options)
    name = loaded.pretrained or loaded.run_dir.name or "walk"
    path = Path(out) if out is not None else fresh_path(Path(), f"{name}-walk-{seed_a}-{seed_b}", ".gif")
    write_atomic(path, animation(images, ANIMATIONS[path.suffix.lower()]))
    return loaded, path
