"""A seed reproduces a sample even when the generator draws noise of its own (StyleGAN2's per-pixel noise):
`ganzoo sample NAME --seed S`, `ganzoo.load(NAME).sample(seed=S)`, the explorer's "reproduce with --seed" and
`ganzoo eval` give the same images for the same seed, and the global random state is left as it was."""

from __future__ import annotations

import torch

import ganzoo
from ganzoo.evaluation.runs import sample_generator


def test_the_same_seed_draws_the_same_stylegan2_samples_and_the_global_rng_is_untouched():
    G = ganzoo.load("stylegan2-mnist")
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = G.sample(4, seed=3), G.sample(4, seed=3)
    assert torch.equal(a, b)
    assert not torch.equal(a, G.sample(4, seed=4))
    assert torch.equal(torch.random.get_rng_state(), before)


def test_evaluation_samples_are_a_function_of_the_seed():
    G = ganzoo.load("stylegan2-mnist")
    x1, _ = sample_generator(G.model, 8, None, False, 0, G.latent_dim)
    torch.rand(5)  # whatever the global stream did in between
    x2, _ = sample_generator(G.model, 8, None, False, 0, G.latent_dim)
    assert torch.equal(x1, x2)
