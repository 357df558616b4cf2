"""The built-in datasets, offline: every fixture is written in its real format under tmp_path."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import ganzoo
from ganzoo.components.build import build_dataset
from ganzoo.base.errors import DataError, UsageError
from ganzoo_plugins.datasets import DATASETS, folder as folder_mod
from ganzoo_plugins.datasets.folder import ImageFolder
from ganzoo_plugins.datasets.gaussians import Gaussians, mode_coverage
from ganzoo_plugins.datasets.idx import IMAGES, LABELS, read_idx
from ganzoo_plugins.datasets.mnist import DATA, MNIST10k
from ganzoo_plugins.datasets.cifar import CIFAR10
from ganzoo_plugins.datasets.torchvision_sets import MNIST, FashionMNIST

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# -- fixtures in the real formats ------------------------------------------------

def write_idx(path: Path, arr: np.ndarray, gz: bool = True, magic: int | None = None) -> Path:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    magic = magic if magic is not None else 0x800 + arr.ndim
    raw = struct.pack(">i", magic) + struct.pack(f">{arr.ndim}i", *arr.shape) + arr.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def write_mnist_raw(root: Path, folder: str, n: int = 12, gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    raw = root / folder / "raw"
    write_idx(raw / "train-images-idx3-ubyte", x, gz)
    write_idx(raw / "train-labels-idx1-ubyte", y, gz)
    return x, y


def write_cifar(root: Path, per_batch: int = 2) -> np.ndarray:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(5 * per_batch, 3 * 32 * 32), dtype=np.uint8)
    for i in range(5):
        rows = data[i * per_batch:(i + 1) * per_batch]
        batch = {"batch_label": f"training batch {i + 1} of 5", "data": rows,
                 "labels": [(i * per_batch + j) % 10 for j in range(per_batch)],
                 "filenames": [f"img{j}.png" for j in range(per_batch)]}
        (folder / f"data_batch_{i + 1}").write_bytes(pickle.dumps(batch, protocol=2))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names, "num_vis": 3072}, protocol=2))
    return data


def write_image(path: Path, size: tuple[int, int] = (40, 30), color=(200, 30, 30), mode: str = "RGB") -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path


@pytest.fixture
def offline(monkeypatch):
    """No network: every urlopen raises URLError at once (and is counted)."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return calls


