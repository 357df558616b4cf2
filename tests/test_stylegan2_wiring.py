"""StyleGAN2 as built, layer by layer, and its recipes against the configurations they cite.

Reference: NVlabs/stylegan2-ada-pytorch. training/networks.py:27-80 (modulated_conv2d: demodulate), 254-305
(SynthesisLayer: demodulated), 310-324 (ToRGBLayer: demodulate=False), 505-579 (DiscriminatorBlock: 'orig' and
'resnet'), 589-612 (MinibatchStdLayer), 622 (mbstd_group_size); train.py:154-198 (cfg_specs, the cifar
overrides); training_loop.py:106-107, 201-205 (reg intervals, Adam's lr·c and betas**c).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganzoo.training.algorithm import hyper
from ganzoo.components.build import build_loss
from ganzoo.config.runconfig import finalize
from ganzoo.plugin.manager import get_registry
from ganzoo.base.specs import DataInfo
from ganzoo_plugins.stylegan2.models import (ModulatedConv2d, StyleGAN2Discriminator, StyleGAN2Generator,
                                             SynthesisLayer, ToRGB)


def image(side: int, channels: int = 1) -> DataInfo:
    return DataInfo(shape=(channels, side, side))


def by_hand(conv: ModulatedConv2d, x: torch.Tensor, w: torch.Tensor, demodulate: bool) -> torch.Tensor:
    """The modulated (and demodulated) convolution written out per sample, without `modulated_weight`."""
    styles = conv.affine(w) * conv.weight_gain
    if conv.up:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    out = []
    for i in range(len(x)):
        k = conv.weight * styles[i][None, :, None, None]  # scale each input feature map (paper eq. 1)
        if demodulate:  # eq. 3: each output map's kernel to unit L2 norm over (in, kh, kw)
            k = k / torch.sqrt(k.square().sum((1, 2, 3), keepdim=True) + 1e-8)
        out.append(F.conv2d(x[i:i + 1], k, padding=k.shape[-1] // 2))
    return torch.cat(out)


def test_every_synthesis_convolution_demodulates_and_no_torgb_does():
    torch.manual_seed(0)
    G = StyleGAN2Generator(image(32), latent_dim=8, w_dim=8, channel_base=64, channel_max=8)
    layers = [m for m in G.modules() if isinstance(m, SynthesisLayer)]
    torgbs = [m for m in G.modules() if isinstance(m, ToRGB)]
    assert len(layers) == 1 + 2 * 3 and len(torgbs) == 4  # 4, 8, 16, 32 px: as the reference's skip G
    for module, demodulate in [(m.conv, True) for m in layers] + [(m.conv, False) for m in torgbs]:
        # each layer's own (non-unit) styles: a missing demodulation changes the output's scale
        with torch.no_grad():
            module.affine.bias.add_(torch.rand_like(module.affine.bias))
        cin = module.weight.shape[1]
        side = 4
        x, w = torch.randn(3, cin, side, side), torch.randn(3, 8)
        with torch.no_grad():
            got = module(x, w)
            want = by_hand(module, x, w, demodulate)
            other = by_hand(module, x, w, not demodulate)
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
        assert not torch.allclose(got, other, rtol=1e-3, atol=1e-4)


def test_the_discriminator_builds_its_architecture_and_mbstd_group():
    data = image(32)
    resnet = StyleGAN2Discriminator(data, channel_base=64, channel_max=8, mbstd_group=4)
    orig = StyleGAN2Discriminator(data, channel_base=64, channel_max=8, mbstd_group=32, architecture="orig")
    assert resnet.mbstd.group_size == 4 and orig.mbstd.group_size == 32
    assert all(b.skip is not None for b in resnet.blocks) and all(b.skip is None for b in orig.blocks)
    # groups of 32 in a batch of 64: two groups, so the stddev channel takes two values (one per group)
    x = torch.randn(64, 8, 4, 4)
    stats = orig.mbstd(x)[:, -1, 0, 0]
    assert stats.unique().numel() == 2 and torch.equal(stats[0::2], stats[0].expand(32))


def test_the_orig_discriminator_is_the_cifar_configs_layer_count():
    # tests/test_zoo_models.py counts the resnet D at the CIFAR widths from the reference's summary
    # (21,507,073, with three 1x1 shortcuts of 262,144); the cifar configuration's 'orig' D has no shortcuts.
    d = StyleGAN2Discriminator(image(32, 3), channel_base=32768, channel_max=512, mbstd_group=32,
                               architecture="orig")
    assert sum(p.numel() for p in d.parameters()) == 21_507_073 - 3 * 262_144


def test_forward_with_w_is_the_training_forward_and_its_ws():
    G = StyleGAN2Generator(image(16), latent_dim=8, w_dim=8, channel_base=32, channel_max=8, mixing_prob=1.0)
    G.train()
    z = torch.randn(4, 8)
    torch.manual_seed(1)
    images = G(z)
    torch.manual_seed(1)
    again, ws = G.forward_with_w(z)
    torch.testing.assert_close(again, images)  # same draws (mixing, noise), same images
    assert ws.shape == (4, G.num_ws, 8) and ws.requires_grad
    assert not torch.allclose(ws[:, 0], ws[:, -1])  # mixed: the last layers read the second latent
    still = StyleGAN2Generator(image(16), latent_dim=8, w_dim=8, channel_base=32, channel_max=8, mixing_prob=0.0)
    _, ws = still.train().forward_with_w(z)
    assert torch.equal(ws, ws[:, :1].expand_as(ws))


# -- the recipes against the configurations they cite -----------------------------------------------------------

def recipe(name: str) -> dict:
    return get_registry().recipe(name).config


def test_stylegan2_mnist_is_the_cifar_configuration():
    cfg = recipe("stylegan2-mnist")
    gen, disc, train = cfg["gen"], cfg["disc"], cfg["train"]
    assert gen["mixing_prob"] == 0.0 and gen["mapping_layers"] == 2  # train.py:197, 160 (map=2)
    assert disc["architecture"] == "orig" and disc["mbstd_group"] == 32  # train.py:198, 160 (mbstd=32)
    assert cfg["loss"]["name"] == "bce+0.01*r1" and cfg["loss"]["r1"]["every"] == 16  # gamma 0.01, no pl
    run = finalize({**cfg, "out": "unused"})
    loss = build_loss(cfg["loss"]["name"], {"r1": cfg["loss"]["r1"]})
    lr_g, betas_g = hyper(run, "g", loss)
    lr_d, betas_d = hyper(run, "d", loss)
    # both sides as the reference's lazy phases leave Adam: lr 0.0025 · k/(k+1), betas (0, 0.99 ** (k/(k+1)))
    assert lr_g == pytest.approx(0.0025 * 4 / 5) and betas_g[1] == pytest.approx(0.99 ** (4 / 5), abs=1e-6)
    assert lr_d == pytest.approx(0.0025 * 16 / 17) and betas_d[1] == pytest.approx(0.99 ** (16 / 17))
    assert betas_g[0] == betas_d[0] == 0.0
    assert train["batch_size"] % disc["mbstd_group"] == 0
    G = StyleGAN2Generator(image(32), **{k: v for k, v in gen.items() if k != "name"},
                           latent_dim=train["latent_dim"])
    assert G.mixing_prob == 0.0


def test_stylegan2_faces64_is_the_auto_configuration_with_path_length():
    cfg = recipe("stylegan2-faces64")
    assert cfg["loss"]["name"] == "bce+0.0256*r1+2*pl"  # pl_weight 2 (loss.py:24); gamma 0.0002·64²/32
    assert cfg["loss"]["pl"]["every"] == 4 and cfg["loss"]["r1"]["every"] == 16  # training_loop.py:106-107
    assert cfg["disc"].get("architecture", "resnet") == "resnet" and cfg["disc"].get("mbstd_group", 4) == 4
    assert cfg["gen"].get("mixing_prob", 0.9) == 0.9  # loss.py:24 style_mixing_prob
    assert math.isclose(0.0002 * 64 ** 2 / cfg["train"]["batch_size"], 0.0256)  # train.py:173
    run = finalize({**cfg, "out": "unused"})
    loss = build_loss(cfg["loss"]["name"], {k: cfg["loss"][k] for k in ("r1", "pl")})
    assert hyper(run, "g", loss)[0] == pytest.approx(0.0025 * 4 / 5)
    assert hyper(run, "d", loss)[0] == pytest.approx(0.0025 * 16 / 17)
    pl = dict(loss.terms[2:3])
    (term,) = pl.values()
    assert (term.decay, term.batch_shrink) == (0.01, 2)  # loss.py:24
