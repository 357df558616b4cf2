"""Building blocks shared by the built-in models (and free for third-party plugins).

Models differ in how they wire labels and which stack they use, not in the
stacks themselves, so the stacks live here once: an MLP builder, strided
convolution stacks that go up to / down from 28, 32 or 64 pixels, the
N(0, 0.02) initialisation of Radford et al. (2016), and label helpers.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor, nn

from .errors import ParamError, UnsupportedDataError
from .specs import DataInfo

__all__ = ["mlp", "output_activation", "CONV_START", "conv_resolution", "conv_up_stack",
           "conv_down_stack", "conv_head", "init_normal_", "require_num_classes", "require_labels",
           "LabelProjection"]


# -- MLPs ---------------------------------------------------------------------
def _activation(negative_slope: float) -> nn.Module:
    return nn.LeakyReLU(negative_slope) if negative_slope else nn.ReLU()


def mlp(in_features: int, hidden: Iterable[int], out_features: int, *, negative_slope: float = 0.0,
        batchnorm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """Linear layers through ``hidden`` widths, each followed by [BatchNorm,]
    (Leaky)ReLU[, Dropout]; the last Linear has no activation so callers pick one."""
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        h = int(h)
        if h < 1:
            raise ParamError(f"hidden widths must be positive integers, got {h}")
        layers.append(nn.Linear(width, h))
        if batchnorm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(_activation(negative_slope))
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def output_activation(data: DataInfo) -> nn.Module:
    """Tanh for images (pixels live in [-1, 1]); identity for points, whose range is open."""
    return nn.Tanh() if data.is_image else nn.Identity()


# -- strided convolution stacks -------------------------------------------------
#: resolution -> side of the smallest feature map; every other step doubles or halves it.
CONV_START = {28: 7, 32: 4, 64: 4}


def conv_resolution(data: DataInfo, who: str) -> int:
    """The square image side of ``data``, or an `UnsupportedDataError` (a ValueError) saying what ``who`` needs.

    The user chose the model and the data, so this is their error to fix (exit 2), not a broken plugin.
    """
    if not data.is_image or len(data.shape) != 3:
        raise UnsupportedDataError(f"{who} needs image data of shape (C, H, W), got {data.modality} data of shape "
                                   f"{tuple(data.shape)}", "use an MLP model (vanilla, say) for non-image data")
    _, h, w = data.shape
    if h != w or h not in CONV_START:
        supported = ", ".join(f"{r}x{r}" for r in CONV_START)
        raise UnsupportedDataError(f"{who} supports image resolutions {supported}, got {h}x{w}",
                                   "resize the data, e.g. --set dataset.image_size=32 where the dataset has it")
    return h


def _steps(resolution: int) -> tuple[int, int]:
    start = CONV_START[resolution]
    return start, (resolution // start).bit_length() - 1


def conv_up_stack(in_features: int, out_channels: int, resolution: int, width: int) -> nn.Sequential:
    """(N, in_features) -> (N, out_channels, resolution, resolution) in [-1, 1].

    A full-size transposed convolution turns the vector into the smallest map,
    then stride-2 transposed convolutions double it, halving the channels
    from ``width * 2**(steps-1)`` down to ``width``: the 64 px stack is the
    classic 4 -> 8 -> 16 -> 32 -> 64 generator. No pooling, BatchNorm + ReLU
    inside, Tanh out.
    """
    start, steps = _steps(resolution)
    ch = width * 2 ** (steps - 1)
    layers: list[nn.Module] = [
        nn.Unflatten(1, (in_features, 1, 1)),
        # No biases before BatchNorm: its shift makes them redundant.
        nn.ConvTranspose2d(in_features, ch, start, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True),
    ]
    for _ in range(steps - 1):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
        ch //= 2
    layers += [nn.ConvTranspose2d(ch, out_channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


NORMS = ("batch", "layer", "none")


def _norm(kind: str, channels: int) -> list[nn.Module]:
    # Per-sample penalties (WGAN-GP, R1) assume D scores each sample alone; BatchNorm
    # mixes samples in a batch, so those losses want "layer" (GroupNorm(1, C)) or "none".
    if kind == "batch":
        return [nn.BatchNorm2d(channels)]
    if kind == "layer":
        return [nn.GroupNorm(1, channels)]
    if kind == "none":
        return []
    raise ParamError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")


def conv_down_stack(in_channels: int, resolution: int, width: int,
                    norm: str = "batch") -> tuple[nn.Sequential, int, int]:
    """Images -> features: returns ``(stack, channels, side)`` of the smallest map.

    Stride-2 convolutions with LeakyReLU(0.2), normalisation (``norm``) on all
    but the first layer (normalising raw pixels only hurts), channels doubling
    from ``width``. In-place activations are avoided so gradient penalties can
    differentiate twice.
    """
    start, steps = _steps(resolution)
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
    ch = width
    for _ in range(steps - 1):
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), *_norm(norm, ch * 2), nn.LeakyReLU(0.2)]
        ch *= 2
    return nn.Sequential(*layers), ch, start


def conv_head(channels: int, side: int) -> nn.Conv2d:
    """One logit per image: a convolution as large as the last feature map (a linear layer on it)."""
    return nn.Conv2d(channels, 1, side, 1, 0, bias=False)


def init_normal_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Radford et al. (2016): conv weights ~ N(0, std), BatchNorm scales ~ N(1, std), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


# -- labels ------------------------------------------------------------------
def require_num_classes(data: DataInfo, who: str) -> int:
    if not data.num_classes:
        raise UnsupportedDataError(f"{who} is conditional and needs a dataset with class labels "
                                   f"(num_classes is not set)", "use a labelled dataset such as mnist-10k")
    return int(data.num_classes)


def require_labels(labels: Tensor | None, who: str) -> Tensor:
    if labels is None:
        raise ValueError(f"{who} is conditional: pass class labels of shape (N,) to forward")
    return labels.long().view(-1)


class LabelProjection(nn.Module):
    """The class term of a projection discriminator (Miyato & Koyama 2018): ``<embed(y), h>``.

    Added to an unconditional score ``linear(h)``; the embedding starts at the
    same N(0, 0.02) scale as that linear head so neither term dominates early.
    """

    def __init__(self, num_classes: int, features: int, std: float = 0.02):
        super().__init__()
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, 0.0, std)

    def forward(self, h: Tensor, labels: Tensor) -> Tensor:
        return (self.embed(labels) * h.flatten(1)).sum(1)
