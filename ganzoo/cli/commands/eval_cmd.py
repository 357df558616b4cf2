"""`ganzoo eval PATH`: score a run, a checkpoint or a .safetensors of samples, offline.

Torch and the evaluation package are imported inside the command, so
`ganzoo --help` stays fast.
"""

from __future__ import annotations

import click

from ._common import device_option, json_option, print_json


@click.command("eval")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--num", "-n", type=click.IntRange(min=10), default=None,
              help="Samples to score (at most 100,000). Default: 5000 drawn from a run or checkpoint; all of a "
                   "samples file.")
@click.option("--dataset", default=None,
              help="Dataset the samples imitate. Default: the run's; for a samples file, the one its metadata "
                   "names (else this option is required).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the latent codes, the real images compared and KID's subsets.")
@device_option("cpu", "Where to generate and extract features:")
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="Compute this registered metric alone (`ganzoo list --kind metric`); repeat for several. "
                   "Default: every metric of the default set that applies to PATH.")
@click.option("--inception/--no-inception", default=True, show_default=True,
              help="With the default set: standard FID when Inception-v3 weights are on disk "
                   "($GANZOO_INCEPTION_WEIGHTS or torch hub's checkpoints folder); never downloads. Slow on a CPU.")
@click.option("--direction", default=None, metavar="DIRECTION",
              help="Image-to-image runs: which generator to score (a CycleGAN run's AtoB, the default, or BtoA).")
@json_option
def eval_cmd(path: str, num: int | None, dataset: str | None, seed: int, device: str, metrics: tuple[str, ...],
             inception: bool, direction: str | None, as_json: bool) -> None:
    """Score generated samples: FD, KID, precision/recall, coverage, memorization, each beside a real-vs-real floor.

    \b
    PATH is a run folder (its latest checkpoint), a checkpoint file, or a
    .safetensors of samples from `ganzoo sample --out x.safetensors`.
    Samples are measured against the dataset's held-out split, which the run
    never trained on; the floor is the train split against the held-out split
    at the same counts, and "memorized" is the share of samples nearer a
    training image than held-out images are. Distances use a classifier
    trained by ganzoo on the train split (shipped for mnist-10k, trained and
    cached on first use for other labelled datasets); they are not Inception
    FID. Gaussians runs report modes covered and the high-quality share.
    --json prints null, with a note, for a number that is not finite.

    \b
    Each number comes from a registered metric (`ganzoo list --kind metric`;
    plugins add their own). --metric NAME computes only the metrics named;
    one PATH cannot serve (labels from an unconditional generator, pairs
    from a noise generator) is refused in one line before anything is
    computed. Without --metric, every metric of the default set that
    applies is computed, and those that do not apply are left out.

    \b
    An image-to-image run (pix2pix, CycleGAN) translates the held-out
    split's inputs and is scored on them: L1, PSNR and SSIM against their
    targets (paired data), FD of the outputs against held-out target images
    (floor: train vs held-out targets), and for labelled data the share of
    outputs that keep the input's digit (CycleGAN: also after A -> B -> A).

    \b
    ganzoo eval runs/<run>
    ganzoo eval samples.safetensors --dataset fashion-mnist --json
    ganzoo eval runs/<cyclegan-run> --direction BtoA
    ganzoo eval dcgan-mnist --metric fd --metric precision-recall --json
    """
    from ...api import evaluate
    from ...base.console import console, err_console

    def log(message: str) -> None:
        err_console.print(message, style="dim", highlight=False, markup=False)  # paths and names: not markup

    result = evaluate(path, num=num, seed=seed, dataset=dataset, device=device, inception=inception,
                      metrics=metrics or None, direction=direction, log=log)
    if as_json:
        print_json(result)
        return
    from ...evaluation.report import footer, render

    console.print(render(result))
    for line in footer(result):
        console.print(line, style="dim", highlight=False, soft_wrap=True, markup=False)
