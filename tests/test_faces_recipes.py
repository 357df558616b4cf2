"""The 64 px face recipes train on a folder of the user's images; without --data-root they say what to get."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ganzoo
from conftest import run_cli

# narrower than the recipes (the papers' widths take minutes per step on a CI core); everything else theirs
NARROW = {"dcgan-faces64": ({"ngf": 8}, {"ndf": 8}),
          "stylegan2-faces64": ({"w_dim": 32, "channel_base": 512, "channel_max": 16}, {"channel_base": 512,
                                                                                       "channel_max": 16})}


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """A small folder of generated pictures of mixed sizes, as a user's own photos would be."""
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    for i in range(12):
        h, w = (80, 72) if i % 2 else (64, 96)
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(root / f"face-{i}.png")
    return root


@pytest.mark.parametrize("recipe", sorted(NARROW))
def test_without_a_data_root_the_recipe_says_what_to_download(recipe, tmp_path):
    proc = run_cli("run", recipe, "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "--data-root" in proc.stderr and "CelebA" in proc.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("recipe", sorted(NARROW))
def test_the_recipe_trains_on_a_folder_of_images_at_64px(recipe, faces, tmp_path):
    gen, disc = NARROW[recipe]
    run = ganzoo.train(recipe, steps=2, batch_size=4, out=tmp_path / "r", progress="quiet", gen=gen, disc=disc,
                       dataset={"root": str(faces)})
    G = run.generator()
    assert G.data.shape == (3, 64, 64) and G.config.recipe == recipe
    assert G.config.dataset["name"] == "folder" and G.config.loss["name"] == ganzoo.get_registry().recipe(
        recipe).config["loss"]["name"]
    grid = Image.open(run.path / "samples" / "epoch-001.png")
    assert grid.mode == "RGB" and grid.width > 64