@pytest.fixture
def warnings_seen(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(folder_mod, "warn", seen.append)
    return seen


# -- mnist-10k (shipped) -------------------------------------------------------

def test_mnist10k_is_the_real_test_split():
    ds = MNIST10k(split="all")
    x, y = ds.tensors()
    assert x.dtype == torch.uint8 and tuple(x.shape) == (10000, 1, 28, 28)
    assert y.dtype == torch.int64 and torch.bincount(y).tolist() == MNIST_TEST_COUNTS
    assert ds.info.shape == (1, 28, 28) and ds.info.size == 10000 and ds.info.num_classes == 10
    assert ds.info.class_names == tuple("0123456789") and not ds.streaming


def test_mnist10k_shipped_files_are_the_originals():
    with gzip.open(DATA / "t10k-images-idx3-ubyte.gz", "rb") as fh:
        assert hashlib.md5(fh.read()).hexdigest() == "2646ac647ad5339dbf082846283269ea"
    assert "LeCun" in (DATA / "README.md").read_text()


def test_mnist10k_resizes():
    ds = MNIST10k(image_size=32)
    x, _ = ds.tensors()
    assert tuple(x.shape) == (8000, 1, 32, 32) and x.dtype == torch.uint8 and ds.info.shape == (1, 32, 32)


# -- the IDX reader --------------------------------------------------------------

def test_idx_reader_plain_and_gzip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for gz in (False, True):
        path = write_idx(tmp_path / f"a{gz}-idx3-ubyte", arr, gz)
        assert np.array_equal(read_idx(path, IMAGES), arr)


@pytest.mark.parametrize("damage", ["magic", "truncated", "gzip"])
def test_idx_reader_rejects_corrupt_files(tmp_path, damage):
    arr = np.zeros((3, 28, 28), np.uint8)
    if damage == "magic":
        path = write_idx(tmp_path / "x", arr, magic=LABELS)
    elif damage == "truncated":
        path = write_idx(tmp_path / "x", arr, gz=False)
        path.write_bytes(path.read_bytes()[:-10])
    else:
        path = tmp_path / "x.gz"
        path.write_bytes(gzip.compress(b"\0\0\x08\x03" * 100)[:30])
    with pytest.raises(DataError) as err:
        read_idx(path, IMAGES)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    if damage == "magic":
        assert "2049" in str(err.value) and "2051" in str(err.value)


# -- mnist, fashion-mnist, cifar10 from files on disk ------------------------------

def test_mnist_from_torchvision_layout(tmp_path, offline):
    x, y = write_mnist_raw(tmp_path, "MNIST")
    ds = MNIST(root=str(tmp_path))
    tx, ty = ds.tensors()
    assert torch.equal(tx, torch.from_numpy(x).unsqueeze(1)) and ty.tolist() == y.tolist()
    assert ds.info.size == 12 and ds.info.class_names == tuple("0123456789")
    assert offline == []  # files present: no download attempted


def test_fashion_mnist_unpacked_files_and_resize(tmp_path, offline):
    write_mnist_raw(tmp_path, "FashionMNIST", n=10, gz=False)
    ds = FashionMNIST(root=str(tmp_path), image_size=32)
    assert tuple(ds.tensors()[0].shape) == (10, 1, 32, 32)
    assert ds.info.num_classes == 10 and ds.info.class_names[0] == "T-shirt/top"
    assert offline == []


def test_cifar10_reads_batches_without_checksums(tmp_path, offline):
    data = write_cifar(tmp_path)
    ds = CIFAR10(root=str(tmp_path))
    x, y = ds.tensors()
    assert tuple(x.shape) == (10, 3, 32, 32) and x.dtype == torch.uint8
    # the batches store each image as 1024 red, then green, then blue values
    assert torch.equal(x[3, 1].flatten(), torch.from_numpy(data[3, 1024:2048]))
    assert y.tolist() == [i % 10 for i in range(10)]
    assert ds.info.class_names[0] == "airplane" and ds.info.size == 10
    assert tuple(CIFAR10(root=str(tmp_path / "cifar-10-batches-py"), image_size=16).tensors()[0].shape) == (10, 3, 16, 16)
    assert offline == []


def test_cifar10_refuses_pickles_that_name_other_code(tmp_path):
    write_cifar(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [0], "x": Counter()}))
    with pytest.raises(DataError, match="data_batch_3"):
        CIFAR10(root=str(tmp_path))


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST, CIFAR10])
def test_offline_without_files_says_what_to_do(tmp_path, monkeypatch, offline, cls):
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path / "cache"))
    with pytest.raises(DataError) as err:
        cls()
    message = str(err.value)
    assert offline, "a download should have been tried"
    assert "mnist-10k" in message and "--data-root" in message and "\n" not in message
    assert str(tmp_path / "cache") in message


def test_no_download_when_switched_off(tmp_path, offline):
    with pytest.raises(DataError, match="mnist-10k"):
        MNIST(root=str(tmp_path), download=False)
    assert offline == []


# -- folder --------------------------------------------------------------------

def test_folder_labels_from_subfolders_and_skips_junk(tmp_path, warnings_seen):
    for i in range(3):
        write_image(tmp_path / "cats" / f"{i}.png", color=(250, 0, 0))
        write_image(tmp_path / "dogs" / f"{i}.JPG", color=(0, 0, 250))
    (tmp_path / "dogs" / "broken.png").write_bytes(b"this is not a png")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    ds = ImageFolder(root=str(tmp_path), image_size=16, split="all")
    x, y = ds.tensors()
    assert tuple(x.shape) == (6, 3, 16, 16) and x.dtype == torch.uint8
    assert ds.info.class_names == ("cats", "dogs") and ds.info.num_classes == 2 and ds.info.size == 6
    assert y.tolist() == [0, 0, 0, 1, 1, 1]
    assert x[0, 0].float().mean() > 240 and x[3, 2].float().mean() > 200
    assert len(warnings_seen) == 1 and "skipped 2" in warnings_seen[0] and str(tmp_path) in warnings_seen[0]


