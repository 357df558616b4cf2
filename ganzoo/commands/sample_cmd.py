"""`ganzoo sample`: draw samples from a trained run (its EMA generator when it has one)."""

from __future__ import annotations

import click


@click.command("sample")
@click.argument("target", metavar="RUN_DIR_OR_CHECKPOINT", type=click.Path(exists=True))
@click.option("--num", "-n", type=int, help="How many samples (default 64; conditional without --label: 8 per class, "
                   "or N rounded up to a whole row per class).")
@click.option("--label", type=int, help="Class to draw (conditional models only).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent codes.")
@click.option("--out", "-o", type=click.Path(dir_okay=False),
              help="A .png grid or a .safetensors file (images uint8 NxCxHxW, labels). "
                   "Default: RUN_DIR/samples/sample-SEED.png")
@click.option("--no-ema", is_flag=True, help="Use the raw generator even when the run kept an EMA.")
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["auto", "cpu", "cuda", "mps"]),
              help="Where to run the generator.")
def sample_cmd(target: str, num: int | None, label: int | None, seed: int, out: str | None, no_ema: bool,
               device: str) -> None:
    """Sample a trained generator: a PNG grid (one row per class for conditional models) or tensors."""
    from ..console import console
    from ..sampling import sample_to_file

    info = sample_to_file(target, out=out, num=num, label=label, seed=seed, use_ema=not no_ema, device=device)
    which = "EMA generator" if info["ema"] else "generator"
    console.print(f"wrote {info['num']} samples from the {which} at step {info['step']} to {info['out']}",
                  highlight=False, soft_wrap=True)
