"""`ganzoo run`: resolve the run config from recipe, --config, flags and --set, then train."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from ...base.errors import GanzooError, UnknownNameError, UsageError
from ...config.settings import SETTINGS, Setting
from ._common import F

_CLICK_TYPES: dict[str, type[int | float | str]] = {"int": int, "float": float, "device": str, "text": str}


def _flag_layer(opts: Mapping[str, object]) -> dict[str, object]:
    """Explicit flags -> one config layer (only the flags the user gave)."""
    tables: dict[str, dict[str, object]] = {}

    def put(table: str, key: str, value: object) -> None:
        if value is not None:
            tables.setdefault(table, {})[key] = value

    put("algo", "name", opts["algo"])
    put("gen", "name", opts["gen"])
    put("disc", "name", opts["disc"])
    put("loss", "name", opts["loss"])
    put("dataset", "name", opts["dataset"])
    put("dataset", "root", opts["data_root"])
    put("dataset", "image_size", opts["image_size"])
    for s in SETTINGS:  # what each value may be is checked once, with the rest of [train] (ganzoo.config.settings)
        if s.flag is not None:
            value = opts[_dest(s)]
            if _is_switch(s):
                value = s.flag_value if value else None
            elif _is_repeated(s) and isinstance(value, tuple):  # click gives a repeated option as a tuple
                value = list(value) or None
            put("train", s.name, value)
    layer: dict[str, object] = dict(tables)
    if opts["out"] is not None:
        layer["out"] = opts["out"]
    return layer


def _dest(s: Setting) -> str:
    return f"train_{s.name}"


def _is_switch(s: Setting) -> bool:
    return s.kind == "bool"


def _is_repeated(s: Setting) -> bool:
    return s.kind == "names"  # --logger a --logger b


def _settings_options(command: F) -> F:
    """One option per train setting that has a flag, its help and default read from `ganzoo.config.settings`."""
    for s in reversed(SETTINGS):
        if s.flag is None:
            continue
        if _is_switch(s):
            command = click.option(s.flag, _dest(s), is_flag=True, show_default=False,
                                   help=s.flag_help or s.help)(command)
        elif _is_repeated(s):
            command = click.option(s.flag, _dest(s), multiple=True, metavar="NAME", show_default=False,
                                   help=f"{s.flag_help or s.help}  [default: {s.default_text}]")(command)
        else:
            default = "" if s.optional else f"  [default: {s.default_text}]"
            command = click.option(s.flag, _dest(s), type=_CLICK_TYPES[s.kind], default=None, show_default=False,
                                   help=s.help + default)(command)
    return command


@click.command("run", context_settings={"show_default": True})
@click.argument("recipe", required=False)
@click.option("--algo", help="Training algorithm (default: gan; pix2pix, cyclegan, see `ganzoo list --kind algorithm`).")
@click.option("--gen", help="Generator name (the discriminator follows unless --disc is given).")
@click.option("--disc", help="Discriminator name.")
@click.option("--loss", help='Loss spec, e.g. "bce", "hinge+10*r1", "bce+0.5*l1".')
@click.option("--dataset", help="Dataset name.")
@click.option("--data-root", type=click.Path(file_okay=False), help="Where the dataset lives / is downloaded to.")
@click.option("--image-size", type=int, help="Resize images to N x N.")
@_settings_options
@click.option("--out", type=click.Path(file_okay=False), help="Run folder (default runs/<recipe-or-gen>-<time>).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Set any config key, e.g. gen.ngf=32, loss.wgan-gp.gp_weight=5, train.log_every=10.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="A run config TOML (full or partial).")
@click.option("--resume", type=click.Path(file_okay=False), help="Continue RUN_DIR from its latest checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace the run already in --out.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@click.pass_context
def run_cmd(ctx: click.Context, recipe: str | None, resume: str | None, overwrite: bool, quiet: bool,
            config_file: str | None, sets: tuple[str, ...], **opts: object) -> None:
    """Train a GAN: a RECIPE (default: the registry's default recipe) or any composition.

    \b
    ganzoo run                                   the default recipe on bundled MNIST
    ganzoo run dcgan-mnist --epochs 10 --ema 0.999
    ganzoo run --gen vanilla --dataset gaussians --loss hinge --steps 2000
    ganzoo run --algo pix2pix --gen unet --disc patchgan --loss bce+100*l1 --dataset mnist-edges
    ganzoo run --config runs/<run>/config.toml   repeat a run
    ganzoo run --resume runs/<run> --epochs 20   continue it (20 epochs in total)
    """
    from ...config.runconfig import resolve
    from ...plugin.manager import get_registry, unavailable
    from ...runs.rundir import RunDir
    from ...training.composition import lookup

    registry = get_registry()

    flags = _flag_layer(opts)
    if resume:
        if recipe:
            raise UsageError("pass a RECIPE or --resume, not both")
        if overwrite:
            raise UsageError("pass --resume or --overwrite, not both")
        run = RunDir(Path(resume))
        flags.setdefault("out", str(run.root))  # the latest checkpoint's own config is the base (see ganzoo.runs.rundir)
        config = resolve(config_file=config_file, flags=flags, sets=sets, base=run.resume_base())
        if config.out is None or Path(config.out).resolve() != run.root.resolve():  # --out, --set out=, --config
            raise UsageError(f"--resume continues {run.root} in place; --out cannot be {config.out!r}")
    else:
        config = resolve(recipe=recipe, config_file=config_file, flags=flags, sets=sets, recipes=registry)
    try:
        composition = lookup(config, registry)  # every name and parameter, before torch: a typo fails at once
    except UnknownNameError as exc:
        if not resume:
            raise
        # a resumed run's component went away: say which plugin it came from and why it is not loaded
        raise unavailable(exc.kind, exc.name, RunDir(Path(resume)).recorded_component(exc.kind, exc.name)) from None
    from ...api import train
    from ...training import distributed as dist
    from ...training.progress import print_summary
    from ...training.results import TrainingInterrupted  # torch is imported from here on

    main_rank = dist.from_env().is_main  # under torchrun, rank 0 alone reports
    try:
        trained = train(composition, resume=bool(resume), overwrite=overwrite, progress="quiet" if quiet else "auto",
                    registry=registry)
    except GanzooError as exc:
        if not main_rank:
            raise SystemExit(exc.exit_code) from None
        if isinstance(exc, TrainingInterrupted):
            print_summary(exc.result)
        raise
    if main_rank and trained.result is not None:
        print_summary(trained.result)
