"""ganzoo's built-in datasets.

Registration only: nothing here imports torch, torchvision or numpy, so
`ganzoo list` stays fast; each factory is a lazy "module:Class" string whose
docstring and ``__init__`` parameters `ganzoo info` reads from source. What
`ganzoo eval` may use beyond the data (mnist-10k's shipped classifier, the
gaussians' mode metric) is declared here too, as a ``DatasetEvaluation``.
"""

from __future__ import annotations

from pathlib import Path

from ganzoo import hookimpl
from ganzoo.registry import ComponentRegistrar
from ganzoo.specs import DatasetEvaluation

_HERE = __name__
_DATA = Path(__file__).resolve().parent / "data"

DATASETS = {
    "mnist-10k": "mnist:MNIST10k",
    "mnist": "torchvision_sets:MNIST",
    "fashion-mnist": "torchvision_sets:FashionMNIST",
    "cifar10": "cifar:CIFAR10",
    "folder": "folder:ImageFolder",
    "gaussians": "gaussians:Gaussians",
}

EVALUATION = {
    "mnist-10k": DatasetEvaluation(classifier=str(_DATA / "mnist-10k-classifier.safetensors")),
    "gaussians": DatasetEvaluation(modes=f"{_HERE}.gaussians:mode_metrics"),
}


@hookimpl
def ganzoo_register_components(register: ComponentRegistrar) -> None:
    for name, target in DATASETS.items():
        register.dataset(name, f"{_HERE}.{target}", evaluation=EVALUATION.get(name))
