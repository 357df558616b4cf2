"""Train / held-out splits: the rule, every built-in dataset's parts, and the shipped classifier's split."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors import safe_open

from ganzoo.components.build import build_dataset
from ganzoo.base.errors import UsageError
from ganzoo_plugins.datasets import mnist as mnist_mod
from ganzoo_plugins.datasets.splits import SplitRule, split_indices

from test_datasets import write_cifar, write_idx, write_image, write_mnist_raw


# -- the rule ------------------------------------------------------------------------------------

def test_split_is_a_deterministic_stratified_partition():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    train, held = split_indices(100, labels, SplitRule(heldout=10, seed=3))
    assert len(held) == 10 and len(train) == 90
    assert sorted(torch.cat([train, held]).tolist()) == list(range(100))  # disjoint and complete
    assert torch.bincount(labels[held]).tolist() == [5, 3, 2]  # each class in proportion
    again_train, again_held = split_indices(100, labels, SplitRule(heldout=10, seed=3))
    assert torch.equal(held, again_held) and torch.equal(train, again_train)
    assert not torch.equal(held, split_indices(100, labels, SplitRule(heldout=10, seed=4))[1])


def test_split_quotas_use_largest_remainders():
    labels = torch.tensor([0] * 5 + [1] * 3 + [2] * 2)  # 0.4 of a 4-image held-out part: 2, 1.2, 0.8
    _, held = split_indices(10, labels, SplitRule(heldout=0.4))
    assert torch.bincount(labels[held], minlength=3).tolist() == [2, 1, 1]
    _, unlabelled = split_indices(10, None, SplitRule(heldout=0.4))
    assert len(unlabelled) == 4


# -- mnist-10k -----------------------------------------------------------------------------------

def test_mnist10k_parts():
    train, held, whole = (build_dataset("mnist-10k", {"split": s}) for s in ("train", "heldout", "all"))
    assert build_dataset("mnist-10k").info.split == "train" and build_dataset("mnist-10k").info.size == 8000
    assert (train.info.size, held.info.size, whole.info.size) == (8000, 2000, 10000)
    assert (train.info.split, held.info.split, whole.info.split) == ("train", "heldout", "all")
    x, y = whole.tensors()
    t_idx, h_idx = split_indices(10000, y, mnist_mod.SPLIT)
    assert torch.equal(train.tensors()[0], x[t_idx]) and torch.equal(held.tensors()[0], x[h_idx])
    # the class prior is the same in both parts (to within one image per class)
    expected = torch.bincount(y).double() * 2000 / 10000
    assert (torch.bincount(held.tensors()[1]).double() - expected).abs().max() < 1
    assert build_dataset("mnist-10k", {"image_size": 32}).info.shape == (1, 32, 32)


def test_bad_split_and_root_are_refused_in_one_line():
    with pytest.raises(UsageError, match="split must be one of train, heldout, all"):
        build_dataset("mnist-10k", {"split": "test"})
    for name in ("mnist-10k", "gaussians"):  # they read no files: --data-root would be silently ignored
        with pytest.raises(UsageError, match="has no parameter 'root'"):
            build_dataset(name, {"root": "/somewhere"})


def test_shipped_classifier_was_trained_on_the_current_train_split():
    """A re-split of mnist-10k without retraining the shipped classifier fails here."""
    from ganzoo.evaluation.classifier import get_classifier, matches
    from ganzoo.evaluation.cnn import labels_digest
    from ganzoo.evaluation.reference import Reference, reference

    path = mnist_mod.DATA / "mnist-10k-classifier.safetensors"
    with safe_open(str(path), framework="pt") as fh:
        meta = json.loads(fh.metadata()["ganzoo_classifier"])
    train_y = build_dataset("mnist-10k").tensors()[1]
    held_y = build_dataset("mnist-10k", {"split": "heldout"}).tensors()[1]
    assert meta["dataset"] == "mnist-10k"
    assert meta["split"]["images"] == len(train_y) == 8000 and meta["trained_on"] == 8000
    assert meta["split"]["labels_digest"] == labels_digest(train_y)
    assert meta["split"]["heldout_images"] == meta["heldout"] == len(held_y) == 2000
    assert meta["accuracy"] > 0.98 and meta["train_accuracy"] > 0.98
    readme = (mnist_mod.DATA / "README.md").read_text()  # the data README states what the metadata records
    assert f"| train | 8,000 | {meta['train_accuracy']:.2%} |" in readme
    assert f"| held-out | 2,000 | {meta['accuracy']:.2%} |" in readme
    clf = get_classifier(reference("mnist-10k"), train=False)
    assert clf is not None and clf.source == "shipped" and matches(clf, reference("mnist-10k")) == ""
    # the same weights offered for another train part are refused (retrained on first use, never silently used)
    whole = build_dataset("mnist-10k", {"split": "all"})
    assert "other images" in matches(clf, Reference("mnist-10k", {}, whole, *whole.tensors()))


# -- datasets with their own test split ----------------------------------------------------------

def test_mnist_heldout_is_the_official_test_split(tmp_path):
    write_mnist_raw(tmp_path, "MNIST", n=12)
    rng = np.random.default_rng(1)
    tx = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte", tx)
    write_idx(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", np.arange(4, dtype=np.uint8))
    root = str(tmp_path)
    assert build_dataset("mnist", {"root": root}).info.size == 12
    held = build_dataset("mnist", {"root": root, "split": "heldout"})
    assert torch.equal(held.tensors()[0], torch.from_numpy(tx).unsqueeze(1)) and held.info.split == "heldout"
    whole = build_dataset("mnist", {"root": root, "split": "all"})
    assert whole.info.size == 16 and torch.equal(whole.tensors()[0][12:], held.tensors()[0])
    # without t10k files under ROOT, the copy that ships with ganzoo is MNIST's test split
    bare = tmp_path / "bare"
    write_mnist_raw(bare, "MNIST", n=12)
    shipped = build_dataset("mnist", {"root": str(bare), "split": "heldout", "download": False})
    assert shipped.info.size == 10000


def test_cifar10_heldout_is_test_batch(tmp_path):
    write_cifar(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    data = np.random.default_rng(2).integers(0, 256, size=(3, 3072), dtype=np.uint8)
    (folder / "test_batch").write_bytes(pickle.dumps({"data": data, "labels": [1, 2, 3]}, protocol=2))
    held = build_dataset("cifar10", {"root": str(tmp_path), "split": "heldout", "download": False})
    assert held.info.size == 3 and held.tensors()[1].tolist() == [1, 2, 3]
    assert build_dataset("cifar10", {"root": str(tmp_path), "download": False}).info.size == 10
    assert build_dataset("cifar10", {"root": str(tmp_path), "split": "all", "download": False}).info.size == 13


# -- folder and gaussians ------------------------------------------------------------------------

def test_folder_holds_out_a_tenth_per_class(tmp_path):
    for i in range(10):
        write_image(tmp_path / "cats" / f"{i}.png", color=(250, 0, 0))
        write_image(tmp_path / "dogs" / f"{i}.png", color=(0, 0, 250))
    train = build_dataset("folder", {"root": str(tmp_path), "image_size": 8})
    held = build_dataset("folder", {"root": str(tmp_path), "image_size": 8, "split": "heldout"})
    assert train.info.size == 18 and held.info.size == 2 and held.tensors()[1].tolist() == [0, 1]
    assert set(map(str, train.paths)).isdisjoint(map(str, held.paths))
    streamed = build_dataset("folder", {"root": str(tmp_path), "image_size": 8, "in_memory_max": 0})
    assert streamed.streaming and [str(p) for p in streamed.paths] == [str(p) for p in train.paths]


def test_gaussians_heldout_points_are_fresh_draws():
    train = build_dataset("gaussians", {"n": 400})
    held = build_dataset("gaussians", {"n": 400, "split": "heldout"})
    assert train.info.size == 400 and held.info.size == 100
    tx, hx = train.tensors()[0], held.tensors()[0]
    assert torch.cdist(hx, tx).min() > 0  # no held-out point is a training point
    counts = torch.bincount(held.tensors()[1])
    assert counts.sum() == 100 and counts.max() - counts.min() <= 1  # every mode, in proportion


@pytest.mark.parametrize("std", [-1, 0, float("nan"), float("inf")])
def test_gaussians_refuse_a_std_that_is_not_positive(std):
    with pytest.raises(UsageError, match="std must be a positive number"):
        build_dataset("gaussians", {"std": std})


def test_eval_without_the_heldout_files_says_so_and_measures_the_training_images(tmp_path, monkeypatch):
    from ganzoo.evaluation import evaluate_samples

    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(tmp_path / "none.pth"))
    write_mnist_raw(tmp_path, "FashionMNIST", n=40)  # train files only, and no download
    params = {"root": str(tmp_path), "download": False}
    x, _ = build_dataset("fashion-mnist", params).tensors()
    result = evaluate_samples(x[:20], None, "fashion-mnist", dataset_params=params, inception=False)
    assert result["reference"]["split"] is None and result["num_compared"] == 20
    assert any("held-out split of fashion-mnist is not available" in n for n in result["notes"])
    assert "memorized" not in result
