"""Wiring: what the SNGAN and BigGAN recipes claim, checked in the models they build and the steps they train,
not only in the functions they call.

- SNGAN (Miyato et al. 2018, section 2.1; pfnet-research/sngan_projection dis_models/resblocks.py uses
  SNConvolution2D / SNLinear for every layer of D): spectral normalization on every conv and linear of D.
- BigGAN (Brock et al. 2019; ajbrock/BigGAN-PyTorch @9845943): the shared class embedding feeds every
  conditional BatchNorm (BigGAN.py:149-150, G.shared), the hierarchical latent gives one chunk of z per block
  joined with it (BigGAN.py:231-236, ``ys = [torch.cat([y, item], 1) for item in zs[1:]]``), and the
  orthogonal regularization acts on G's weights but the shared embedding (train_fns.py:75-80, utils.ortho with
  ``blacklist=G.shared``) with β = 1e-4 (section 3.1).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganzoo.components.build import build_discriminator
from ganzoo.components.nn import orthogonal_regularization, orthogonal_weights
from ganzoo.plugin.manager import get_registry
from ganzoo.base.specs import DataInfo

MNIST32 = DataInfo((1, 32, 32), num_classes=10, size=1000, modality="image")


def recipe(name: str) -> dict:
    return get_registry().recipe(name).config


def params(table: dict) -> dict:
    return {k: v for k, v in table.items() if k != "name"}


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every layer with a weight matrix or kernel: what spectral normalization is about (not norms' gains)."""
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding))]


def spectral(m: nn.Module) -> bool:
    return parametrize.is_parametrized(m, "weight") and any(
        type(p).__name__ == "_SpectralNorm" for p in m.parametrizations["weight"])


# -- SNGAN: every layer of D ------------------------------------------------------------------------

@pytest.mark.parametrize("name, disc_name", [("sngan-mnist", "resnet"), ("biggan-mnist", "biggan")])
def test_every_layer_of_the_recipes_discriminator_is_spectrally_normalized(name, disc_name):
    cfg = recipe(name)
    assert cfg["disc"]["name"] == disc_name
    torch.manual_seed(0)
    D = build_discriminator(disc_name, MNIST32, params=params(cfg["disc"]))
    layers = weighted_layers(D)
    assert len(layers) >= 8  # the blocks' convolutions, shortcuts and the final linear at least
    plain = [n for n, m in layers if not spectral(m)]
    assert not plain, f"layers without spectral normalization: {plain}"
    # and it does what it says: after enough power iterations, every weight's largest singular value is 1
    D.train()
    x, y = torch.randn(4, *MNIST32.shape), torch.randint(0, 10, (4,))
    with torch.no_grad():
        for _ in range(40):
            D(x, y) if disc_name == "biggan" else D(x)
    for n, m in layers:
        w = m.weight.detach()
        sigma = torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=0.05), n


def test_sngan_generator_is_not_spectrally_normalized():
    # the paper normalizes D only (section 4: "we applied spectral normalization to the discriminator")
    from ganzoo.components.build import build_generator

    cfg = recipe("sngan-mnist")
    G = build_generator("resnet", MNIST32, 128, params(cfg["gen"]))
    assert not any(spectral(m) for _, m in weighted_layers(G))


# -- BigGAN: shared embedding, hierarchical z, orthogonal regularization in the recipe's step ----------

@pytest.fixture
def biggan_g():
    from ganzoo.components.build import build_generator

    torch.manual_seed(0)
    return build_generator("biggan", MNIST32, 128, params(recipe("biggan-mnist")["gen"]))


def test_biggan_every_conditional_batchnorm_reads_the_one_shared_embedding_and_its_own_chunk_of_z(biggan_g):
    from ganzoo_plugins.biggan.models import ConditionalBatchNorm2d

    G = biggan_g.eval()
    norms = [m for m in G.modules() if isinstance(m, ConditionalBatchNorm2d)]
    embeddings = [m for m in G.modules() if isinstance(m, nn.Embedding)]
    assert len(embeddings) == 1 and len(norms) == 2 * len(G.blocks)  # one table, two CBNs per block
    seen: dict[int, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda mod, args, out, i=i: seen.__setitem__(i, args[1].detach()))
             for i, m in enumerate(norms)]
    linear_in: list[torch.Tensor] = []
    hooks.append(G.linear.register_forward_hook(lambda mod, args, out: linear_in.append(args[0].detach())))
    z, labels = torch.randn(5, 128), torch.tensor([0, 3, 3, 7, 9])
    with torch.no_grad():
        G(z, labels)
    for h in hooks:
        h.remove()
    shared = G.shared(labels).detach()
    chunks = z.split(G.chunks, 1)
    assert len(chunks) == len(G.blocks) + 1 and len(set(G.chunks)) == 1  # 128 = 4 equal chunks at 32 px
    assert torch.equal(linear_in[0], chunks[0])  # the first chunk makes the 4x4 map
    for i, y in seen.items():
        block = i // 2
        assert torch.equal(y[:, :shared.shape[1]], shared)  # the shared class embedding, in every CBN
        assert torch.equal(y[:, shared.shape[1]:], chunks[block + 1])  # and that block's own chunk of z


def test_biggan_recipe_trains_g_with_the_orthogonal_regularization_of_its_weights_but_the_embedding():
    cfg = recipe("biggan-mnist")
    assert cfg["loss"]["name"] == "hinge+1e-4*ortho"  # β = 1e-4, the paper's
    tiny = {"gen": {"name": "biggan", "ngf": 2, "shared_dim": 8}, "disc": {"name": "biggan", "ndf": 2},
            "loss": cfg["loss"], "dataset": {"name": "mnist-10k", "split": "heldout", "image_size": 32},
            "train": {"steps": 1, "batch_size": 8, "latent_dim": 16, "device": "cpu", "log_every": 1, "seed": 0},
            "out": "run"}
    from ganzoo.components.losses import CompositeLoss
    from ganzoo.training.trainer import Trainer

    trainer = Trainer(tiny, progress="quiet")
    before: dict[str, nn.Module] = {}
    trainer.before_step = lambda step: before.setdefault("G", copy.deepcopy(trainer.parts.algorithm.modules["generator"]))
    parts: list[tuple[dict, torch.Tensor]] = []
    real = CompositeLoss.g_loss

    def recording(self, inputs):
        total, p = real(self, inputs)
        parts.append((p, total.detach()))
        return total, p

    CompositeLoss.g_loss = recording  # type: ignore[method-assign]
    try:
        trainer.fit()
    finally:
        CompositeLoss.g_loss = real  # type: ignore[method-assign]
    (p, total), = parts
    G = before["G"]
    with torch.no_grad():
        expected = orthogonal_regularization(orthogonal_weights(G))
        with_embedding = orthogonal_regularization([w for w in G.parameters() if w.ndim >= 2])
    assert p["ortho"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert abs(with_embedding.item() - expected.item()) > 1e-3 * expected.item()  # the embedding is left out
    assert total.item() == pytest.approx(p["hinge"].item() + 1e-4 * p["ortho"].item(), rel=1e-5)
