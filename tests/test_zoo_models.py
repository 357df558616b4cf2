"""The post-2016 zoo models (issue 14): SNGAN ResNet, BigGAN, StyleGAN2, ProGAN, and DiffAugment.

The conformance suite (tests/test_conformance.py) holds every registered
model to the component contract; these tests check what makes each one the
paper's model: parameter counts of reference configurations against
published figures or the official layer definitions, and the mechanisms
(demodulation, equalized learning rate, pixel norm, minibatch stddev,
fade-in, style mixing, truncation, conditional BatchNorm, self-attention,
spectral and orthogonal regularization, DiffAugment) against closed forms.
"""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch
import torch.nn.functional as F

from ganzoo.base.errors import UnsupportedDataError
from ganzoo.components.interfaces import forward
from ganzoo.base.specs import DataInfo
from ganzoo_plugins.augment.diffaugment import cutout, diff_augment, translation
from ganzoo_plugins.biggan.models import (BigGANDiscriminator, BigGANGenerator, ConditionalBatchNorm2d,
                                          SelfAttention, orthogonal_regularization)
from ganzoo_plugins.progan.layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm
from ganzoo_plugins.progan.models import ProGANDiscriminator, ProGANGenerator, growth_schedule
from ganzoo_plugins.sngan.models import ResNetDiscriminator, ResNetGenerator
from ganzoo_plugins.stylegan2.models import (ModulatedConv2d, StyleGAN2Discriminator, StyleGAN2Generator,
                                             modulated_weight)