def test_folder_flat_is_unlabelled_and_greyscale(tmp_path, warnings_seen):
    for i in range(4):
        write_image(tmp_path / f"face{i}.webp" if i % 2 else tmp_path / f"face{i}.bmp")
    ds = ImageFolder(root=str(tmp_path), image_size=8, channels=1, split="all")
    x, y = ds.tensors()
    assert tuple(x.shape) == (4, 1, 8, 8) and y is None
    assert ds.info.num_classes is None and ds.info.class_names is None and ds.info.shape == (1, 8, 8)
    assert warnings_seen == []


def test_folder_one_subfolder_is_unlabelled(tmp_path):
    for i in range(2):
        write_image(tmp_path / "img_align_celeba" / f"{i:06d}.jpg")
    assert ImageFolder(root=str(tmp_path), image_size=8).info.num_classes is None


def test_folder_centre_crops_non_square_images(tmp_path):
    from PIL import Image

    img = Image.new("RGB", (60, 20), (255, 0, 0))  # red | green | blue thirds
    img.paste((0, 255, 0), (20, 0, 40, 20))
    img.paste((0, 0, 255), (40, 0, 60, 20))
    img.save(tmp_path / "wide.png")
    x, _ = ImageFolder(root=str(tmp_path), image_size=10, split="all").tensors()
    assert tuple(x.shape) == (1, 3, 10, 10)
    assert x[0, 1].min() == 255 and x[0, 0].max() == 0 and x[0, 2].max() == 0


@pytest.mark.parametrize("setup", ["missing", "none", "file", "empty", "junk-only"])
def test_folder_without_images_is_a_data_error(tmp_path, setup, warnings_seen):
    root = tmp_path / "data"
    if setup == "file":
        root.write_text("x")
    elif setup in ("empty", "junk-only"):
        root.mkdir()
        if setup == "junk-only":
            (root / "bad.png").write_bytes(b"nope")
    with pytest.raises(DataError) as err:
        ImageFolder(root=None if setup == "none" else str(root))
    assert "--data-root" in str(err.value) or str(root) in str(err.value)


def test_folder_rejects_bad_channels(tmp_path):
    with pytest.raises(UsageError):
        ImageFolder(root=str(tmp_path), channels=4)


def test_folder_streaming_with_a_dataloader(tmp_path, warnings_seen):
    for i in range(3):
        write_image(tmp_path / "a" / f"{i}.png", size=(24, 32))
        write_image(tmp_path / "b" / f"{i}.png", size=(24, 32), color=(10, 10, 10))
    (tmp_path / "b" / "broken.png").write_bytes(b"garbage")
    ds = ImageFolder(root=str(tmp_path), image_size=16, in_memory_max=0, split="all")
    assert ds.streaming and ds.info.size == 6 and ds.info.num_classes == 2
    assert len(warnings_seen) == 1 and "skipped 1" in warnings_seen[0]
    items = ds.torch_dataset()
    pickle.loads(pickle.dumps(items))  # DataLoader workers may need to pickle it
    loader = torch.utils.data.DataLoader(items, batch_size=4, num_workers=1)
    batches = list(loader)
    x = torch.cat([b[0] for b in batches])
    labels = torch.cat([b[1] for b in batches])
    assert tuple(x.shape) == (6, 3, 16, 16) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and labels.tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(DataError, match="in_memory_max"):
        ds.tensors()


