"""Translation datasets: mnist-edges, mnist-strokes and pix2pix / CycleGAN folders, offline."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.components.build import build_dataset
from ganzoo.base.errors import DataError, UsageError
from ganzoo_plugins.datasets.mnist import SPLIT, MNIST10k, read_shipped
from ganzoo_plugins.datasets.splits import take
from ganzoo_plugins.translation import DATASETS
from ganzoo_plugins.translation import data as data_mod
from ganzoo_plugins.translation.data import (
    MNISTEdges,
    MNISTStrokes,
    PairedFolder,
    UnpairedFolder,
    thick_strokes,
    thin_strokes,
)

CROSS = torch.tensor([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=torch.float32).view(1, 1, 3, 3)


@pytest.fixture(scope="module")
def edges() -> MNISTEdges:
    return MNISTEdges(split="heldout")


@pytest.fixture(scope="module")
def strokes() -> MNISTStrokes:
    return MNISTStrokes(split="heldout")


@pytest.fixture
def warnings_seen(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(data_mod, "warn", seen.append)
    return seen


# -- registration ----------------------------------------------------------------------------------
def test_datasets_are_registered_with_help():
    registry = ganzoo.get_registry()
    assert set(DATASETS) == {"mnist-edges", "mnist-strokes", "paired-folder", "unpaired-folder"}
    for name in DATASETS:
        spec = registry.get("dataset", name)
        assert spec.doc and spec.summary and spec.plugin.name == "translation"
        assert "split" in {p.name for p in spec.params}


def test_mnist_sets_build_through_ganzoo_and_pass_the_contract():
    # build_dataset checks info and tensors against ganzoo's Dataset contract
    assert build_dataset("mnist-edges", {"split": "heldout", "image_size": 16}).info.shape == (1, 16, 16)
    assert build_dataset("mnist-strokes", {"split": "heldout", "image_size": 16}).info.size == 1000


def test_registration_module_does_not_import_torch():
    code = ("import sys, ganzoo_plugins.translation; "
            "bad = [m for m in ('torch', 'torchvision', 'numpy') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_mnist_data_is_credited():
    for cls in (MNISTEdges, MNISTStrokes):
        assert "Yann LeCun, Corinna Cortes and Christopher J. C. Burges" in " ".join(cls.__doc__.split())


# -- mnist-edges -----------------------------------------------------------------------------------
def test_edges_targets_are_mnist10k_digits_with_their_labels(edges):
    digits, labels = MNIST10k(image_size=32, split="heldout").tensors()
    pairs = edges.pairs()
    assert pairs.a.shape == pairs.b.shape == (2000, 1, 32, 32) and pairs.a.dtype == torch.uint8
    assert torch.equal(pairs.b, digits) and torch.equal(pairs.labels, labels)
    x, y = edges.tensors()
    assert torch.equal(x, digits) and torch.equal(y, labels)
    assert edges.info.num_classes == 10 and edges.info.split == "heldout"


def test_edges_are_the_one_pixel_outline_of_their_own_digit(edges):
    pairs = edges.pairs()
    ink = (pairs.b >= 128).float()
    # the outline by another route: background pixels with an ink pixel among their four neighbours
    touches_ink = F.conv2d(ink, CROSS, padding=1) > 0
    expected = touches_ink & (ink == 0)
    outline = pairs.a == 255
    assert set(pairs.a.unique().tolist()) == {0, 255}
    assert torch.equal(outline, expected)  # aligned with its own digit, and thin: never off the contour
    assert not (outline & (ink > 0)).any()
    # thin: an outline has about as many pixels as the contour, far fewer than the image
    assert outline.float().mean() < 0.25


def test_edges_direction_swaps_and_parts_partition():
    small = {s: MNISTEdges(image_size=8, split=s) for s in ("train", "heldout", "all")}
    assert [len(small[s]) for s in ("train", "heldout", "all")] == [8000, 2000, 10000]
    flipped = MNISTEdges(image_size=8, split="heldout", direction="BtoA").pairs()
    assert torch.equal(flipped.a, small["heldout"].pairs().b) and torch.equal(flipped.b, small["heldout"].pairs().a)
    with pytest.raises(UsageError, match="AtoB or BtoA"):
        MNISTEdges(direction="sideways")
    with pytest.raises(UsageError, match="split"):
        MNISTEdges(split="test")


# -- mnist-strokes ---------------------------------------------------------------------------------
def test_strokes_halves_are_disjoint_stratified_and_keep_labels(strokes):
    x, y = read_shipped()
    held = take("heldout", len(x), y, SPLIT)
    x, y = x[held], y[held]
    doms = strokes.domains()
    # recover which digit each image was made from: the morphology is deterministic per image
    thin_all, thick_all = thin_strokes(x, 32), thick_strokes(x, 32)

    def sources(images, candidates):
        flat = candidates.flatten(1)
        found = []
        for img in images.flatten(1):
            match = (flat == img).all(1).nonzero().flatten()
            assert len(match) >= 1
            found.append(int(match[0]))
        return found

    src_a, src_b = sources(doms.a, thin_all), sources(doms.b, thick_all)
    assert len(set(src_a)) == len(src_a) == 1000 and len(set(src_b)) == len(src_b) == 1000
    assert not set(src_a) & set(src_b)  # no digit is in both domains: no pairs exist
    assert torch.equal(doms.labels_a, y[src_a]) and torch.equal(doms.labels_b, y[src_b])
    per_digit_a, per_digit_b = Counter(doms.labels_a.tolist()), Counter(doms.labels_b.tolist())
    assert all(abs(per_digit_a[d] - per_digit_b[d]) <= 1 for d in range(10))
    tx, ty = strokes.tensors()
    assert torch.equal(tx, doms.b) and torch.equal(ty, doms.labels_b)


def test_strokes_are_thinner_and_thicker_than_the_digit(strokes):
    x, _ = read_shipped()
    x = x[:500]
    plain = (data_mod.resize_center_crop(x, 32) >= 128).flatten(1).sum(1).float()
    thin = (thin_strokes(x, 32) >= 128).flatten(1).sum(1).float()
    thick = (thick_strokes(x, 32) >= 128).flatten(1).sum(1).float()
    assert (thin < plain).float().mean() > 0.95 and (thick > plain).float().mean() > 0.99
    assert thick.mean() > 1.5 * plain.mean() and thin.mean() < 0.8 * plain.mean()
    # brightness does not tell the domains apart: both reach full white
    doms = strokes.domains()
    peak_a, peak_b = doms.a.flatten(1).amax(1).float(), doms.b.flatten(1).amax(1).float()
    assert abs(peak_a.mean() - peak_b.mean()) < 3


# -- folders ---------------------------------------------------------------------------------------
RED, BLUE, GREY = (255, 0, 0), (0, 0, 255), 128


def png(path: Path, size: tuple[int, int], left, right=None, mode: str = "RGB") -> Path:
    """A w x h image whose left half is ``left`` and right half ``right``."""
    from PIL import Image

    w, h = size
    img = Image.new(mode, (w, h), left)
    if right is not None:
        img.paste(Image.new(mode, (w - w // 2, h), right), (w // 2, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def paired_root(tmp_path: Path, n_train: int = 3) -> Path:
    for i in range(n_train):
        png(tmp_path / "train" / f"{i}.png", (16, 8), RED, BLUE)
    png(tmp_path / "test" / "0.png", (16, 8), BLUE, RED)
    return tmp_path


def test_paired_folder_cuts_a_b_and_follows_direction(tmp_path, warnings_seen):
    root = paired_root(tmp_path)
    ds = PairedFolder(str(root), image_size=None)
    pairs = ds.pairs()
    assert pairs.a.shape == pairs.b.shape == (3, 3, 8, 8) and pairs.labels is None
    assert (pairs.a[:, 0] == 255).all() and (pairs.a[:, 2] == 0).all()  # left half red
    assert (pairs.b[:, 2] == 255).all() and (pairs.b[:, 0] == 0).all()  # right half blue
    assert torch.equal(ds.tensors()[0], pairs.b) and ds.info.shape == (3, 8, 8)
    back = PairedFolder(str(root), image_size=None, direction="BtoA").pairs()
    assert torch.equal(back.a, pairs.b) and torch.equal(back.b, pairs.a)
    held = PairedFolder(str(root), split="heldout", image_size=4).pairs()
    assert held.a.shape == (1, 3, 4, 4) and (held.a[:, 2] == 255).all()
    assert len(PairedFolder(str(root), split="all", image_size=None)) == 4
    assert warnings_seen == []


def test_paired_folder_heldout_falls_back_to_val(tmp_path):
    png(tmp_path / "train" / "0.png", (16, 8), RED, BLUE)
    png(tmp_path / "val" / "0.png", (16, 8), BLUE, RED)
    assert len(PairedFolder(str(tmp_path), split="heldout", image_size=None)) == 1


def test_paired_folder_skips_odd_widths_and_junk_once(tmp_path, warnings_seen):
    root = paired_root(tmp_path)
    png(root / "train" / "odd.png", (15, 8), RED, BLUE)
    (root / "train" / "notes.txt").write_text("not an image")
    (root / "train" / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "train" / ".DS_Store").write_bytes(b"litter")
    ds = PairedFolder(str(root), image_size=None)
    assert len(ds) == 3
    assert len(warnings_seen) == 1
    msg = warnings_seen[0]
    assert "skipped 3 files" in msg and "odd width" in msg and "not images" in msg and "unreadable" in msg


def test_paired_folder_mixed_sizes_need_image_size(tmp_path):
    root = paired_root(tmp_path)
    png(root / "train" / "big.png", (32, 16), RED, BLUE)
    with pytest.raises(DataError, match=r"different sizes.*big\.png is 16x16") as err:
        PairedFolder(str(root), image_size=None)
    assert "image_size" in err.value.hint and "\n" not in str(err.value)
    assert PairedFolder(str(root), image_size=8).pairs().a.shape == (4, 3, 8, 8)


def test_paired_folder_mixed_grey_and_rgb_is_converted_and_said(tmp_path, warnings_seen):
    root = paired_root(tmp_path)
    png(root / "train" / "grey.png", (16, 8), GREY, 200, mode="L")
    ds = PairedFolder(str(root), image_size=None)
    assert ds.pairs().a.shape == (4, 3, 8, 8)
    assert (ds.pairs().a[3] == GREY).all()
    assert len(warnings_seen) == 1 and "converted 1 greyscale" in warnings_seen[0]
    grey = PairedFolder(str(root), image_size=None, channels=1)
    assert grey.pairs().a.shape == (4, 1, 8, 8)


@pytest.mark.parametrize("setup, match", [
    (lambda root: None, "no train/ folder"),
    (lambda root: (root / "train").mkdir(), "no usable A|B images"),
    (lambda root: png(root / "train" / "odd.png", (15, 8), RED, BLUE), "no usable A|B images"),
    (lambda root: (root / "train").mkdir() or (root / "train" / "a.txt").write_text("x"), "no usable A|B images"),
])
def test_paired_folder_without_usable_images_is_a_data_error(tmp_path, setup, match, warnings_seen):
    setup(tmp_path)
    with pytest.raises(DataError, match=match):
        PairedFolder(str(tmp_path))


def test_folder_arguments_are_checked(tmp_path):
    with pytest.raises(DataError, match="needs --data-root"):
        PairedFolder()
    with pytest.raises(DataError, match="not a directory"):
        UnpairedFolder(str(tmp_path / "nowhere"))
    png(tmp_path / "p" / "train" / "0.png", (16, 8), RED, BLUE)
    with pytest.raises(DataError, match="no test/ or val/"):
        PairedFolder(str(tmp_path / "p"), split="heldout")
    with pytest.raises(UsageError, match="channels"):
        PairedFolder(str(tmp_path), channels=4)
    with pytest.raises(DataError, match="max_images=2"):
        PairedFolder(str(paired_root(tmp_path / "q")), max_images=2)


def unpaired_root(tmp_path: Path) -> Path:
    for i in range(3):
        png(tmp_path / "trainA" / f"{i}.png", (8, 8), RED)
    for i in range(2):
        png(tmp_path / "trainB" / f"{i}.jpg", (8, 8), BLUE)
    png(tmp_path / "testA" / "0.png", (8, 8), RED)
    png(tmp_path / "testB" / "0.png", (8, 8), BLUE)
    return tmp_path


def test_unpaired_folder_domains_and_parts(tmp_path, warnings_seen):
    root = unpaired_root(tmp_path)
    ds = UnpairedFolder(str(root), image_size=None)
    doms = ds.domains()
    assert doms.a.shape == (3, 3, 8, 8) and doms.b.shape == (2, 3, 8, 8)
    assert (doms.a[:, 0] == 255).all() and (doms.b[:, 2] > 250).all()
    assert torch.equal(ds.tensors()[0], doms.b) and ds.info.size == 2
    swapped = UnpairedFolder(str(root), image_size=None, direction="BtoA").domains()
    assert torch.equal(swapped.a, doms.b) and torch.equal(swapped.b, doms.a)
    held = UnpairedFolder(str(root), split="heldout", image_size=4).domains()
    assert held.a.shape == held.b.shape == (1, 3, 4, 4)
    everything = UnpairedFolder(str(root), split="all", image_size=None).domains()
    assert len(everything.a) == 4 and len(everything.b) == 3
    assert warnings_seen == []


def test_unpaired_folder_empty_or_missing_domain_is_a_data_error(tmp_path, warnings_seen):
    root = unpaired_root(tmp_path)
    for f in (root / "trainB").iterdir():
        f.unlink()
    (root / "trainB" / "readme.md").write_text("nothing here")
    with pytest.raises(DataError, match="domain B is empty") as err:
        UnpairedFolder(str(root))
    assert "\n" not in str(err.value)
    assert len(warnings_seen) == 1 and "skipped 1" in warnings_seen[0]
    (root / "testA" / "0.png").unlink()
    (root / "testA").rmdir()
    with pytest.raises(DataError, match="no testA/ folder for split=heldout"):
        UnpairedFolder(str(root), split="heldout")


def test_unpaired_folder_domains_of_different_sizes(tmp_path):
    root = unpaired_root(tmp_path)
    png(root / "trainB" / "0.jpg", (16, 16), BLUE)
    png(root / "trainB" / "1.jpg", (16, 16), BLUE)
    with pytest.raises(DataError, match="domain A's images are 8x8 and domain B's 16x16"):
        UnpairedFolder(str(root), image_size=None)
    assert UnpairedFolder(str(root), image_size=8).domains().b.shape == (2, 3, 8, 8)


def test_folder_pixels_survive_unchanged(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(8, 16, 3), dtype=np.uint8)
    from PIL import Image

    (tmp_path / "train").mkdir()
    Image.fromarray(arr).save(tmp_path / "train" / "0.png")
    pairs = PairedFolder(str(tmp_path), image_size=None).pairs()
    assert torch.equal(pairs.a[0], torch.from_numpy(arr[:, :8]).permute(2, 0, 1))
    assert torch.equal(pairs.b[0], torch.from_numpy(arr[:, 8:]).permute(2, 0, 1))
