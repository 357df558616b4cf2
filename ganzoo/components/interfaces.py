"""The four interfaces every component implements: Generator, Discriminator, LossTerm, Dataset.

Importing this module imports torch; plugins import it from their (lazily
loaded) model modules, never from the module that registers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from ..base.errors import ComponentError
from ..base.specs import DataInfo
from ..plugin.heads import MAIN

__all__ = ["DataInfo", "Generator", "Discriminator", "LossTerm", "LossInputs", "Dataset",
           "forward", "forward_heads", "MAIN", "to_model_range", "to_uint8"]


def forward(model: Callable[..., Tensor], x: Tensor, labels: Tensor | None = None, **options: float) -> Tensor:
    """Call a generator or discriminator the one way ganzoo does: ``model(x, labels)`` when there are labels,
    else ``model(x)``.

    Whether a model takes labels is declared once, at registration
    (``register.generator(..., conditional=True)``); whoever calls it passes
    labels exactly when that declaration says so, and this is where they go in.
    ``options``: sampling options the generator declares (``register.generator(..., sampling=...)``).
    """
    return model(x, labels, **options) if labels is not None else model(x, **options)


def forward_heads(model: nn.Module, x: Tensor, labels: Tensor | None = None) -> dict[str, Tensor]:
    """Every output of a generator or discriminator by name, in one pass: ``model.forward_heads(x, labels)``
    (labels passed exactly when there are any, as `forward` passes them), or for a model that does not
    define it (a plain ``nn.Module``) ``{MAIN: forward(model, x, labels)}``.

    ``out[MAIN]`` is what ``forward`` returns; the other keys are the heads the
    model's registration declares (``register.discriminator(..., heads=("q",))``).
    An algorithm that trains the heads (InfoGAN's mutual-information term on
    ``out["q"]``) calls this once where it would call `forward`, so the shared
    trunk runs once for all of them.
    """
    method = getattr(model, "forward_heads", None)
    if not callable(method):
        return {MAIN: forward(model, x, labels)}
    # a plugin's method: what it returns is held to `ganzoo.components.contract.heads_problem` when the model is built
    outputs: dict[str, Tensor] = method(x, labels) if labels is not None else method(x)
    return outputs


class Generator(nn.Module):
    """Maps latent codes ``z`` of shape (N, latent_dim), and class labels (N,) when
    registered as conditional, to samples of shape (N, *data.shape); images in [-1, 1].

    ``forward_with_w(z, labels=None) -> (samples, w)`` (optional): a generator
    with an intermediate latent space (a mapping network, then a synthesis
    network) returns what a training ``forward`` returns, and the intermediate
    latent ``w`` (N, ..., w_dim) the samples were synthesized from, in the
    graph so that the samples can be differentiated with respect to it. Terms
    that regularize the synthesis network's Jacobian read it (``pl``, StyleGAN2's
    path-length regularization); a term lists the generator methods it calls in
    `LossTerm.reads_generator`, and a run whose generator lacks one is refused
    at its start. The built-in stylegan2 generator defines it.

    ``interpolate(z_a, z_b, t, labels=None, **options) -> samples`` (optional):
    the samples at fractions ``t`` (F,) of a walk from code ``z_a`` to ``z_b``
    (each (1, latent_dim)), for ``ganzoo sample --walk`` and ``ganzoo explore``;
    without it the walk is `ganzoo.walk.slerp` in z. stylegan2 walks linearly in w.

    ``forward_heads(z, labels=None) -> dict[str, Tensor]``: every output by
    name, the samples under ``"main"`` (`MAIN`) and each head the registration
    declares (``register.generator(..., heads=(...))``), as for `Discriminator`.
    """

    def __init__(self, data: DataInfo, latent_dim: int = 100):
        super().__init__()
        self.data = data
        self.latent_dim = latent_dim

    def sample_latent(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.latent_dim, device=device, generator=generator)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward_heads(self, z: Tensor, labels: Tensor | None = None) -> dict[str, Tensor]:
        """{"main": samples} plus each declared head; override it in a generator registered with heads."""
        return {MAIN: forward(self, z, labels)}


class Discriminator(nn.Module):
    """Maps samples (N, *data.shape), and labels (N,) when conditional, to raw
    scores of shape (N,): logits, not probabilities, so every loss can use them.

    ``features(x, labels=None) -> Tensor`` (optional) returns D's intermediate
    representation of each sample, shape (N, F) (or (N, ...), which is
    flattened): what its last layer turns into the score, computed exactly as
    ``forward`` computes it, so gradients flow back to ``x``. Terms that
    match statistics of D's view of real and fake data read it
    (``feature-matching``, Salimans et al. 2016); labels are passed exactly
    when ``forward`` gets them. The built-in dcgan, vanilla, cgan, cdcgan and
    resnet discriminators define it. The default raises a one-line
    `ComponentError` naming the class, except that a subclass holding a
    submodule called ``features`` (torchvision style, which this method would
    otherwise hide) has that submodule called.

    ``forward_heads(x, labels=None) -> dict[str, Tensor]``: for a discriminator
    with auxiliary heads on its shared trunk (InfoGAN's Q network predicting the
    latent codes, AC-GAN's class logits), declared by name at registration
    (``register.discriminator(name, factory, heads=("q",))``). It returns every
    output in one pass over the trunk: the scores under ``"main"`` (`MAIN`),
    exactly what ``forward`` returns, and each declared head under its name,
    a tensor of N rows in any trailing shape (raw values: logits, means). ``forward``
    keeps returning the scores alone, so every loss and algorithm that knows
    nothing of heads trains the discriminator unchanged; an algorithm that
    trains a head calls `ganzoo.interfaces.forward_heads` (or this method) instead.
    The contract (`ganzoo.components.contract`, checked when the model is built and by
    ``ganzoo.testing``) holds it to: every head declared is returned and no other,
    each depends on the input and has parameters of its own that get gradient
    from it, and every parameter gets gradient from the outputs together (the
    head's own layers need not feed the scores). The default returns
    ``{"main": forward(x, labels)}``, right for a discriminator without heads.
    """

    def __init__(self, data: DataInfo):
        super().__init__()
        self.data = data

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        # `self.features = nn.Sequential(...)` registers a submodule that this method shadows: call it
        own = self._modules.get("features")
        if own is not None:
            return own(x)
        raise ComponentError(f"discriminator {type(self).__name__} does not expose intermediate features",
                             "define features(x, labels=None) -> Tensor (N, F) on it, or use a discriminator that "
                             "has them (dcgan, vanilla, cgan, cdcgan, resnet)")

    def forward_heads(self, x: Tensor, labels: Tensor | None = None) -> dict[str, Tensor]:
        """{"main": scores} plus each declared head, in one pass (see the class docstring); override it in a
        discriminator registered with heads."""
        return {MAIN: forward(self, x, labels)}


@dataclass
class LossInputs:
    """Everything a loss term may look at in one step.

    ``d_real`` is D's scores on ``real``; in the generator step it is filled only
    when some term sets ``needs_real_scores_for_g``. ``discriminator`` is there
    for terms that differentiate through D (gradient penalties) or read its
    features (`Discriminator.features`); ``generator`` for terms that read G's
    weights or run it again on ``z`` (``g_labels``) themselves. ``step`` of
    ``total`` is the training progress.
    """

    real: Tensor
    fake: Tensor
    d_fake: Tensor
    d_real: Tensor | None
    labels: Tensor | None
    discriminator: nn.Module
    step: int = 0
    #: the generator being trained (unwrapped), for terms that read its weights (orthogonal regularization)
    generator: nn.Module | None = None
    #: training progress: the run's total steps (``step`` of ``total``), for schedules and lazy regularization
    total: int = 0
    #: named (output, target) pairs an algorithm makes besides (fake, real), for the terms that compare
    #: them: CycleGAN's "cycle" (reconstruction, original) and "identity" (G_AB(b), b)
    pairs: dict[str, tuple[Tensor, Tensor]] = field(default_factory=dict)
    #: the latent codes ``fake`` was generated from (N, latent_dim), for terms that run the generator again
    #: themselves (``pl``); None where an algorithm's generator takes no noise (image-to-image)
    z: Tensor | None = None
    #: the class labels the generator was given with ``z`` (conditional generators), else None
    g_labels: Tensor | None = None


class LossTerm:
    """One term of a loss spec. ``role`` is set at registration: one adversarial
    term per spec, any number of regularizers. A term returns ``None`` for a
    side it does not act on."""

    #: discriminator (critic) steps per generator step this term asks for
    n_critic: int = 1
    #: whether g_loss reads ``d_real`` (relativistic losses do)
    needs_real_scores_for_g: bool = False
    #: the data modalities (`DataInfo.modality`) the term works on; the trainer refuses others at build time
    modalities: tuple[str, ...] = ("image", "points")
    #: adversarial terms: D's scores are logits, so their sigmoid is a probability (bce); logged as d_*_prob
    scores_are_logits: bool = False
    #: the term differentiates D's input gradients (wgan-gp, r1): a BatchNorm or dropout D gets a warning
    penalizes_input_gradients: bool = False
    #: the term compares each fake with the real sample at the same batch index (l1, l2): on unpaired
    #: data that pulls every sample toward the per-pixel median or mean, and a run gets a warning
    pairs_by_index: bool = False
    #: names of the `LossInputs.pairs` the term compares (CycleGAN's "cycle"): an algorithm makes them only
    #: when a term reads them
    reads_pairs: tuple[str, ...] = ()
    #: optional generator methods the term calls on `LossInputs.generator` (``pl``: "forward_with_w"); a run
    #: whose generator lacks one is refused at its start, in one line
    reads_generator: tuple[str, ...] = ()
    #: lazy regularization (StyleGAN2, Karras et al. 2020, section 3.1): ("d" or "g", every) when the term acts
    #: on that side only every ``every`` steps (scaled by ``every``). The side's Adam then runs with lr·c and
    #: betas**c, c = every / (every + 1), as stylegan2-ada-pytorch's training_loop.py:201-205 does; None: not lazy
    lazy: tuple[Literal["g", "d"], int] | None = None

    def d_loss(self, inputs: LossInputs) -> Tensor | None:
        return None

    def g_loss(self, inputs: LossInputs) -> Tensor | None:
        return None

    def state(self) -> dict[str, Tensor]:
        """Tensors the term keeps across steps (a running mean), saved in every checkpoint as
        ``loss.TERM.KEY`` and given back by `load_state` on resume; {} (the default) for a stateless term."""
        return {}

    def load_state(self, tensors: dict[str, Tensor]) -> None:
        """Restore what `state` returned (CPU tensors, by key); not called when the checkpoint has none for
        this term (written before the term kept state, or without the term), so the term starts fresh."""


class Dataset:
    """A dataset describes itself in ``info`` and hands out its data one of two ways.

    In-memory (the default): ``tensors()`` returns ``(x, labels)`` with ``x``
    uint8 images (N, C, H, W) or float points (N, D), and int64 labels or
    None; the trainer holds them on the device and batches by index.
    Streaming (``streaming = True``): ``torch_dataset()`` yields
    ``(x, label)`` items with ``x`` already in model range, for a DataLoader.
    """

    info: DataInfo
    streaming: bool = False

    def tensors(self) -> tuple[Tensor, Tensor | None]:  # pragma: no cover
        raise NotImplementedError

    def torch_dataset(self) -> torch.utils.data.Dataset:
        x, y = self.tensors()
        x = to_model_range(x)
        y = y if y is not None else torch.full((len(x),), -1, dtype=torch.long)
        return torch.utils.data.TensorDataset(x, y)


def to_model_range(x: Tensor) -> Tensor:
    """uint8 pixels to float in [-1, 1]; float data passes through."""
    if x.dtype == torch.uint8:
        return x.float().div_(127.5).sub_(1.0)
    return x.float()


def to_uint8(x: Tensor) -> Tensor:
    """Model-range images ([-1, 1]) back to uint8 pixels."""
    return x.detach().float().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)
