"""A latent walk: the frames a generator draws on the way from one seed's latent code to another's.

`ganzoo sample NAME --walk A B --frames N --out walk.gif` and `ganzoo explore`'s walk both call `walk`.

Where the path runs is the generator's business, since only it knows its latent spaces: a generator that
defines ``interpolate(z_a, z_b, t, labels=None, **options) -> samples`` draws the frames itself (StyleGAN2
walks linearly in w, after its mapping network, which is where its paper measures perceptual path length).
Any other generator gets the default: z is Gaussian, so the path is the great circle between the two codes
(`slerp`, White 2016, "Sampling Generative Networks"): a straight line between two Gaussian draws passes
through codes of atypically small norm, which most generators were never trained on and draw washed out.
The core names no family: it only asks whether the generator has ``interpolate``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Protocol

import torch
from torch import Tensor

from ..base.errors import UsageError



class Walks(Protocol):
    """What `walk` asks of a trained model (`ganzoo.trained.Trained`): its options checked, its own walk."""

    def accept(self, given: Mapping[str, object]) -> dict[str, object]: ...

    def walk(self, seed_a: int, seed_b: int, frames: int, options: Mapping[str, object]) -> Tensor: ...

#: the most frames one walk draws: a GIF of 28 px frames this long is still small, and the page waits for it
MAX_FRAMES = 240
#: the formats a walk is written in, by file ending
ANIMATIONS = {".gif": "GIF", ".webp": "WEBP"}


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation from ``a`` (t = 0) to ``b`` (t = 1), row by row: (D,) or (N, D) codes and
    ``t`` (F,) give (F, D) or (F, N, D).

    ``sin((1-t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b`` with Ω the angle between a and b: the point moves at a
    constant angular speed on the arc, and keeps the norm when ``a`` and ``b`` have the same one. Where
    the two are (nearly) parallel or opposite, the arc is not defined by them and the line is used instead.
    """
    # float64 inside: the angle of two near-parallel codes is lost in float32's rounding of their cosine
    a, b = torch.broadcast_tensors(a.double(), b.double())
    t = t.double().reshape((-1,) + (1,) * a.dim())
    unit_a = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    unit_b = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    omega = (unit_a * unit_b).sum(-1, keepdim=True).clamp(-1.0, 1.0).acos()
    sin = omega.sin()
    line = (1 - t) * a + t * b
    arc = (((1 - t) * omega).sin() * a + (t * omega).sin() * b) / sin.clamp_min(1e-12)
    # within a milliradian of parallel the line is the arc to 1e-7; of opposite, no one arc joins them
    path = torch.where(sin < 1e-3, line, arc)
    # the ends exactly: sin(Ω)/sin(Ω) rounds, and a generator can magnify a 1e-16 step in z into a visible one
    return torch.where(t == 0, a, torch.where(t == 1, b, path)).float()


def fractions(frames: int) -> Tensor:
    """``frames`` evenly spaced t from 0 to 1, both ends included (one frame: t = 0)."""
    return torch.linspace(0.0, 1.0, frames) if frames > 1 else torch.zeros(1)


@torch.no_grad()
def interpolate(model: torch.nn.Module, z_a: Tensor, z_b: Tensor, t: Tensor, labels: Tensor | None = None,
                **options: float) -> Tensor:
    """The samples at ``t`` on the way from ``z_a`` to ``z_b`` (codes (1, latent_dim)), float32 on the CPU:
    the generator's own ``interpolate`` when it defines one, else `slerp` in z. ``options``: the sampling
    options its ``forward`` takes (`ganzoo.sampling.split_options`)."""
    from .sampling import generate

    own = getattr(model, "interpolate", None)
    if callable(own):
        was = model.training
        model.eval()
        try:
            device = next(iter(model.parameters()), torch.empty(0)).device
            y = labels.to(device) if labels is not None else None
            return own(z_a.to(device), z_b.to(device), t.to(device), y, **options).float().cpu()
        finally:
            model.train(was)
    z = slerp(z_a.reshape(-1), z_b.reshape(-1), t)
    return generate(model, z, labels, 256, **options)


def walk(loaded: Walks, seed_a: int, seed_b: int, frames: int = 16, label: int | None = None,
         truncation: float | None = None, options: Mapping[str, object] | None = None) -> Tensor:
    """``frames`` images (frames, C, H, W) in [-1, 1] from seed ``seed_a``'s input to ``seed_b``'s, as the
    model's reader walks (`ganzoo.trained.Trained.walk`; a noise generator: `interpolate` between the codes
    `sample(1, seed=S)` draws, keeping one class, ``label``, default 0, for a conditional one).
    One line (`UsageError`) for what cannot walk: a translator, points, a bad count.
    """
    if not 1 <= frames <= MAX_FRAMES:
        raise UsageError(f"--frames must be 1..{MAX_FRAMES}, not {frames}")
    given = {"label": label, "truncation": truncation, **(options or {})}
    return loaded.walk(seed_a, seed_b, frames, loaded.accept(given))


def animation(frames: Tensor, fmt: str = "GIF", scale: int = 4, duration: int = 80) -> bytes:
    """Frames (model-range or uint8 (F, C, H, W)) as one looping animation (``fmt`` GIF or WEBP), each frame
    scaled up ``scale`` times with its pixels kept square (a 28 px digit is too small to see)."""
    from PIL import Image

    from ..components.interfaces import to_uint8
    from .images import to_pil

    pixels = frames if frames.dtype == torch.uint8 else to_uint8(frames)
    pixels = pixels[:, :3] if pixels.shape[1] > 3 else pixels[:, :1] if pixels.shape[1] == 2 else pixels
    images = [to_pil(f) for f in pixels]
    if scale > 1:
        images = [im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST) for im in images]
    buffer = io.BytesIO()
    extra = {"lossless": True} if fmt == "WEBP" else {}
    images[0].save(buffer, format=fmt, save_all=True, append_images=images[1:], duration=duration, loop=0, **extra)
    return buffer.getvalue()
