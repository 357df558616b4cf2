"""Building blocks shared by the built-in models (and free for third-party plugins).

Models differ in how they wire labels and which stack they use, not in the
stacks themselves, so the stacks live here once: an MLP builder, strided
convolution stacks that go up to / down from 28, 32 or 64 pixels, the
N(0, 0.02) initialisation of Radford et al. (2016), label helpers, and the
discriminator options of the "improved GAN" techniques: spectral
normalization of every layer (`spectral_norm_`), minibatch discrimination
(`MinibatchDiscrimination`), and BigGAN's orthogonal regularization
(`orthogonal_regularization`, `orthogonal_weights`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ..base.errors import ParamError, UnsupportedDataError
from ..base.specs import DataInfo

__all__ = ["mlp", "output_activation", "CONV_START", "conv_resolution", "conv_up_stack",
           "conv_down_stack", "conv_head", "init_normal_", "require_num_classes", "require_labels",
           "LabelProjection", "spectral_norm_", "MinibatchDiscrimination", "minibatch_head", "mlp_hidden", "mlp_minibatch_", "orthogonal_weights",
           "orthogonal_regularization"]


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


def mlp_hidden(net: nn.Sequential, x: Tensor) -> Tensor:
    """The output of an `mlp`'s last hidden layer: every layer but the final Linear (a discriminator's features)."""
    for layer in itertools.islice(net, len(net) - 1):
        x = layer(x)
    return x


def mlp_minibatch_(net: nn.Sequential, kernels: int, kernel_dim: int = 5) -> MinibatchDiscrimination | None:
    """Make room for minibatch discrimination before an `mlp`'s final Linear, in place.

    With ``kernels`` > 0 that Linear is replaced by one that also reads
    ``kernels`` more inputs, and the `MinibatchDiscrimination` that produces
    them from the last hidden layer is returned: score with
    ``net[-1](minibatch(mlp_hidden(net, x)))``. With 0, nothing changes and
    None is returned.
    """
    if not kernels:
        return None
    last = net[-1]
    assert isinstance(last, nn.Linear)
    net[-1] = nn.Linear(last.in_features + kernels, last.out_features)
    return MinibatchDiscrimination(last.in_features, kernels, kernel_dim)


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


# -- discriminator options: spectral normalization, minibatch discrimination ----------------------------
#: the layers whose weight `spectral_norm_` normalizes
SPECTRAL_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)


def spectral_norm_(module: nn.Module) -> nn.Module:
    """Spectral normalization (Miyato et al. 2018) of every Linear, Conv2d, ConvTranspose2d and Embedding
    weight in ``module``, in place; returns ``module``.

    Each weight, viewed as a matrix with one row per output unit, is divided by
    its largest singular value, estimated by one power iteration per training
    forward (`torch.nn.utils.parametrizations.spectral_norm`; 15 when applied).
    Call it after initialising the weights: the power iteration starts from
    the weight it finds, and the raw weight is then
    ``parametrizations.weight.original``. Layers already normalized are left as
    they are; parameters of other modules (a `MinibatchDiscrimination` tensor)
    are not touched.
    """
    for m in list(module.modules()):
        if isinstance(m, SPECTRAL_LAYERS) and not parametrize.is_parametrized(m, "weight"):
            spectral_norm(m)
    return module


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs", section 3.2).

    Lets D look at a sample together with the rest of its batch, so a
    generator that collapses to a few outputs is easy to spot. Features
    f(x_i) ∈ R^A are multiplied by a tensor T ∈ R^(A×B×C) into B rows
    M_i,b ∈ R^C; each row is compared with the same row of every other sample
    of the batch, and

        o(x_i)_b = Σ_(j≠i) exp(−‖M_i,b − M_j,b‖₁) + bias_b

    is appended: (N, A) -> (N, A + B). As in the authors' code
    (openai/improved-gan, ``MinibatchLayer``), a sample is not compared with
    itself (the paper's sum over all j only adds the constant 1), T is
    weight-normalized (each of its B×C columns has norm exp(log_scale), so
    the L1 distances start at the scale of the features whatever A is), and the
    bias starts at −1; their data-dependent initialisation is left out. A batch
    of one gets o = bias. D's score then depends on the whole batch: score
    real and fake batches separately (ganzoo does), and expect per-sample
    gradient penalties (r1, wgan-gp) to see cross-sample terms.

    in_features: A, the size of the flattened input features.
    kernels: B, the number of minibatch features appended.
    kernel_dim: C, the size of each row compared between samples.
    """

    def __init__(self, in_features: int, kernels: int, kernel_dim: int = 5):
        super().__init__()
        if in_features < 1 or kernels < 1 or kernel_dim < 1:
            raise ParamError(f"minibatch discrimination needs positive sizes, got in_features={in_features}, "
                             f"kernels={kernels}, kernel_dim={kernel_dim}")
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.theta = nn.Parameter(torch.randn(in_features, kernels, kernel_dim) * 0.05)
        self.log_scale = nn.Parameter(torch.zeros(kernels, kernel_dim))
        self.bias = nn.Parameter(torch.full((kernels,), -1.0))

    def forward(self, h: Tensor) -> Tensor:
        h = h.flatten(1)
        weight = self.theta * (self.log_scale.exp() / self.theta.norm(dim=0))
        m = torch.einsum("na,abc->nbc", h, weight)                           # (N, B, C)
        dist = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(-1)              # (N, N, B): ‖M_i,b − M_j,b‖₁
        near = torch.exp(-dist)
        eye = torch.eye(len(h), device=h.device, dtype=near.dtype).unsqueeze(-1)
        o = (near * (1 - eye)).sum(1) + self.bias                          # (N, B), j ≠ i
        return torch.cat([h, o.to(h.dtype)], 1)


