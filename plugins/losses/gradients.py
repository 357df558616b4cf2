"""The input gradient of a discriminator, shared by every gradient penalty (wgan-gp, r1)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganzoo.interfaces import forward


def score(discriminator: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    """D's scores, passing labels only when training is conditional (unconditional D take one argument)."""
    return forward(discriminator, x, labels)


def input_gradients(discriminator: nn.Module, x: Tensor, labels: Tensor | None = None) -> Tensor:
    """∇ₓ D(x) per sample, flattened to (N, numel/N), in float32.

    The graph is kept (``create_graph``) because a penalty on these gradients
    must itself be differentiated with respect to D's parameters. Autocast is
    switched off: squared gradient norms underflow and lose most of their
    precision in half precision, which turns the penalty into noise.
    """
    # enable_grad: a loss may be evaluated under no_grad (validation, logging)
    # and the penalty still needs its own backward pass through D
    with torch.enable_grad(), torch.autocast(device_type=x.device.type, enabled=False):
        x = x.detach().float().requires_grad_(True)
        scores = score(discriminator, x, labels).float()
        # materialize_grads: a D that ignores its input has gradient zero, not an error
        (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True, allow_unused=True,
                                      materialize_grads=True)
    return grad.flatten(1)
