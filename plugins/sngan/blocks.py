"""Residual blocks of the SNGAN ResNets (Miyato et al. 2018), shared with BigGAN (Brock et al. 2019).

Both papers use the same pre-activation blocks (Gulrajani et al. 2017):
generator blocks BN-ReLU-upsample-conv3-BN-ReLU-conv3 with a 1x1 shortcut,
discriminator blocks ReLU-conv3-ReLU-conv3-avgpool with a 1x1 shortcut, so
they live here once; BigGAN passes its conditional BatchNorm in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.errors import UnsupportedDataError
from ganzoo.specs import DataInfo

__all__ = ["image_side", "sn", "GBlock", "DBlock"]


def image_side(data: DataInfo, who: str, supported: Iterable[int]) -> int:
    """The square image side of ``data`` if ``who`` supports it, else an `UnsupportedDataError` (a ValueError)."""
    sides = tuple(supported)
    if not data.is_image or len(data.shape) != 3:
        raise UnsupportedDataError(f"{who} needs image data of shape (C, H, W), got {data.modality} data of shape "
                                   f"{tuple(data.shape)}", "use an MLP model (vanilla, say) for non-image data")
    _, h, w = data.shape
    if h != w or h not in sides:
        raise UnsupportedDataError(f"{who} supports image resolutions {', '.join(f'{s}x{s}' for s in sides)}, "
                                   f"got {h}x{w}", "resize the data, e.g. --set dataset.image_size=32 where the "
                                   "dataset has it")
    return h


def sn(module: nn.Module, enabled: bool = True) -> nn.Module:
    """``module`` with spectral normalization of its weight (one power iteration per training forward)."""
    return spectral_norm(module) if enabled else module


def _glorot(module: nn.Module, gain: float) -> nn.Module:
    # SNGAN's chainer code: Glorot-uniform weights (gain sqrt(2) inside residual branches), zero biases
    weight = module.weight
    assert isinstance(weight, Tensor)
    nn.init.xavier_uniform_(weight, gain)
    bias = getattr(module, "bias", None)
    if isinstance(bias, Tensor):
        nn.init.zeros_(bias)
    return module


def conv(cin: int, cout: int, kernel: int, *, spectral: bool, gain: float = math.sqrt(2), bias: bool = True) -> nn.Module:
    return sn(_glorot(nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=bias), gain), spectral)


def linear(cin: int, cout: int, *, spectral: bool, gain: float = 1.0, bias: bool = True) -> nn.Module:
    return sn(_glorot(nn.Linear(cin, cout, bias=bias), gain), spectral)


def _up(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


class GBlock(nn.Module):
    """Up-sampling residual block: BN-ReLU-up-conv3-BN-ReLU-conv3, plus up-conv1 on the shortcut.

    ``norm(channels)`` builds each BatchNorm; a conditional one is called with
    ``(h, y)`` when forward is given ``y`` (BigGAN's class and latent input).
    """

    def __init__(self, cin: int, cout: int, *, norm: Callable[[int], nn.Module] = nn.BatchNorm2d,
                 spectral: bool = False):
        super().__init__()
        self.bn1, self.bn2 = norm(cin), norm(cout)
        self.conv1 = conv(cin, cout, 3, spectral=spectral)
        self.conv2 = conv(cout, cout, 3, spectral=spectral)
        self.shortcut = conv(cin, cout, 1, spectral=spectral, gain=1.0)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.bn1(x) if y is None else self.bn1(x, y)
        h = self.conv1(_up(F.relu(h)))
        h = self.bn2(h) if y is None else self.bn2(h, y)
        h = self.conv2(F.relu(h))
        return h + self.shortcut(_up(x))


class DBlock(nn.Module):
    """Residual block: [ReLU-]conv3-ReLU-conv3[-avgpool], plus a conv1 shortcut where shape changes.

    The first block of a discriminator (``preactivation=False``, SNGAN's
    "optimized block") skips the ReLU on raw pixels and pools before its
    shortcut convolution. ``hidden`` is the width between the two convolutions:
    SNGAN uses the input width (the output width in the first block), BigGAN
    ("wide") the output width. Activations
    are not in place, so gradient penalties can differentiate twice.
    """

    def __init__(self, cin: int, cout: int, *, downsample: bool, preactivation: bool = True,
                 hidden: int | None = None, spectral: bool = True):
        super().__init__()
        hidden = hidden or (cin if preactivation else cout)
        self.downsample, self.preactivation = downsample, preactivation
        self.conv1 = conv(cin, hidden, 3, spectral=spectral)
        self.conv2 = conv(hidden, cout, 3, spectral=spectral)
        self.shortcut = conv(cin, cout, 1, spectral=spectral, gain=1.0) if cin != cout or downsample else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.relu(x) if self.preactivation else x)
        h = self.conv2(F.relu(h))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.shortcut is not None:
            if self.preactivation:
                s = self.shortcut(s)
                s = F.avg_pool2d(s, 2) if self.downsample else s
            else:
                s = self.shortcut(F.avg_pool2d(s, 2) if self.downsample else s)
        return h + s
