"""pix2pix's U-Net and PatchGAN and CycleGAN's ResNet translator, against the papers and the authors' code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo.base.errors import UnsupportedDataError
from ganzoo_plugins.translation.models import (
    PatchGANDiscriminator,
    ResnetTranslator,
    UNetGenerator,
    _ResidualBlock,
    patchgan_grid,
    patchgan_receptive_field,
)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# -- parameter counts of the reference configurations ----------------------------------------------
# The authors' code (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py) prints these counts
# for 256x256 RGB with its defaults. Recounted by hand from its layer definitions:
#   unet_256 (ngf 64, batch norm: no conv bias but the outermost upconv's): outermost 3*64*16 +
#   (128*3*16 + 3) = 9,219; levels (64,128) 393,600, (128,256) 1,573,632, (256,512) 6,292,992;
#   three (512,512) levels with a down norm, 12,584,960 each; the innermost (no down norm)
#   8,389,632. Total 54,413,955.
#   resnet_9blocks (ngf 64, affine-free instance norm, so every conv has a bias): 9,472 + 73,856 +
#   295,168 + 9 * 1,180,160 + 295,040 + 73,792 + 9,411 = 11,378,179.
#   basic PatchGAN (ndf 64, 3 layers, batch norm): (3*64*16 + 64) + (131,072 + 256) +
#   (524,288 + 512) + (2,097,152 + 1,024) + (512*16 + 1) = 2,765,633; with 6 input channels
#   (pix2pix's (input, output) pairs) 3*64*16 = 3,072 more, 2,768,705.
# The printed figures (54.414 M, 11.378 M, 2.765 M, 2.769 M) agree with these to the digit shown.
@pytest.mark.parametrize("build, expected", [
    (lambda: UNetGenerator(3, 3, image_size=256, ngf=64, norm="batch"), 54_413_955),
    (lambda: ResnetTranslator(3, 3, n_blocks=9, ngf=64, norm="instance"), 11_378_179),
    (lambda: PatchGANDiscriminator(3, ndf=64, n_layers=3, norm="batch"), 2_765_633),
    (lambda: PatchGANDiscriminator(6, ndf=64, n_layers=3, norm="batch"), 2_768_705),
], ids=["unet_256", "resnet_9blocks", "patchgan_3ch", "patchgan_6ch"])
def test_parameter_counts_match_the_reference_code(build, expected):
    with torch.device("meta"):  # counts only: no memory, no time spent initialising 54 M weights
        model = build()
    assert n_params(model) == expected


def test_defaults_are_the_papers():
    with torch.device("meta"):
        unet, resnet = UNetGenerator(), ResnetTranslator()
        small = ResnetTranslator(image_size=128)
    assert unet.num_downs == 8 and unet.dropout_levels == 3  # unet_256, dropout in 3 decoder levels
    assert sum(isinstance(m, nn.BatchNorm2d) for m in unet.modules()) > 0
    assert sum(isinstance(m, _ResidualBlock) for m in resnet.modules()) == 9
    assert sum(isinstance(m, _ResidualBlock) for m in small.modules()) == 6  # the paper's 128 px choice
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in resnet.modules()) == 2 + 2 * 9
    assert all(not m.affine for m in resnet.modules() if isinstance(m, nn.InstanceNorm2d))


# -- shapes and range ------------------------------------------------------------------------------
@pytest.mark.parametrize("size, downs", [(32, 5), (64, 6), (256, 8)])
def test_unet_depth_and_shapes(size, downs):
    torch.manual_seed(0)
    g = UNetGenerator(3, 1, image_size=size, ngf=4)
    assert g.num_downs == downs
    x = torch.randn(2, 3, size, size)
    y = g(x)
    assert y.shape == (2, 1, size, size)


@pytest.mark.parametrize("size", [32, 64, 256])
def test_resnet_and_patchgan_shapes(size):
    torch.manual_seed(0)
    r = ResnetTranslator(1, 3, image_size=size, ngf=4)
    assert r(torch.randn(2, 1, size, size)).shape == (2, 3, size, size)
    d = PatchGANDiscriminator(4, ndf=4, n_layers=3, image_size=size)
    side = patchgan_grid(size, 3)
    assert d(torch.randn(2, 4, size, size)).shape == (2, 1, side, side)


def test_residual_block_adds_its_input():
    block = _ResidualBlock(4, "instance", "reflect", 0.0)
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()  # the convolutions now give 0, so only the skip is left
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(block(x), x)


def test_patchgan_gives_the_papers_30x30_map_at_256():
    assert patchgan_grid(256, 3) == 30


@pytest.mark.parametrize("make", [
    lambda: UNetGenerator(1, 1, image_size=32, ngf=4),
    lambda: ResnetTranslator(1, 1, image_size=32, ngf=4, n_blocks=1),
], ids=["unet", "resnet"])
def test_outputs_are_in_tanh_range(make):
    torch.manual_seed(0)
    net = make()
    last = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
    with torch.no_grad():
        last.weight.mul_(1000)  # pre-activations far past 1, which only a final Tanh brings back
    y = net(torch.randn(4, 1, 32, 32))
    assert y.abs().max() <= 1.0 and y.abs().max() > 0.99


# -- dropout as the noise source -------------------------------------------------------------------
@pytest.mark.parametrize("size", [32, 64])
def test_unet_dropout_is_noise_in_training_and_at_test_time_unless_test_mode_is_eval(size):
    # Isola et al. 2017, section 3.3: "we apply dropout at test time"; the reference's test.py calls model.eval()
    # only with --eval (off by default). test_mode="eval" is that flag. (Was: off in eval mode, against the paper.)
    torch.manual_seed(0)
    g = UNetGenerator(1, 1, image_size=size, ngf=4)
    x = torch.randn(2, 1, size, size)
    g.train()
    assert not torch.allclose(g(x), g(x))
    g.eval()
    assert g.test_mode == "train" and not torch.allclose(g(x), g(x))
    g.test_mode = "eval"
    g.eval()
    assert torch.equal(g(x), g(x))
    off = UNetGenerator(1, 1, image_size=size, ngf=4, dropout=0.0).train()
    assert not any(isinstance(m, nn.Dropout) for m in off.modules())


def test_unet_dropout_sits_after_the_bottleneck_like_the_reference():
    # unet_256: dropout in the three 8ngf levels between the innermost and the 4ngf level
    g = UNetGenerator(1, 1, image_size=256, ngf=1)
    level = g.model.model[1]  # the level below the outermost
    with_dropout = []
    while level is not None:
        convs = [m for m in level.model if isinstance(m, nn.ConvTranspose2d)]
        with_dropout.append((convs[0].out_channels, any(isinstance(m, nn.Dropout) for m in level.model)))
        level = next((m for m in level.model if type(m).__name__ == "_UNetLevel"), None)
    assert with_dropout == [(1, False), (2, False), (4, False), (8, True), (8, True), (8, True), (8, False)]


# -- receptive field -------------------------------------------------------------------------------
@pytest.mark.parametrize("n_layers, field", [(1, 16), (3, 70), (5, 286)])
def test_patchgan_receptive_field_is_the_papers(n_layers, field):
    # Isola et al. 2017, section 4.4: 16x16, 70x70 and 286x286 PatchGANs
    assert patchgan_receptive_field(n_layers) == field


def test_patchgan_receptive_field_measured_by_gradients():
    torch.manual_seed(0)
    d = PatchGANDiscriminator(1, ndf=2, n_layers=3).eval()  # eval: BatchNorm couples nothing
    x = torch.randn(1, 1, 256, 256, requires_grad=True)
    out = d(x)
    out[0, 0, 15, 15].backward()
    rows, cols = (x.grad[0, 0] != 0).nonzero(as_tuple=True)
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70
    assert d.receptive_field == 70


# -- errors ----------------------------------------------------------------------------------------
def test_bad_sizes_are_clear_errors():
    with pytest.raises(UnsupportedDataError, match="power of two"):
        UNetGenerator(image_size=48)
    with pytest.raises(UnsupportedDataError, match="multiples of 32"):
        UNetGenerator(1, 1, image_size=32, ngf=2)(torch.randn(1, 1, 48, 48))
    with pytest.raises(UnsupportedDataError, match=r"\(N, 3, H, W\)"):
        ResnetTranslator(ngf=2, n_blocks=0)(torch.randn(1, 1, 32, 32))
    with pytest.raises(UnsupportedDataError, match="n_layers=3 or fewer"):
        PatchGANDiscriminator(2, n_layers=4, image_size=32)
    with pytest.raises(UnsupportedDataError, match="norm"):
        PatchGANDiscriminator(2, norm="layer")


def test_translation_networks_are_registered_by_what_they_take_and_score():
    import ganzoo

    registry = ganzoo.get_registry()
    assert {s.name: s.takes for s in registry.components("generator") if s.plugin.name == "translation"} == {
        "unet": "image", "resnet-translator": "image"}
    assert registry.get("discriminator", "patchgan").scores == ("patch",)
    # every noise generator still takes noise: the gan algorithm is offered only those
    assert all(s.takes == "noise" for s in registry.components("generator") if s.plugin.name != "translation")
