"""Penalties: gradient penalties and ProGAN's drift on the discriminator, BigGAN's orthogonal regularization of G."""

from __future__ import annotations

import math
from typing import Annotated

import torch
from torch import Tensor

from ganzoo.errors import CheckpointError, UsageError
from ganzoo.interfaces import LossInputs, LossTerm
from ganzoo.nn import orthogonal_regularization, orthogonal_weights
from ganzoo.params import Range

from .gradients import input_gradients


class R1Penalty(LossTerm):
    """R1 gradient penalty on real data (Mescheder et al. 2018); discriminator side only.

    - D: 0.5 · mean_i ||∇ₓ D(x_i)||²  over the real batch.
    - G: nothing.

    The strength γ is the term's weight in the loss spec, so ``hinge+10*r1``
    adds (10/2) · E||∇D(x)||² to D's loss, matching the paper's (γ/2) form;
    γ = 10 is a common choice for images, smaller values for small data.
    In conditional training D is called with the batch's labels. The penalty
    is computed in float32 even under autocast. Like any per-sample penalty it
    assumes D scores each sample on its own: BatchNorm couples the samples of a
    batch and dropout makes the gradient random (a run warns about both).

    every: lazy regularization (StyleGAN2, Karras et al. 2020, section 3.1):
        the penalty is computed only on steps that are a multiple of
        ``every`` and then multiplied by ``every``, so its average strength is
        unchanged while the double backward runs once in ``every`` steps
        (StyleGAN2 uses 16). Other steps give 0. Steps are generator steps
        (``LossInputs.step``, from 1): with n_critic > 1 every D update of
        such a step is regularized. As in StyleGAN2 (stylegan2-ada-pytorch
        training_loop.py:202-205), D's Adam then runs with lr·c and betas**c,
        c = every/(every + 1). 1 (the default) regularizes every step.
    """

    penalizes_input_gradients = True

    def __init__(self, every: Annotated[int, Range(1, None)] = 1):
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise UsageError(f"r1: every must be a positive integer, got {every}", "StyleGAN2 uses every=16")
        self.every = int(every)
        self.lazy = ("d", self.every) if self.every > 1 else None

    def d_loss(self, inputs: LossInputs) -> Tensor:
        if inputs.step % self.every:
            # a zero, not None: the logged parts keep the same keys on every step
            return torch.zeros((), device=inputs.real.device)
        grad = input_gradients(inputs.discriminator, inputs.real, inputs.labels)
        penalty = 0.5 * grad.pow(2).sum(dim=1).mean()
        return penalty * self.every if self.every != 1 else penalty


class DriftPenalty(LossTerm):
    """ProGAN's drift penalty on the critic's real scores (Karras et al. 2018, appendix A.1); D side only.

    - D: mean_i D(x_i)²  over the real batch.
    - G: nothing.

    A Wasserstein critic's scores are free to drift away from zero together,
    which the gradient penalty does not prevent; this keeps them near it. The
    weight is the paper's ε_drift: ``wgan-gp+0.001*drift``.
    """

    def d_loss(self, inputs: LossInputs) -> Tensor:
        if inputs.d_real is None:
            raise ValueError("drift reads D's real scores, and LossInputs.d_real is None")
        return inputs.d_real.float().pow(2).mean()


class OrthogonalRegularization(LossTerm):
    """BigGAN's orthogonal regularization of the generator's weights (Brock et al. 2019, eq. 3); G side only.

    - G: Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F over G's weights, each viewed as a matrix with
      one row per output unit (a convolution's kernel flattened).
    - D: nothing.

    Only the inner products between different filters are penalised, not their
    norms, which the paper found keeps G amenable to the truncation trick.
    β is the term's weight: ``hinge+1e-4*ortho`` is the paper's β = 10⁻⁴.
    BigGAN-PyTorch's ``--G_ortho s`` adds half this gradient, so it matches
    weight s/2 here. The weights are those of BigGAN-PyTorch's ``utils.ortho``:
    every trainable parameter with two or more dimensions (the raw weight of a
    spectrally normalized layer) except embedding tables; biases and
    BatchNorm gains are skipped. Reads the generator from
    ``LossInputs.generator``; computed in float32 even under autocast. Its
    value does not depend on the samples, only on G's weights.
    """

    def g_loss(self, inputs: LossInputs) -> Tensor:
        if inputs.generator is None:
            raise ValueError("ortho reads the generator's weights, and LossInputs.generator is None")
        return orthogonal_regularization(orthogonal_weights(inputs.generator))


