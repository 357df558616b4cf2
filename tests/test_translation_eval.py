"""Scoring image-to-image translation (the translation plugin's evaluation, the metrics plugin's translation
metrics): pixel metrics against closed forms,
digit_kept against the classifier's own accuracy, FD against its real-vs-real floor, `ganzoo eval` on a run."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.evaluation.translation import translate
from ganzoo_plugins.metrics import translation as P
from ganzoo_plugins.translation import evaluation as T
from ganzoo.components.interfaces import Dataset
from ganzoo.base.specs import DataInfo

SIZE = 16


def _digits(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Ten noisy classes of uint8 (n, 1, 16, 16) images: a smooth fixed pattern per class (4x4 upscaled, so
    the classifier's shift augmentation keeps it) under heavy noise: it is learnt, but not perfectly."""
    import torch.nn.functional as F

    coarse = torch.rand(10, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    patterns = F.interpolate(coarse, size=(SIZE, SIZE), mode="bilinear", align_corners=False) * 255
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    noise = torch.rand(n, 1, SIZE, SIZE, generator=g) * 255
    return (0.3 * patterns[y] + 0.7 * noise).round().to(torch.uint8), y


def _part(split: str, n_train: int = 300, n_held: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    return _digits(n_train, 1) if split == "train" else _digits(n_held, 2)


class ToyPairs(Dataset):
    """Paired: input = the inverted digit (255 - b), target = the digit b; ``direction`` BtoA swaps them."""

    pairing = "paired"

    def __init__(self, split: str = "train", direction: str = "AtoB", inverted: bool = True):
        b, y = _part(split)
        a = 255 - b if inverted else b.clone()
        self.a, self.b = (a, b) if direction == "AtoB" else (b, a)
        self.y = y
        self.info = DataInfo((1, SIZE, SIZE), num_classes=10, size=len(y), class_names=tuple("0123456789"),
                             split=split)

    def tensors(self):
        return self.b, self.y

    def pairs(self):
        from types import SimpleNamespace

        return SimpleNamespace(a=self.a, b=self.b, labels=self.y)


class ToyDomains(Dataset):
    """Unpaired: domain A the digits of one half, domain B the inverted digits of the other half."""

    pairing = "unpaired"

    def __init__(self, split: str = "train", direction: str = "AtoB"):
        x, y = _part(split, 600, 200)
        a, b, ya, yb = x[0::2], 255 - x[1::2], y[0::2], y[1::2]
        self.a, self.b, self.ya, self.yb = (a, b, ya, yb) if direction == "AtoB" else (b, a, yb, ya)
        self.info = DataInfo((1, SIZE, SIZE), num_classes=10, size=len(self.b), class_names=tuple("0123456789"),
                             split=split)

    def tensors(self):
        return self.b, self.yb

    def domains(self):
        from types import SimpleNamespace

        return SimpleNamespace(a=self.a, b=self.b, labels_a=self.ya, labels_b=self.yb)


class ToyTranslation:
    @ganzoo.hookimpl
    def ganzoo_register_components(self, register):
        register.dataset("toy-pairs", ToyPairs, pairing="paired")
        register.dataset("toy-domains", ToyDomains, pairing="unpaired")


class Identity(nn.Module):
    def forward(self, x):
        return x


class Invert(nn.Module):
    """Exactly the toy pairs' mapping: 255 - b in uint8 is -x in [-1, 1]."""

    def forward(self, x):
        return -x


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def toy_translation(add_plugin):
    return add_plugin(ToyTranslation(), "toy-translation")


def _held(name="toy-pairs", **params):
    ds = (ToyPairs if name == "toy-pairs" else ToyDomains)(split="heldout", **params)
    return ds


def _accuracy(name: str, params: dict) -> float:
    """The accuracy the classifier recorded for itself when it was trained (measured on the held-out part)."""
    from ganzoo.evaluation.classifier import get_classifier
    from ganzoo.evaluation.reference import reference

    return get_classifier(reference(name, params)).accuracy


# -- closed forms -----------------------------------------------------------------------------------

def test_identical_images_l1_0_ssim_1_psnr_inf():
    x = torch.randint(0, 256, (5, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    m = P.pixel_metrics(x, x.clone())
    assert m["l1"] == 0 and m["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert m["psnr"] == math.inf  # torchmetrics does not cap it: 10 log10(1 / 0)


@pytest.mark.parametrize("delta", [5, 40])
def test_constant_offset_l1_and_psnr_closed_form(delta):
    base = torch.randint(0, 200, (6, 1, 32, 32), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    shifted = base + delta  # no clipping: base < 200, delta <= 40
    m = P.pixel_metrics(shifted, base)
    assert m["l1"] == pytest.approx(2 * delta / 255, rel=1e-6)  # [-1, 1] units: 255 levels span 2
    mse = (delta / 255) ** 2  # on [0, 1] pixels, data_range 1
    assert m["psnr"] == pytest.approx(10 * math.log10(1 / mse), rel=1e-5)
    # an offset leaves structure and contrast alone: SSIM's luminance term alone drops below 1
    mu_x, mu_y = (base.double() / 255).mean(), (shifted.double() / 255).mean()
    assert m["ssim"] < 1 and m["ssim"] == pytest.approx(1.0, abs=0.02 if delta == 5 else 0.2)
    assert m["ssim"] <= float((2 * mu_x * mu_y + 1e-4) / (mu_x ** 2 + mu_y ** 2 + 1e-4)) + 0.05


def test_psnr_is_averaged_per_image():
    """Two images, errors of 1 and 10 levels: the mean of their PSNRs, not the PSNR of the mean error."""
    t = torch.full((2, 1, 16, 16), 100, dtype=torch.uint8)
    o = t.clone()
    o[0] += 1
    o[1] += 10
    expected = (10 * math.log10(255 ** 2 / 1) + 10 * math.log10(255 ** 2 / 100)) / 2
    assert P.pixel_metrics(o, t)["psnr"] == pytest.approx(expected, rel=1e-5)


def test_ssim_against_the_paper_formula_on_flat_images():
    """Flat images (no variance): SSIM is the luminance term (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)."""
    a = torch.full((1, 1, 32, 32), 64, dtype=torch.uint8)
    b = torch.full((1, 1, 32, 32), 192, dtype=torch.uint8)
    mx, my, c1 = 64 / 255, 192 / 255, (0.01 * 1) ** 2  # K1 = 0.01, data_range 1 (Wang et al. 2004)
    assert P.pixel_metrics(a, b)["ssim"] == pytest.approx((2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1), rel=1e-3)  # float32 windows


def test_label_kept():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert P.label_kept(probs, torch.tensor([0, 1, 1, 1])) == 0.75


# -- a generator on toy translation data --------------------------------------------------------------

def test_copy_target_generator_is_perfect_and_keeps_the_classifiers_accuracy(toy_translation):
    held = _held()
    res = T.evaluate_translation(Invert(), held.a, held.b, held.y, dataset_name="toy-pairs", dataset_params={},
                                 device=torch.device("cpu"))
    assert res["l1"] == 0 and res["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert "psnr" not in res  # inf: left out of the numbers a training log records
    acc = _accuracy("toy-pairs", {})
    assert 0.3 < acc < 1  # the noise makes the classifier imperfect, so the test can tell
    assert res["digit_kept"] == pytest.approx(acc, abs=1e-4) and res["digit_kept_floor"] == res["digit_kept"]
    assert all(isinstance(v, float) for v in res.values())


def test_identity_generator_on_copy_pairs_scores_the_classifiers_accuracy(toy_translation):
    held = _held(inverted=False)
    res = T.evaluate_translation(Identity(), held.a, held.b, held.y, dataset_name="toy-pairs",
                                 dataset_params={"inverted": False}, device=torch.device("cpu"))
    assert res["l1"] == 0
    assert res["digit_kept"] == pytest.approx(_accuracy("toy-pairs", {"inverted": False}), abs=1e-4)


def test_identity_on_inverted_pairs_l1_closed_form_and_fd_far_from_floor(toy_translation):
    held = _held()
    res = T.score_translation(Identity(), held.a, held.b, held.y, dataset_name="toy-pairs", dataset_params={})
    diff = (held.a.double() - held.b.double()).abs().mean() / 127.5
    assert res["l1"] == pytest.approx(float(diff), rel=1e-6)
    assert res["fd"] > 2 * res["fd_floor"]  # inverted digits are not digits
    assert res["digit_kept"] < res["digit_kept_floor"]
    perfect = T.score_translation(Invert(), held.a, held.b, held.y, dataset_name="toy-pairs", dataset_params={})
    assert perfect["fd"] < res["fd"] / 5
    assert perfect["psnr"] is None and any("psnr" in n for n in perfect["notes"])  # inf in JSON: null, said so
    assert res["reference"]["split"] == "heldout" and res["num_compared"] == 100


def test_fd_of_real_heldout_targets_sits_at_the_floor(toy_translation):
    """Outputs that are the held-out targets themselves: FD is measured against held-out images, so it is
    about 0, below the train-vs-held-out floor."""
    held = _held()
    res = T.score_translation(Invert(), held.a, held.b, held.y, dataset_name="toy-pairs", dataset_params={})
    assert res["fd"] < res["fd_floor"]


def test_cycle_digit_kept_uses_domain_as_classifier(toy_translation):
    held = _held("toy-domains")
    res = T.evaluate_translation(Invert(), held.a, None, held.ya, dataset_name="toy-domains", dataset_params={},
                                 device=torch.device("cpu"), back=Invert())
    assert "l1" not in res and "ssim" not in res  # unpaired: no targets
    acc_b, acc_a = _accuracy("toy-domains", {}), _accuracy("toy-domains", {"direction": "BtoA"})
    assert res["cycle_digit_kept"] == pytest.approx(acc_a, abs=1e-4)  # A -> B -> A returns the inputs exactly
    assert res["cycle_digit_kept_floor"] == pytest.approx(acc_a, abs=1e-4)
    assert res["digit_kept_floor"] == pytest.approx(acc_b, abs=1e-4)
    assert 0 <= res["digit_kept"] <= 1
    broken = T.evaluate_translation(Invert(), held.a, None, held.ya, dataset_name="toy-domains",
                                    dataset_params={}, device=torch.device("cpu"), back=Identity())
    assert broken["cycle_digit_kept"] < res["cycle_digit_kept"] - 0.2


def test_models_are_left_in_their_mode_and_the_rng_untouched(toy_translation):
    held = _held()
    model = nn.Sequential(nn.Dropout(0.5), Invert()).train()
    state = torch.get_rng_state()
    res = T.evaluate_translation(model, held.a, held.b, None, dataset_name="toy-pairs", dataset_params={},
                                 device=torch.device("cpu"))
    assert model.training and torch.equal(torch.get_rng_state(), state)
    assert res["l1"] == 0  # eval mode while scoring: dropout off
    assert "digit_kept" not in res  # no labels given


def test_mismatched_lengths_are_one_line(toy_translation):
    from ganzoo.base.errors import UsageError

    held = _held()
    with pytest.raises(UsageError, match="100 inputs and 99 targets"):
        T.score_translation(Invert(), held.a, held.b[:99], None, dataset_name="toy-pairs", dataset_params={})


# -- ganzoo eval on a run -------------------------------------------------------------------------------

def _main(capsys, *args: str) -> tuple[int, str, str]:
    from ganzoo.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _pix2pix_run(tmp_path, dataset="toy-pairs", algo="pix2pix", steps=2):
    from conftest import fit

    cfg = {"algo": {"name": algo}, "gen": {"name": "resnet-translator", "ngf": 2, "n_blocks": 1}, "disc": {"name": "patchgan", "ndf": 2},
           "loss": {"name": "bce"}, "dataset": {"name": dataset},
           "train": {"steps": steps, "batch_size": 4, "device": "cpu", "seed": 0, "log_every": 1},
           "out": str(tmp_path / "run")}
    fit(cfg)
    return tmp_path / "run"


def test_eval_of_a_pix2pix_run_end_to_end(toy_translation, tmp_path, capsys):
    """A 2-step `ganzoo run --algo pix2pix`, then `ganzoo eval RUN` (table and --json): which split each
    number used, and the numbers the generator scores when called here directly."""
    from ganzoo.runs.trained import load_generator

    run = _pix2pix_run(tmp_path)
    res = T.evaluate_translation_run(run, num=50, seed=3)
    assert res["input_split"] == "heldout" and res["inputs_available"] == 100 and res["num"] == 50
    assert res["reference"]["split"] == "heldout" and res["algorithm"] == "pix2pix" and res["step"] == 2
    for key in ("l1", "ssim", "fd", "fd_floor", "digit_kept", "digit_kept_floor"):
        assert isinstance(res[key], float), key
    held = T.heldout_images("toy-pairs", {}, "AtoB", 50, seed=3)
    direct = P.pixel_metrics(translate(load_generator(run).model, held.inputs, seed=3), held.targets)
    assert res["l1"] == pytest.approx(direct["l1"]) and res["ssim"] == pytest.approx(direct["ssim"])

    code, out, _ = _main(capsys, "eval", str(run), "--num", "50", "--seed", "3", "--json")
    assert code == 0
    printed = json.loads(out)
    assert printed["task"] == "translation" and printed["l1"] == pytest.approx(res["l1"], rel=1e-4)
    code, out, _ = _main(capsys, "eval", str(run), "--num", "50", "--seed", "3")
    assert code == 0
    text = " ".join(out.split())
    assert "translations of the heldout split of toy-pairs" in text and "digit kept" in text
    assert "inputs: 50 of 100 images of the heldout split of toy-pairs" in text
    assert "50 outputs against 50 real target images of the held-out split" in text
    code, _, err = _main(capsys, "eval", str(run), "--direction", "BtoA")
    assert code == 2 and "translate AtoB only" in err and len(err.strip().splitlines()) == 1


def test_eval_of_a_cyclegan_run_has_cycle_numbers_both_ways(toy_translation, tmp_path):
    run = _pix2pix_run(tmp_path, "toy-domains", "cyclegan", steps=1)
    res = T.evaluate_translation_run(run, num=40)
    assert res["paired"] is False and "l1" not in res and "fd" in res
    assert 0 <= res["cycle_digit_kept"] <= 1 and res["cycle_digit_kept_floor"] > 0.3
    back = T.evaluate_translation_run(run, num=40, direction="BtoA")
    assert back["direction"] == "BtoA" and back["inputs_available"] == 100
    # BtoA's target is domain A: its floor is domain A's classifier accuracy, AtoB's cycle floor
    assert back["digit_kept_floor"] == pytest.approx(res["cycle_digit_kept_floor"])
