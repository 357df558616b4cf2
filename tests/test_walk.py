"""Latent walks: slerp against its closed form, the generator's own path (StyleGAN2 in w), `sample --walk`."""

from __future__ import annotations

import math

import pytest
import torch
from PIL import Image

from ganzoo.base.errors import UsageError
from ganzoo.cli.commands.sample_cmd import walk_to_file
from ganzoo.runs.walk import fractions, interpolate, slerp, walk


def _angle(a: torch.Tensor, b: torch.Tensor) -> float:
    return math.acos(max(-1.0, min(1.0, float(torch.dot(a, b) / (a.norm() * b.norm())))))


def test_slerp_ends_norm_and_constant_angular_speed():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(100, generator=g, dtype=torch.float64), torch.randn(100, generator=g, dtype=torch.float64)
    b = b * (a.norm() / b.norm())  # the same norm: slerp keeps it all the way
    t = torch.linspace(0, 1, 11)
    path = slerp(a, b, t)
    assert path.shape == (11, 100)
    assert torch.allclose(path[0], a.float(), atol=1e-5) and torch.allclose(path[-1], b.float(), atol=1e-5)
    assert torch.allclose(path.norm(dim=1), a.norm().float().expand(11), rtol=1e-5)
    omega = _angle(a, b)
    for ti, p in zip(t.tolist(), path.double()):  # the angle from a grows linearly: t * omega
        assert _angle(a, p) == pytest.approx(ti * omega, abs=1e-4)
    mid = path[5].double()
    assert _angle(a, mid) == pytest.approx(omega / 2, abs=1e-5) and _angle(mid, b) == pytest.approx(omega / 2, abs=1e-5)


def test_slerp_closed_form_with_different_norms_and_batches():
    a, b = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])  # a right angle
    t = torch.tensor([0.25])
    expected = math.sin(0.75 * math.pi / 2) * a + math.sin(0.25 * math.pi / 2) * b  # sin(pi/2) = 1
    assert torch.allclose(slerp(a, b, t)[0], expected, atol=1e-6)
    batch_a, batch_b = torch.randn(3, 5), torch.randn(3, 5)
    out = slerp(batch_a, batch_b, torch.tensor([0.0, 0.5, 1.0]))
    assert out.shape == (3, 3, 5)
    assert torch.allclose(out[0], batch_a, atol=1e-5) and torch.allclose(out[2], batch_b, atol=1e-5)
    assert torch.allclose(out[1, 2], slerp(batch_a[2], batch_b[2], torch.tensor([0.5]))[0], atol=1e-6)


def test_slerp_of_parallel_and_opposite_codes_is_the_line():
    a = torch.tensor([1.0, 2.0, 3.0])
    t = torch.tensor([0.0, 0.3, 1.0])
    for b in (2 * a, -a):
        out = slerp(a, b, t)
        assert torch.isfinite(out).all()
        assert torch.allclose(out, (1 - t)[:, None] * a + t[:, None] * b, atol=1e-5)


def test_fractions():
    assert fractions(1).tolist() == [0.0]
    assert fractions(5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


class _Echo(torch.nn.Module):
    """A generator whose samples are its codes: what interpolate feeds it is visible."""

    def __init__(self) -> None:
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(()))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return z + self.p


class _OwnPath(_Echo):
    def interpolate(self, z_a, z_b, t, labels=None, **options):
        self.called = (labels, options, self.training)
        return torch.lerp(z_a, z_b, t[:, None])


def test_the_default_path_is_slerp_and_a_generator_may_walk_its_own():
    z_a, z_b = torch.randn(1, 8), torch.randn(1, 8)
    t = fractions(4)
    assert torch.allclose(interpolate(_Echo(), z_a, z_b, t), slerp(z_a[0], z_b[0], t), atol=1e-6)
    own = _OwnPath().train()
    out = interpolate(own, z_a, z_b, t, torch.zeros(4, dtype=torch.long), psi=0.5)
    assert torch.allclose(out, torch.lerp(z_a, z_b, t[:, None]))
    labels, options, training = own.called
    assert labels.tolist() == [0, 0, 0, 0] and options == {"psi": 0.5} and training is False
    assert own.training  # put back as it was


