"""Image-to-image generators run over uint8 images: what sampling and evaluating a translator share.

The core knows a generator that takes images (``takes="image"``) and nothing of how its plugin pairs
domains: which images go in, which real images the outputs are measured against and which way each of a run's
generators translates are the plugin's (ganzoo's own pix2pix and CycleGAN: the translation plugin's
``evaluation`` module), and the metrics that measure translations are registered ones
(``register.metric(..., takes=("image",))``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

_CHUNK = 64  # images translated at a time


@torch.no_grad()
def translate(model: nn.Module, inputs: Tensor, device: torch.device | str = "cpu", seed: int = 0) -> Tensor:
    """uint8 images of the input domain -> uint8 outputs (on the CPU), ``model`` in eval mode meanwhile.

    A model whose eval mode keeps noise (a pix2pix U-Net keeps dropout at test time, as the paper does) draws
    it from torch's RNG seeded with ``seed`` (the caller's RNG left as it was): the same seed, the same outputs.
    """
    from ..components.interfaces import to_model_range, to_uint8

    where = torch.device(device)
    was = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[where] if where.type == "cuda" else []):
            torch.manual_seed(seed)
            out = [to_uint8(model(to_model_range(inputs[i:i + _CHUNK]).to(where))).cpu()
                   for i in range(0, len(inputs), _CHUNK)]
    finally:
        model.train(was)
    return torch.cat(out) if out else inputs[:0]


def unwrap(model: nn.Module) -> nn.Module:
    """The module under DDP and torch.compile wrappers."""
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        model = model.module
    inner = getattr(model, "_orig_mod", model)  # torch.compile's OptimizedModule
    return inner if isinstance(inner, nn.Module) else model