def image(side: int, channels: int = 3, classes: int | None = None) -> DataInfo:
    return DataInfo((channels, side, side), classes, 64, "image")


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv_params(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


# -- parameter counts of the reference configurations ----------------------------------------------

def test_sngan_cifar10_counts_match_the_official_model():
    # Counted from the official chainer definitions (pfnet-research/sngan_projection: gen_models/resnet_32.py
    # with ch=256, dim_z=128; dis_models/snresnet_32.py with ch=128, l5 without bias; resblocks.py: G blocks
    # BN-conv3-BN-conv3 + conv1 shortcut, D blocks hidden = input width, optimized first block), which is the
    # paper's "G about 4.3 M, D about 1.0 M" CIFAR-10 ResNet.
    ch = 256
    g_block = 2 * ch + conv_params(ch, ch, 3) + 2 * ch + conv_params(ch, ch, 3) + conv_params(ch, ch, 1)
    g = (128 * 16 * ch + 16 * ch) + 3 * g_block + 2 * ch + conv_params(ch, 3, 3)
    d_ch = 128
    optimized = conv_params(3, d_ch, 3) + conv_params(d_ch, d_ch, 3) + conv_params(3, d_ch, 1)
    d = optimized + (2 * conv_params(d_ch, d_ch, 3) + conv_params(d_ch, d_ch, 1)) + 2 * 2 * conv_params(d_ch, d_ch, 3) \
        + d_ch
    assert (g, d) == (4_276_739, 1_053_824)
    assert round(g / 1e6, 1) == 4.3 and round(d / 1e6, 1) in (1.0, 1.1)
    assert count(ResNetGenerator(image(32), latent_dim=128)) == g
    assert count(ResNetDiscriminator(image(32))) == d


def test_sngan_64px_counts_match_the_official_model():
    # gen_models/resnet_64.py and dis_models/snresnet_64.py with ch=64: G 16ch -> ch, D ch -> 16ch; the official
    # D's last linear has a bias (one parameter) that ours, like the 32 px model's, leaves out.
    def g_block(a: int, b: int) -> int:
        return 2 * a + conv_params(a, b, 3) + 2 * b + conv_params(b, b, 3) + conv_params(a, b, 1)

    def d_block(a: int, b: int) -> int:
        return conv_params(a, a, 3) + conv_params(a, b, 3) + conv_params(a, b, 1)

    w = [1024, 512, 256, 128, 64]
    g = 128 * 16 * 1024 + 16 * 1024 + sum(g_block(a, b) for a, b in pairwise(w)) + 2 * 64 + conv_params(64, 3, 3)
    v = [64, 128, 256, 512, 1024]
    d = conv_params(3, 64, 3) + conv_params(64, 64, 3) + conv_params(3, 64, 1) + \
        sum(d_block(a, b) for a, b in pairwise(v)) + 1024 + 1
    assert count(ResNetGenerator(image(64), latent_dim=128)) == g
    assert count(ResNetDiscriminator(image(64))) == d - 1


def _biggan_counts(res: int, ch: int, dim_z: int, shared: int, classes: int, attn: int) -> tuple[int, int]:
    """G and D parameter counts from BigGAN-PyTorch's layer definitions (BigGAN.py G_arch/D_arch, layers.py:
    GBlock conv biases and conv_sc, ccbn = two bias-free SN linears, Attention = four bias-free 1x1 convs and
    gamma, wide DBlock, SN linear with bias, SN embedding), with the hierarchical latent and shared embedding."""
    g_arch = {32: [4, 4, 4, 4], 64: [16, 16, 8, 4, 2], 128: [16, 16, 8, 4, 2, 1]}[res]
    w = [m * ch for m in g_arch]
    slots = len(w)
    chunk = dim_z // slots

    def attention(c: int) -> int:
        return 2 * c * (c // 8) + 2 * c * (c // 2) + 1

    g = classes * shared + (chunk * 16 * w[0] + 16 * w[0])
    side = 4
    for a, b in pairwise(w):
        side *= 2
        g += 2 * (shared + chunk) * (a + b) + conv_params(a, b, 3) + conv_params(b, b, 3) + conv_params(a, b, 1)
        g += attention(b) if side == attn else 0
    g += 2 * w[-1] + conv_params(w[-1], 3, 3)
    # (width multiplier, side after the block); BigGAN-PyTorch's D_arch[32] labels all four blocks "16", which
    # would attach attention to each: the one attention block goes where the map really is 16 px
    d_arch = {32: [(4, 16), (4, 8), (4, 8), (4, 8)], 128: [(1, 64), (2, 32), (4, 16), (8, 8), (16, 4), (16, 4)]}[res]
    d, cin, seen, in_side = 0, 3, set(), res
    for m, out_side in d_arch:
        cout = m * ch
        shortcut = cin != cout or out_side != in_side  # learnable_sc
        d += conv_params(cin, cout, 3) + conv_params(cout, cout, 3) + (conv_params(cin, cout, 1) if shortcut else 0)
        in_side = out_side
        if out_side == attn and out_side not in seen:
            d += attention(cout)
        seen.add(out_side)
        cin = cout
    d += cin + 1 + classes * cin
    return g, d


def test_biggan_matches_the_official_layer_definitions_and_the_papers_count():
    # Ours at the default 32 px config against the count from the official layer definitions...
    g, d = _biggan_counts(32, 32, 128, 128, 10, 16)
    assert count(BigGANGenerator(image(32, classes=10), latent_dim=128)) == g
    assert count(BigGANDiscriminator(image(32, classes=10))) == d
    # ...and those definitions at the ImageNet 128 px model (ch=96, dim_z=120, shared 128, attention at 64)
    # against Brock et al. (2019), Table 1 (rows with shared embedding and skip-z): 158.3 M for G and D. The
    # count here is 158.42 M; the paper's figure leaves out about 0.1 M (the 128 K shared class embedding
    # would account for it), so the check allows 0.15 M.
    g128, d128 = _biggan_counts(128, 96, 120, 128, 1000, 64)
    assert abs((g128 + d128) - 158.3e6) < 0.15e6


def test_stylegan2_cifar_config_matches_the_official_layer_counts():
    # Per-layer parameter counts printed by NVlabs/stylegan2-ada-pytorch's network summary (quoted in its
    # issues #181/#182): mapping.fc 262,656; synthesis conv0/conv1 2,622,465 (affine + 3x3 kernel + bias +
    # noise strength); torgb 264,195; the 4x4 const 8,192; D skip 262,144, conv0/conv1 2,359,808, fromrgb
    # (3 -> 512) 2,048. The D epilogue (mbstd conv 513 -> 512, fc 8192 -> 512, out 512 -> 1) is counted from
    # the official layer definitions (training/networks.py DiscriminatorEpilogue). CIFAR-10 config: 32 px,
    # channel_base 32768, channel_max 512, z = w = 512, two mapping layers.
    g = 2 * 262_656 + 8_192 + 2_622_465 + 264_195 + 3 * (2 * 2_622_465 + 264_195)
    d = 2_048 + 3 * (262_144 + 2 * 2_359_808) + conv_params(513, 512, 3) + (8192 * 512 + 512) + 513
    assert (g, d) == (19_947_539, 21_507_073)
    data = image(32)
    generator = StyleGAN2Generator(data, latent_dim=512, w_dim=512, mapping_layers=2, channel_base=32768,
                                   channel_max=512)
    assert count(generator) == g
    assert count(StyleGAN2Discriminator(data, channel_base=32768, channel_max=512, mbstd_group=32)) == d
    assert generator.num_ws == 8  # one w per convolution (1 + 2 * 3) plus the last ToRGB, as the official G


def test_progan_celebahq_config_matches_the_paper():
    # Karras et al. (2018), Table 2: the CelebA-HQ 1024 px networks have 23.1 M trainable parameters each.
    data = image(1024)
    generator = ProGANGenerator(data, latent_dim=512, channel_base=16384, channel_max=512)
    discriminator = ProGANDiscriminator(data, channel_base=16384, channel_max=512)
    assert round(count(generator) / 1e6, 1) == 23.1
    assert round(count(discriminator) / 1e6, 1) == 23.1


# -- every model on the data it supports ---------------------------------------------------------------

MODELS = [(ResNetGenerator, ResNetDiscriminator, None), (BigGANGenerator, BigGANDiscriminator, 10),
          (StyleGAN2Generator, StyleGAN2Discriminator, None), (ProGANGenerator, ProGANDiscriminator, None)]


@pytest.mark.parametrize(("gen", "disc", "classes"), MODELS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_greyscale_32px_round_trip(gen, disc, classes):
    data = image(32, channels=1, classes=classes)
    g, d = gen(data, latent_dim=16), disc(data)
    labels = torch.arange(4) % 10 if classes else None
    x = g(torch.randn(4, 16), labels)
    assert x.shape == (4, 1, 32, 32) and x.abs().max() <= 1
    assert d(x, labels).shape == (4,)


@pytest.mark.parametrize(("gen", "disc", "classes"), MODELS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_28px_mnist_is_refused_with_a_hint(gen, disc, classes):
    for factory in (gen, disc):
        with pytest.raises(UnsupportedDataError, match=r"32x32.*got 28x28"):
            factory(image(28, channels=1, classes=classes))


# -- StyleGAN2 -------------------------------------------------------------------------------------------

def test_demodulation_normalizes_each_output_kernel():
    torch.manual_seed(0)
    weight, styles = torch.randn(5, 3, 3, 3), torch.rand(2, 3) * 4
    w = modulated_weight(weight, styles)
    # closed form: each (sample, output) kernel over (in, k, k) has unit L2 norm, whatever the style
    assert torch.allclose(w.square().sum((2, 3, 4)), torch.ones(2, 5), atol=1e-5)
    expected = weight * styles[1][None, :, None, None]
    expected = expected / expected.square().sum((1, 2, 3), keepdim=True).sqrt()
    assert torch.allclose(w[1], expected, atol=1e-6)
    raw = modulated_weight(weight, styles, demodulate=False)
    assert not torch.allclose(raw.square().sum((2, 3, 4)), torch.ones(2, 5), atol=1e-2)


def test_modulated_conv_applies_each_samples_own_kernel():
    torch.manual_seed(0)
    layer = ModulatedConv2d(3, 4, 3, w_dim=6)
    x, w = torch.randn(2, 3, 5, 5), torch.randn(2, 6)
    out = layer(x, w)
    kernels = modulated_weight(layer.weight, layer.affine(w) * layer.weight_gain)
    for i in range(2):
        assert torch.allclose(out[i:i + 1], F.conv2d(x[i:i + 1], kernels[i], padding=1), atol=1e-5)


def small_stylegan(**kw) -> StyleGAN2Generator:
    torch.manual_seed(0)
    return StyleGAN2Generator(image(32), latent_dim=8, w_dim=8, channel_base=256, channel_max=8, **kw)


def test_style_mixing_switches_latents_at_the_crossover_layer():
    g = small_stylegan().eval()
    z1, z2 = torch.randn(3, 8), torch.randn(3, 8)
    w1, w2 = g.mapping(z1), g.mapping(z2)
    for cut in (0, 3, g.num_ws):
        ws = g.ws(z1, mix_z=z2, crossover=cut)
        assert torch.equal(ws[:, :cut], w1.unsqueeze(1).expand(-1, cut, -1))
        assert torch.equal(ws[:, cut:], w2.unsqueeze(1).expand(-1, g.num_ws - cut, -1))
    pure1, pure2 = (g(z, noise_mode="const") for z in (z1, z2))
    mixed = g(z1, noise_mode="const", mix_z=z2, crossover=3)
    assert torch.equal(g(z1, noise_mode="const", mix_z=z2, crossover=g.num_ws), pure1)
    assert torch.equal(g(z1, noise_mode="const", mix_z=z2, crossover=0), pure2)
    assert not torch.allclose(mixed, pure1) and not torch.allclose(mixed, pure2)


def test_each_layer_reads_its_own_w():
    # The official layer order: every convolution takes the next w; a block's ToRGB shares the w of the next
    # block's first convolution (so the last ToRGB reads the extra, num_ws-th w).
    g = small_stylegan().eval()
    z1, z2 = torch.randn(2, 8), torch.randn(2, 8)
    w1, w2 = g.mapping(z1), g.mapping(z2)
    seen: list[tuple[str, torch.Tensor]] = []
    hooks = [m.register_forward_pre_hook(lambda mod, args, name=name: seen.append((name, args[1])))
             for name, m in g.named_modules() if isinstance(m, ModulatedConv2d)]
    cut = 4
    g(z1, noise_mode="const", mix_z=z2, crossover=cut)
    for h in hooks:
        h.remove()
    index, expected = 0, []
    for block in g.blocks:
        expected += list(range(index, index + len(block.convs))) + [index + len(block.convs)]
        index += len(block.convs)
    assert len(seen) == len(expected) and max(expected) == g.num_ws - 1
    for (name, w), i in zip(seen, expected):
        assert torch.equal(w, w1 if i < cut else w2), f"{name} should read w {i}"


def test_training_mixes_styles_with_the_given_probability():
    z = torch.randn(3, 8)
    outputs = []
    for p in (0.0, 1.0):
        g = small_stylegan(mixing_prob=p).train()
        torch.manual_seed(1)
        outputs.append(g(z, noise_mode="const"))
    assert not torch.allclose(*outputs)


def test_truncation_psi_zero_gives_the_mean_w_image_for_every_z():
    g = small_stylegan().train()
    for _ in range(3):
        g(torch.randn(16, 8))  # training calls move w_avg away from its zero start
    g.eval()
    assert g.mapping.w_avg.abs().sum() > 0
    out = g(torch.randn(4, 8), truncation_psi=0.0, noise_mode="const")
    mean_image = g.synthesis(g.mapping.w_avg.expand(1, g.num_ws, -1), noise_mode="const")
    assert torch.allclose(out, mean_image.expand_as(out), atol=1e-6)
    half = g(torch.randn(4, 8), truncation_psi=0.5, noise_mode="const")
    assert not torch.allclose(half[0], half[1])


def test_noise_inputs_are_per_layer_and_random_by_default():
    g = small_stylegan().eval()
    for layer in (m for m in g.modules() if hasattr(m, "noise_strength")):
        layer.noise_strength.data.fill_(0.5)
    z = torch.randn(2, 8)
    assert not torch.equal(g(z), g(z))
    assert torch.equal(g(z, noise_mode="const"), g(z, noise_mode="const"))


# -- ProGAN layers ----------------------------------------------------------------------------------------

def test_equalized_lr_scales_weights_by_he_constant_at_run_time():
    torch.manual_seed(0)
    conv = EqualizedConv2d(8, 4, 3)
    assert abs(float(conv.weight.detach().std()) - 1) < 0.1  # stored as N(0, 1)
    x = torch.randn(2, 8, 5, 5)
    expected = F.conv2d(x, conv.weight * math.sqrt(2 / (8 * 9)), conv.bias, padding=1)
    assert torch.allclose(conv(x), expected, atol=1e-6)
    fc = EqualizedLinear(10, 3)
    v = torch.randn(2, 10)
    assert torch.allclose(fc(v), v @ (fc.weight * math.sqrt(2 / 10)).t() + fc.bias, atol=1e-6)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(3, 16, 4, 4) * 7 + 2
    y = PixelNorm()(x)
    assert torch.allclose(y.square().mean(1), torch.ones(3, 4, 4), atol=1e-5)


def test_minibatch_stddev_appends_the_mean_standard_deviation():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 2, 2)
    y = MinibatchStdDev(group_size=None)(x)
    assert y.shape == (4, 4, 2, 2) and torch.equal(y[:, :3], x)
    expected = x.std(0, unbiased=False).mean()
    assert torch.allclose(y[:, 3], expected.expand(4, 2, 2), atol=1e-5)
    grouped = MinibatchStdDev(group_size=2)(x)[:, 3, 0, 0]
    # groups of two take every other sample (i % 2), as the official implementation
    first, second = x[0::2].std(0, unbiased=False).mean(), x[1::2].std(0, unbiased=False).mean()
    assert torch.allclose(grouped, torch.stack([first, second, first, second]), atol=1e-5)
    assert MinibatchStdDev(group_size=4)(x[:3]).shape == (3, 4, 2, 2)  # 3 samples: groups shrink to fit


# -- ProGAN growth ----------------------------------------------------------------------------------------

def test_growth_schedule_fades_in_each_resolution():
    # 32 px: levels 4, 8, 16, 32 px; half of training grows, in 7 equal phases
    total = 700
    assert growth_schedule(0, total, 4, 0.5) == (0, 1.0)
    assert growth_schedule(75, total, 4, 0.5) == (1, 0.5)      # middle of the fade-in of 8 px
    assert growth_schedule(100, total, 4, 0.5) == (1, 1.0)     # stabilising 8 px
    assert growth_schedule(275, total, 4, 0.5) == (3, 0.5)
    assert growth_schedule(350, total, 4, 0.5) == (3, 1.0)
    assert growth_schedule(699, total, 4, 0.5) == (3, 1.0)
    assert growth_schedule(0, total, 4, 0.0) == (3, 1.0)


def small_progan(side: int = 32) -> tuple[ProGANGenerator, ProGANDiscriminator]:
    torch.manual_seed(0)
    data = image(side)
    return (ProGANGenerator(data, latent_dim=8, channel_base=64, channel_max=8).eval(),
            ProGANDiscriminator(data, channel_base=64, channel_max=8).eval())


def test_fade_in_at_alpha_zero_is_the_upsampled_lower_resolution():
    g, _ = small_progan()
    z = torch.randn(2, 8)
    assert (g.level, g.alpha, g.resolution) == (3, 1.0, 32)  # until on_progress: full resolution
    g.set_growth(1)
    low = g(z)
    assert torch.equal(low, F.interpolate(low[:, :, ::4, ::4], scale_factor=4, mode="nearest"))  # an 8 px image
    g.set_growth(2, alpha=0.0)
    assert torch.allclose(g(z), low, atol=1e-6)
    g.set_growth(2, alpha=0.5)
    half = g(z)
    g.set_growth(2, alpha=1.0)
    full = g(z)
    assert torch.allclose(torch.atanh(half), 0.5 * (torch.atanh(low) + torch.atanh(full)), atol=1e-4)


def test_on_progress_drives_growth_in_g_and_d_alike():
    g, d = small_progan()
    for step in (0, 75, 200, 700):
        g.on_progress(step, 700), d.on_progress(step, 700)
        assert (g.level, g.alpha) == (d.level, d.alpha) == growth_schedule(step, 700, 4, 0.5)


def test_d_sees_real_images_at_the_current_resolution():
    _, d = small_progan()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    d.set_growth(1)
    assert torch.allclose(d.current_view(x), F.avg_pool2d(x, 4))
    # a fully grown fake at this level (an 8 px image upsampled) is seen exactly as G drew it
    low = torch.rand(2, 3, 8, 8)
    assert torch.allclose(d.current_view(F.interpolate(low, scale_factor=4, mode="nearest")), low, atol=1e-6)
    d.set_growth(2, alpha=0.0)
    blurred = F.interpolate(F.avg_pool2d(x, 4), scale_factor=2, mode="nearest")
    assert torch.allclose(d.current_view(x), blurred, atol=1e-6)
    # at alpha 0 the new level's FromRGB branch has no weight: the score is the lower level's
    score_faded = d(x)
    d.set_growth(1)
    assert torch.allclose(score_faded, d(x), atol=1e-5)


# -- BigGAN and SNGAN --------------------------------------------------------------------------------------

def test_conditional_batchnorm_depends_on_the_label():
    torch.manual_seed(0)
    g = BigGANGenerator(image(32, classes=10), latent_dim=16, ngf=4, attention=0).eval()
    z = torch.randn(2, 16)
    assert not torch.allclose(g(z, torch.tensor([0, 1])), g(z, torch.tensor([5, 6])))
    bn = ConditionalBatchNorm2d(4, 3).eval()
    x = torch.randn(2, 4, 3, 3)
    y = torch.randn(2, 3)
    gain, bias = 1 + bn.gain(y), bn.bias(y)
    assert torch.allclose(bn(x, y), bn.bn(x) * gain[:, :, None, None] + bias[:, :, None, None])
    assert not torch.allclose(bn(x, y), bn(x, -y))


def test_self_attention_is_residual_and_starts_as_the_identity():
    torch.manual_seed(0)
    attention = SelfAttention(16)
    assert float(attention.gamma.detach()) == 0.0
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(attention(x), x)
    with torch.no_grad():
        attention.gamma.fill_(0.5)
        # SAGAN: queries at every position, keys and values max-pooled 2x, softmax over the keys
        q = attention.theta(x).flatten(2)
        k = F.max_pool2d(attention.phi(x), 2).flatten(2)
        v = F.max_pool2d(attention.g(x), 2).flatten(2)
        attended = torch.einsum("ncj,nij->nci", v, torch.softmax(torch.einsum("nci,ncj->nij", q, k), -1))
        expected = x + 0.5 * attention.o(attended.reshape(2, 8, 4, 4))
        assert torch.allclose(attention(x), expected, atol=1e-5)


def test_biggan_hierarchical_latent_reaches_every_block():
    torch.manual_seed(0)
    g = BigGANGenerator(image(32, classes=10), latent_dim=16, ngf=4, attention=0).eval()
    assert g.chunks == [4, 4, 4, 4]
    labels = torch.tensor([1, 2])
    z = torch.randn(2, 16)
    for chunk in range(4):
        other = z.clone()
        other[:, 4 * chunk:4 * chunk + 4] += 1
        assert not torch.allclose(g(other, labels), g(z, labels)), f"latent chunk {chunk} unused"


@pytest.mark.parametrize("make, conditional", [(lambda: ResNetDiscriminator(image(32), ndf=16), False),
                                               (lambda: BigGANDiscriminator(image(32, classes=10), ndf=8), True)],
                         ids=["resnet", "biggan"])
def test_spectral_norm_keeps_each_d_weight_near_unit_spectral_norm(make, conditional):
    torch.manual_seed(0)
    d = make().train()
    with torch.no_grad():  # raw weights three times larger (orthogonal init alone has unit spectral norm)
        for p in d.parameters():
            p.mul_(3 if p.ndim >= 2 else 1)
    x, labels = torch.randn(2, 3, 32, 32), torch.tensor([0, 1])
    for _ in range(5):  # one power iteration per training forward
        forward(d, x, labels if conditional else None)
    normed = [(name, m.weight) for name, m in d.named_modules() if hasattr(m, "parametrizations")]
    assert len(normed) >= 10
    for name, w in normed:
        sigma = float(torch.linalg.matrix_norm(w.detach().reshape(w.shape[0], -1), 2))
        assert abs(sigma - 1) < 0.1, f"{name}: largest singular value {sigma:.3f}"


def test_biggan_starts_from_orthogonal_weights():
    # BigGAN's default init ("ortho"): every conv, linear and embedding weight (raw, before spectral
    # normalization) has orthonormal rows, or columns where it has more rows than columns
    g = BigGANGenerator(image(32, classes=10), latent_dim=16, ngf=4)
    weights = [p.detach().flatten(1) for p in g.parameters() if p.ndim >= 2]
    assert len(weights) > 10
    for w in weights:
        gram = w @ w.t() if w.shape[0] <= w.shape[1] else w.t() @ w
        assert torch.allclose(gram, torch.eye(len(gram)), atol=1e-4)


def test_orthogonal_regularization_closed_form():
    w = torch.tensor([[1.0, 1.0], [1.0, 0.0]], requires_grad=True)
    r = orthogonal_regularization([w, torch.zeros(3, requires_grad=True)])
    # W Wᵀ = [[2, 1], [1, 1]]: off-diagonal 1 and 1, so R = 2; gradient 4 (W Wᵀ ⊙ (1 − I)) W
    assert float(r.detach()) == pytest.approx(2.0)
    r.backward()
    off = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert torch.allclose(w.grad, 4 * off @ w.detach())
    q, _ = torch.linalg.qr(torch.randn(6, 6))
    assert float(orthogonal_regularization([q[:4] * 3])) == pytest.approx(0.0, abs=1e-4)  # norms are free
    g = BigGANGenerator(image(32, classes=10), latent_dim=16, ngf=4)
    weights = g.orthogonal_weights()
    assert all(w.ndim >= 2 for w in weights) and all(w is not g.shared.weight for w in weights)
    assert float(orthogonal_regularization(weights).detach()) > 0


# -- DiffAugment -------------------------------------------------------------------------------------------

def test_diffaugment_is_differentiable_and_seeded():
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    out = diff_augment(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    again = diff_augment(x.detach(), generator=torch.Generator().manual_seed(0))
    assert torch.equal(out.detach(), again)
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        diff_augment(x, "colour")


def test_translation_shifts_whole_pixels_and_fills_with_zero():
    x = torch.rand(16, 2, 16, 16) + 1  # strictly positive, so a zero can only be fill
    out = translation(x, torch.Generator().manual_seed(0))
    seen = set()
    for i in range(len(x)):
        matches = []
        for dy in range(-2, 3):  # round(16 / 8) = 2
            for dx in range(-2, 3):
                shifted = torch.zeros_like(x[i])
                src = x[i][:, max(0, -dy):16 - max(0, dy), max(0, -dx):16 - max(0, dx)]
                shifted[:, max(0, dy):16 - max(0, -dy), max(0, dx):16 - max(0, -dx)] = src
                if torch.equal(out[i], shifted):
                    matches.append((dy, dx))
        assert len(matches) == 1, f"sample {i} is not a whole-pixel shift within 2 px"
        seen.add(matches[0])
    assert len(seen) > 3  # shifts are drawn per sample


def test_translation_passes_gradients_to_the_pixels_left_in_view():
    x = torch.rand(1, 1, 8, 8, requires_grad=True)
    out = translation(x, torch.Generator().manual_seed(3))
    out.sum().backward()
    assert torch.equal(x.grad.sum(), (out != 0).sum().float())


def test_cutout_zeros_one_square_of_half_the_side():
    x = torch.rand(32, 1, 16, 16) + 1
    out = cutout(x, torch.Generator().manual_seed(0))
    for i in range(len(x)):
        zero = out[i, 0] == 0
        assert torch.equal(out[i, 0][~zero], x[i, 0][~zero])
        rows, cols = zero.any(1).nonzero().view(-1), zero.any(0).nonzero().view(-1)
        assert int(zero.sum()) == len(rows) * len(cols), "the zeroed region is not a rectangle"
        assert len(rows) <= 8 and len(cols) <= 8
        # a square of side 8 centred in the image's range: clipped only where it crosses the border
        if 0 < rows[0] and rows[-1] < 15:
            assert len(rows) == 8
        if 0 < cols[0] and cols[-1] < 15:
            assert len(cols) == 8


def test_color_changes_brightness_saturation_and_contrast_within_the_papers_ranges():
    from ganzoo_plugins.augment.diffaugment import brightness, contrast, saturation

    x = torch.rand(64, 3, 4, 4) * 2 - 1
    shift = brightness(x, torch.Generator().manual_seed(0)) - x
    per_sample = shift.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-6)
    assert per_sample.min() >= -0.5 and per_sample.max() < 0.5 and per_sample.std() > 0.1
    grey = x[:, :1].expand(-1, 3, -1, -1)
    assert torch.allclose(saturation(grey, torch.Generator().manual_seed(0)), grey, atol=1e-6)
    assert not torch.allclose(saturation(x, torch.Generator().manual_seed(0)), x)
    c = contrast(x, torch.Generator().manual_seed(0))
    assert torch.allclose(c.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=1e-5)
    ratio = (c - c.mean((1, 2, 3), keepdim=True)).flatten(1).norm(dim=1) / \
        (x - x.mean((1, 2, 3), keepdim=True)).flatten(1).norm(dim=1)
    assert ratio.min() >= 0.5 - 1e-4 and ratio.max() < 1.5


# -- a couple of training steps --------------------------------------------------------------------------

SMALL = [
    (lambda d: ResNetGenerator(d, latent_dim=8, ngf=4), lambda d: ResNetDiscriminator(d, ndf=4), None),
    (lambda d: BigGANGenerator(d, latent_dim=8, ngf=4, attention=16),
     lambda d: BigGANDiscriminator(d, ndf=4, attention=16), 10),
    (lambda d: StyleGAN2Generator(d, latent_dim=8, w_dim=8, channel_base=256, channel_max=8),
     lambda d: StyleGAN2Discriminator(d, channel_base=256, channel_max=8), None),
    (lambda d: ProGANGenerator(d, latent_dim=8, channel_base=256, channel_max=8),
     lambda d: ProGANDiscriminator(d, channel_base=256, channel_max=8), None),
]


@pytest.mark.parametrize(("gen", "disc", "classes"), SMALL, ids=["resnet", "biggan", "stylegan2", "progan"])
def test_two_hinge_steps_with_r1_train_without_nan(gen, disc, classes):
    torch.manual_seed(0)
    data = image(32, classes=classes)
    g, d = gen(data), disc(data)
    opt_g, opt_d = (torch.optim.Adam(m.parameters(), 1e-3, betas=(0.0, 0.99)) for m in (g, d))
    real = torch.rand(8, 3, 32, 32) * 2 - 1
    labels = torch.arange(8) % 10 if classes else None
    before = [p.detach().clone() for p in g.parameters()]
    for step in range(2):
        for model in (g, d):
            if hasattr(model, "on_progress"):
                model.on_progress(step, 2)
        x = real.clone().requires_grad_(True)
        d_real = d(x, labels)
        # R1 differentiates D's input gradient once more: no in-place op may break double backward
        (grad,) = torch.autograd.grad(d_real.sum(), x, create_graph=True)
        d_loss = F.relu(1 - d_real).mean() + F.relu(1 + d(g(torch.randn(8, 8), labels).detach(), labels)).mean() \
            + grad.square().sum((1, 2, 3)).mean()
        opt_d.zero_grad(), d_loss.backward(), opt_d.step()
        g_loss = -d(g(torch.randn(8, 8), labels), labels).mean()
        opt_g.zero_grad(), g_loss.backward(), opt_g.step()
        assert torch.isfinite(d_loss) and torch.isfinite(g_loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters()))


def test_progan_compiles_once_per_resolution_not_once_per_fade_step():
    # alpha is a tensor, so torch.compile does not specialise on it; only the level (an int) changes the graph
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    counter = CompileCounter()
    g, _ = small_progan()
    compiled = torch.compile(g, backend=counter)
    z = torch.randn(2, 8)
    for step in range(0, 700, 25):
        g.on_progress(step, 700)
        compiled(z)
    assert counter.frame_count == g.levels


@pytest.mark.parametrize(("gen", "disc", "classes"), SMALL, ids=["resnet", "biggan", "stylegan2", "progan"])
def test_runs_under_bf16_autocast_mid_fade_and_truncated(gen, disc, classes):
    # --bf16 runs the models under autocast: buffers (w_avg, alpha) must meet bf16 activations
    from ganzoo_plugins.augment.diffaugment import diff_augment

    torch.manual_seed(0)
    data = image(32, classes=classes)
    g, d = gen(data), disc(data)
    for model in (g, d):
        if hasattr(model, "set_growth"):
            model.set_growth(2, 0.3)
    labels = torch.arange(4) % 10 if classes else None
    extra = {"truncation_psi": 0.7} if isinstance(g, StyleGAN2Generator) else {}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x = g(torch.randn(4, 8), labels, **extra)
        score = d(diff_augment(x), labels)
    score.float().sum().backward()
    assert torch.isfinite(score.float()).all() and score.shape == (4,)
