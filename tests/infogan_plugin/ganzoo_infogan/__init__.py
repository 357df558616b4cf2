"""ganzoo-infogan: InfoGAN (Chen et al. 2016) as a third-party ganzoo plugin.

Registration only (torch-free): a generator that takes named latent codes, a discriminator with an auxiliary
head, the algorithm that trains them and reads its runs back, a metric of its own, a recipe and its shipped
generator.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo import hookimpl
from ganzoo.specs import MetricKey

if TYPE_CHECKING:
    from ganzoo.registry import ComponentRegistrar, RecipeRegistrar

HERE = Path(__file__).resolve().parent
#: the shipped generator of the infogan-mnist recipe, exported by tests/infogan_plugin/make_weights.py
WEIGHTS = HERE / "infogan-mnist.safetensors"
WEIGHTS_SHA256 = (HERE / "infogan-mnist.sha256").read_text().strip() if (HERE / "infogan-mnist.sha256").exists() else ""


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    register.generator("infogan-g", f"{__name__}.models:InfoGenerator", algorithm="infogan")
    register.discriminator("infogan-d", f"{__name__}.models:InfoDiscriminator", heads=("q",), algorithm="infogan")
    register.algorithm("infogan", f"{__name__}.algorithm:InfoGAN", takes="noise",
                       supports=("ema", "amp", "compile"), generators=("infogan-g",),
                       discriminators=("infogan-d",), losses=("bce", "lsgan", "hinge"),
                       trained=f"{__name__}.trained:InfoGANModel")
    register.metric("code-purity", f"{__name__}.metric:CodePurity", needs=("labels", "classes"), takes=("noise",),
                    keys=(MetricKey("code_purity", "code purity", "{:.3f}", better="higher", brief="purity",
                                    hint="the share of samples whose digit is the one their categorical code "
                                         "stands for; 0.1: the code ignores the digit"),))


@hookimpl
def ganzoo_register_recipes(register: RecipeRegistrar) -> None:
    register.recipe("infogan-mnist", {
        "algo": {"name": "infogan"},
        "gen": {"name": "infogan-g"}, "disc": {"name": "infogan-d"}, "loss": {"name": "bce"},
        "dataset": {"name": "mnist-10k", "split": "train"},
        "train": {"steps": 3000, "batch_size": 64, "lr": 2e-4, "latent_dim": 16, "ema_kimg": 10, "ema_rampup": 0.05},
    }, doc="InfoGAN on the bundled MNIST: a categorical code and two continuous codes, found unsupervised.")
    register.pretrained("infogan-mnist", WEIGHTS, sha256=WEIGHTS_SHA256)