def test_folder_truncated_image(tmp_path, warnings_seen):
    from PIL import Image

    good = write_image(tmp_path / "a.png", size=(32, 32))
    Image.effect_noise((64, 64), 50).save(tmp_path / "b.png")
    (tmp_path / "b.png").write_bytes((tmp_path / "b.png").read_bytes()[:200])  # header intact, data cut
    assert good.exists()
    in_memory = ImageFolder(root=str(tmp_path), image_size=8, split="all")
    assert in_memory.info.size == 1 and "skipped 1" in warnings_seen[-1]
    streamed = ImageFolder(root=str(tmp_path), image_size=8, in_memory_max=0, split="all").torch_dataset()
    x, label = streamed[1]  # b.png fails to decode; a neighbour stands in
    assert tuple(x.shape) == (3, 8, 8) and label == -1
    assert "b.png" in warnings_seen[-1]


# -- gaussians -------------------------------------------------------------------

def test_gaussians_ring_and_grid():
    ring, grid = Gaussians(n=4000), Gaussians(layout="grid", n=5000)
    assert tuple(ring.centers.shape) == (8, 2) and tuple(grid.centers.shape) == (25, 2)
    assert torch.allclose(ring.centers.norm(dim=1), torch.full((8,), 2.0))
    assert grid.centers.min() == -4 and grid.centers.max() == 4 and ring.std == 0.02 and grid.std == 0.05
    for ds in (ring, grid):
        x, y = ds.tensors()
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert ds.info.modality == "points" and ds.info.shape == (2,) and ds.info.size == len(x)
        assert ds.info.num_classes == len(ds.centers)
        assert (x - ds.centers[y]).norm(dim=1).max() < 6 * ds.std  # labels are the modes
    assert torch.equal(Gaussians(seed=3, n=10).tensors()[0], Gaussians(seed=3, n=10).tensors()[0])
    with pytest.raises(UsageError):
        Gaussians(layout="spiral")


def test_mode_coverage():
    grid = Gaussians(layout="grid", n=5000)
    full = mode_coverage(grid.tensors()[0], grid.centers, grid.std)
    assert full["modes_covered"] == 25 and full["high_quality_share"] > 0.95
    collapsed = grid.centers[7] + grid.std * torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    one = mode_coverage(collapsed, grid.centers, grid.std)
    assert one["modes_covered"] == 1 and one["high_quality_share"] > 0.95
    far = mode_coverage(torch.full((100, 2), 1.0), grid.centers, grid.std)
    assert far["modes_covered"] == 0 and far["high_quality_share"] == 0.0


# -- registration ----------------------------------------------------------------

def test_every_dataset_is_registered_with_help():
    registry = ganzoo.get_registry()
    assert set(DATASETS) == {"mnist-10k", "mnist", "fashion-mnist", "cifar10", "folder", "gaussians"}
    for name in DATASETS:
        spec = registry.get("dataset", name)
        assert spec.doc and spec.summary and spec.plugin.name == "datasets"
        params = {p.name: p for p in spec.params}
        assert params["split"].default == "train"  # every built-in dataset has a held-out part
        assert ("root" in params) == (name not in ("mnist-10k", "gaussians"))  # those two read no files
    assert registry.get("dataset", "mnist-10k").evaluation.classifier.endswith("mnist-10k-classifier.safetensors")
    assert registry.get("dataset", "gaussians").evaluation.modes.endswith("gaussians:mode_metrics")
    assert registry.get("dataset", "cifar10").evaluation is None


def test_build_dataset_default():
    ds = build_dataset("mnist-10k")
    assert ds.info.size == 8000 and ds.info.shape == (1, 28, 28) and ds.info.split == "train"
    assert build_dataset("mnist-10k", {"root": None, "image_size": 64}).info.shape == (1, 64, 64)


def test_registration_module_does_not_import_torch():
    code = ("import sys, ganzoo_plugins.datasets; "
            "bad = [m for m in ('torch', 'torchvision', 'numpy') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