def minibatch_head(channels: int, side: int, kernels: int = 0, kernel_dim: int = 5,
                   std: float = 0.02) -> tuple[MinibatchDiscrimination | None, nn.Module]:
    """The score head of a convolutional discriminator, with minibatch discrimination when ``kernels`` > 0.

    Without: ``(None, conv_head(channels, side))``, one logit per image. With:
    a `MinibatchDiscrimination` that appends ``kernels`` features to the
    flattened last map, and a bias-free linear layer, N(0, ``std``), from
    those to the logit. Apply the first (when not None), then the second.
    """
    if not kernels:
        return None, conv_head(channels, side)
    features = channels * side * side
    head = nn.Linear(features + kernels, 1, bias=False)
    nn.init.normal_(head.weight, 0.0, std)
    return MinibatchDiscrimination(features, kernels, kernel_dim), head


# -- BigGAN's orthogonal regularization -----------------------------------------------------------------
def orthogonal_weights(model: nn.Module) -> list[Tensor]:
    """The weights BigGAN's orthogonal regularization acts on: every trainable parameter with two or more
    dimensions except embedding tables.

    As BigGAN-PyTorch's ``utils.ortho``: parameters with fewer than two
    dimensions (biases, BatchNorm gains) are skipped, and so is the class
    embedding (it blacklists ``G.shared``; here every `nn.Embedding`). A
    spectrally normalized layer contributes its raw weight
    (``parametrizations.weight.original``), as there.
    """
    skip = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    return [p for p in model.parameters() if p.ndim >= 2 and p.requires_grad and id(p) not in skip]


def orthogonal_regularization(weights: Iterable[Tensor]) -> Tensor:
    """R(W) = Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F (Brock et al. 2019, eq. 3, without β), in float32.

    Each weight is viewed as a matrix with one row per output unit (a
    convolution's kernel flattened), so only the inner products between
    different rows (filters) are penalised, not their norms. The gradient is
    4 (W Wᵀ ⊙ (1 − I)) W; BigGAN-PyTorch's ``utils.ortho`` adds
    2·strength·(W Wᵀ ⊙ (1 − I)) W, so its strength s is β = s / 2 here.
    Parameters with fewer than two dimensions are skipped; no weight at all
    gives a ValueError.
    """
    total: Tensor | None = None
    for w in weights:
        if w.ndim < 2:
            continue
        with torch.autocast(device_type=w.device.type, enabled=False):  # off-diagonal Gram entries are small
            m = w.float().reshape(w.shape[0], -1)
            gram = m @ m.t()
            term = (gram - torch.diag_embed(torch.diagonal(gram))).square().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal regularization found no weight with two or more dimensions")
    return total