def test_stylegan2_walks_linearly_in_w():
    from ganzoo.base.specs import DataInfo
    from ganzoo_plugins.stylegan2.models import StyleGAN2Generator

    torch.manual_seed(0)
    G = StyleGAN2Generator(DataInfo((1, 8, 8)), latent_dim=16, w_dim=8, channel_base=64, channel_max=8).eval()
    z_a, z_b = torch.randn(1, 16), torch.randn(1, 16)
    seen = []
    original = G.synthesis
    G.synthesis = lambda ws, noise_mode="random": seen.append((ws, noise_mode)) or original(ws, noise_mode)
    frames = interpolate(G, z_a, z_b, fractions(3), truncation_psi=0.5)
    ws, noise_mode = seen[0]
    ends = G.ws(torch.cat([z_a, z_b]), 0.5)
    assert torch.allclose(ws[1], (ends[0] + ends[1]) / 2, atol=1e-6)  # the midpoint in w, not the w of a midpoint z
    assert torch.allclose(ws[0], ends[0]) and torch.allclose(ws[2], ends[1])
    assert noise_mode == "const" and frames.shape == (3, 1, 8, 8)


def test_walk_of_a_pretrained_generator_starts_at_its_sample():
    import ganzoo

    G = ganzoo.load("dcgan-mnist")
    frames = walk(G, 3, 4, frames=5)
    assert frames.shape == (5, 1, 28, 28)
    assert torch.allclose(frames[0], G.sample(1, seed=3)[0], atol=1e-5)  # batch of 5 vs 1: float rounding
    assert torch.allclose(frames[-1], G.sample(1, seed=4)[0], atol=1e-5)
    assert not torch.allclose(frames[1], frames[2])


def test_walk_refuses_what_cannot_walk():
    import ganzoo

    with pytest.raises(UsageError, match="translates images"):
        walk(ganzoo.load("pix2pix-mnist-edges"), 1, 2)
    with pytest.raises(UsageError, match="points"):
        walk(ganzoo.load("vanilla-gaussians"), 1, 2)
    with pytest.raises(UsageError, match="--frames"):
        walk(ganzoo.load("dcgan-mnist"), 1, 2, frames=0)
    with pytest.raises(UsageError, match="truncation"):
        walk(ganzoo.load("dcgan-mnist"), 1, 2, truncation=0.5)
    with pytest.raises(UsageError, match="out of range"):
        walk(ganzoo.load("cdcgan-mnist"), 1, 2, label=12)


def test_walk_to_file_gif_and_webp(tmp_path):
    _, gif = walk_to_file("cdcgan-mnist", 1, 2, frames=6, out=str(tmp_path / "w.gif"), label=7)
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 6 and im.size == (28 * 4, 28 * 4)
    _, webp = walk_to_file("dcgan-mnist", 1, 2, frames=3, out=str(tmp_path / "w.webp"))
    with Image.open(webp) as im:
        assert im.format == "WEBP" and im.n_frames == 3
    with pytest.raises(UsageError, match="animation"):
        walk_to_file("dcgan-mnist", 1, 2, out=str(tmp_path / "w.png"))
    with pytest.raises(UsageError, match="exists"):
        walk_to_file("dcgan-mnist", 1, 2, out=str(gif))


def test_sample_walk_on_the_command_line(cli, tmp_path):
    proc = cli("sample", "dcgan-mnist", "--walk", "1", "2", "--frames", "4", "--out", "walk.gif", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "walk of 4 frames from seed 1 to 2" in proc.stdout
    with Image.open(tmp_path / "walk.gif") as im:
        assert im.n_frames == 4
    proc = cli("sample", "dcgan-mnist", "--walk", "1", "2", "--num", "3", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--num does not go with --walk" in proc.stderr
