"""ganzoo's built-in datasets.

Registration only: nothing here imports torch, torchvision or numpy, so
`ganzoo list` stays fast; each factory is a lazy "module:Class" string whose
docstring and ``__init__`` parameters `ganzoo info` reads from source.
"""

from __future__ import annotations

from ganzoo import hookimpl

_HERE = __name__

DATASETS = {
    "mnist-10k": "mnist:MNIST10k",
    "mnist": "torchvision_sets:MNIST",
    "fashion-mnist": "torchvision_sets:FashionMNIST",
    "cifar10": "cifar:CIFAR10",
    "folder": "folder:ImageFolder",
    "gaussians": "gaussians:Gaussians",
}


@hookimpl
def ganzoo_register_components(register) -> None:
    for name, target in DATASETS.items():
        register.dataset(name, f"{_HERE}.{target}")