class PathLengthPenalty(LossTerm):
    """StyleGAN2's path-length regularization (Karras et al. 2020, section 3.2, eq. 4); generator side only.

    - G: mean_i (‖J_wᵢᵀ yᵢ‖₂ − a)², yᵢ ~ N(0, I) / sqrt(H·W), with J_w the
      Jacobian of the image g(w) with respect to the intermediate latent w.
    - D: nothing.

    A fixed-size step in W should change the image by a fixed amount in any
    direction, which makes the mapping from W to images smoother and easier
    to invert. Computed as stylegan2-ada-pytorch's training/loss.py:77-92
    does: the generator runs again on the first N / ``batch_shrink`` latent
    codes of the step (``LossInputs.z``, its labels ``g_labels``) through its
    ``forward_with_w`` (style mixing included, as in training); ‖J_wᵀ y‖ is
    the gradient of sum(g(w)·y) with respect to w, squared and summed over
    w's last dimension, averaged over the others (StyleGAN2's per-layer ws),
    then its square root. a is the running mean of those lengths,
    a ← a + ``decay``·(mean length − a), kept with the run (saved in every
    checkpoint, restored on resume); it starts at 0. The penalty is taken in
    float32 with autocast off, through the uncompiled generator.

    StyleGAN2's weight is 2: ``bce+2*pl`` (the weight is the term's weight in
    the spec, as for r1). Lazy regularization (section 3.1): the penalty is
    computed on generator steps that are a multiple of ``every`` and then
    multiplied by ``every`` (other steps give 0), and G's Adam runs with
    lr·c and betas**c, c = every/(every + 1) (training_loop.py:202-205).
    Needs a generator with ``forward_with_w`` (the stylegan2 generator); a
    run with another is refused at its start. Images only.

    every: regularize every this many generator steps (4 in StyleGAN2; 1: every step).
    decay: how fast the running mean length a follows each penalty batch's mean length (0.01 in StyleGAN2).
    batch_shrink: the penalty's batch is the step's batch divided by this (2 in StyleGAN2).
    """

    modalities = ("image",)
    reads_generator = ("forward_with_w",)

    def __init__(self, every: Annotated[int, Range(1, None)] = 4, decay: Annotated[float, Range(0, 1)] = 0.01,
                 batch_shrink: Annotated[int, Range(1, None)] = 2):
        for name, value in (("every", every), ("batch_shrink", batch_shrink)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise UsageError(f"pl: {name} must be a positive integer, got {value}",
                                 "StyleGAN2 uses every=4, batch_shrink=2")
        if not 0 < decay <= 1:
            raise UsageError(f"pl: decay must be in (0, 1], got {decay}", "StyleGAN2 uses 0.01")
        self.every, self.decay, self.batch_shrink = int(every), float(decay), int(batch_shrink)
        self.lazy = ("g", self.every) if self.every > 1 else None
        #: a, the running mean of the path lengths (training/loss.py:36, 85-86); on the device once used
        self.pl_mean = torch.zeros(())

    def state(self) -> dict[str, Tensor]:
        return {"pl_mean": self.pl_mean}

    def load_state(self, tensors: dict[str, Tensor]) -> None:
        value = tensors.get("pl_mean")
        if value is None or value.shape != ():
            raise CheckpointError(f"the checkpoint's loss.pl.pl_mean is {value!r}, not a scalar",
                                  "resume from a checkpoint this version of ganzoo wrote")
        self.pl_mean = value.detach().float().clone()

    def path_lengths(self, inputs: LossInputs) -> Tensor:
        """‖J_wᵀ y‖ for each of the first N / batch_shrink latent codes, shape (n,), differentiable w.r.t. G."""
        G, z = inputs.generator, inputs.z
        if G is None or z is None:
            raise ValueError("pl runs the generator again on the step's latent codes, and LossInputs."
                             f"{'generator' if G is None else 'z'} is None")
        run = getattr(G, "forward_with_w", None)  # a trainer refuses a generator without it at the start
        if not callable(run):
            raise ValueError(f"pl needs the generator's forward_with_w(z, labels), which {type(G).__name__} lacks")
        n = max(1, z.shape[0] // self.batch_shrink)
        labels = inputs.g_labels[:n] if inputs.g_labels is not None else None
        # enable_grad: the penalty needs its own backward even where a loss is evaluated under no_grad
        with torch.enable_grad(), torch.autocast(device_type=z.device.type, enabled=False):
            images, w = run(z[:n], labels)
            images = images.float()
            # y ~ N(0, I) / sqrt(H·W): the expected ‖J^T y‖ then does not grow with the resolution
            y = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
            (grad,) = torch.autograd.grad((images * y).sum(), w, create_graph=True)
        return grad.float().square().sum(-1).reshape(n, -1).mean(1).sqrt()

    def g_loss(self, inputs: LossInputs) -> Tensor:
        if inputs.step % self.every:
            return torch.zeros((), device=inputs.fake.device)  # a zero, not None: the logged parts keep their keys
        lengths = self.path_lengths(inputs)
        # not detached in the penalty: the reference differentiates through this batch's share of the mean
        # (training/loss.py:85-87); the stored copy is
        mean = self.pl_mean.to(lengths.device).lerp(lengths.mean(), self.decay)
        self.pl_mean = mean.detach()
        penalty = (lengths - mean).square().mean()
        return penalty * self.every if self.every != 1 else penalty
