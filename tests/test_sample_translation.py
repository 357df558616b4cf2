"""`ganzoo sample` for image-to-image runs: the user's own pictures (--input), a held-out batch beside its
targets, --direction, and the one-line errors of what does not apply."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from ganzoo.runs import checkpoint
from ganzoo.components.build import build_dataset, build_generator
from ganzoo.cli.commands.sample_cmd import sample_to_file
from ganzoo.base.errors import UsageError
from ganzoo.evaluation.translation import translate
from ganzoo.runs.images import read_images
from ganzoo.base.specs import DataInfo

DIGITS = tuple("0123456789")
CELL = 32 + 2  # a 32 px image and make_grid's padding


def _info(size: int = 8000) -> DataInfo:
    return DataInfo((1, 32, 32), num_classes=10, size=size, modality="image", class_names=DIGITS, split="train")


def _unet(seed: int):
    torch.manual_seed(seed)
    return build_generator("unet", _info(), params={"ngf": 2}, source=_info())


def _craft(path: Path, algo: str = "pix2pix", dataset: str = "mnist-edges") -> dict[str, torch.nn.Module]:
    """A translation checkpoint as the trainer writes one (sections, config, meta.algorithm), tiny U-Nets."""
    models = {"generator": _unet(1)}
    generators = {"generator": "AtoB"}
    if algo == "cyclegan":
        models["generator_ba"] = _unet(2)
        generators["generator_ba"] = "BtoA"
    tensors = {f"{name}.{k}": v.detach().clone().contiguous()
               for name, m in models.items() for k, v in m.state_dict().items()}
    config = {"algo": {"name": algo}, "gen": {"name": "unet", "ngf": 2}, "disc": {"name": "patchgan"},
              "loss": {"name": "bce"}, "dataset": {"name": dataset}, "train": {"steps": 7, "device": "cpu"}}
    meta = {"data": _info().to_dict(), "algorithm": {"source": _info().to_dict(), "generators": generators}}
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save(path, tensors, {"config": config, "meta": meta, "step": "7"})
    for m in models.values():
        m.eval()
    return models


@pytest.fixture
def pix2pix(tmp_path):
    path = tmp_path / "p2p" / "model.safetensors"
    return path, _craft(path)


def _pictures(folder: Path) -> Path:
    """Three pictures of other sizes and modes, one file that is not a picture, one that cannot be decoded."""
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    Image.fromarray(torch.randint(0, 256, (32, 32), generator=g, dtype=torch.uint8).numpy(), "L").save(folder / "a.png")
    Image.fromarray(torch.randint(0, 256, (40, 64, 3), generator=g, dtype=torch.uint8).numpy(), "RGB").save(
        folder / "b.png")
    Image.fromarray(torch.randint(0, 256, (20, 20, 3), generator=g, dtype=torch.uint8).numpy(), "RGB").save(
        folder / "c.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return folder


def _main(capsys, *args: str) -> tuple[int, str, str]:
    from ganzoo.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_input_folder_translates_each_picture_and_counts_the_unreadable(pix2pix, tmp_path, capsys):
    ckpt, models = pix2pix
    folder = _pictures(tmp_path / "in")
    code, out, err = _main(capsys, "sample", str(ckpt), "--input", str(folder), "--out", str(tmp_path / "g.png"))
    assert code == 0, err
    assert "wrote 3 AtoB translations from the generator at step 7" in " ".join(out.split())
    warning = " ".join(err.split())
    assert "skipped 1 file: 1 unreadable (e.g. broken.png)" in warning
    with Image.open(tmp_path / "g.png") as im:
        # three input | output pairs in one row: 6 cells of 32 px, each after 2 px of padding
        assert im.size == (2 + 6 * CELL, 2 + CELL) and im.mode == "L"

    drawn = sample_to_file(ckpt, tmp_path / "t.safetensors", input_path=folder)
    t = load_file(str(tmp_path / "t.safetensors"))
    assert t["inputs"].shape == (3, 1, 32, 32) and t["images"].shape == (3, 1, 32, 32) and drawn.num == 3
    read = read_images(folder, (1, 32, 32))
    assert [p.name for p in read.paths] == ["a.png", "b.png", "c.jpg"]
    assert torch.equal(t["inputs"], read.images)
    assert torch.equal(t["images"], translate(models["generator"], read.images))
    # a 32x32 greyscale file goes in untouched; the 64x40 colour one is centre-cropped to 40x40, then resized
    with Image.open(folder / "a.png") as im:
        assert torch.equal(read.images[0, 0], torch.from_numpy(__import__("numpy").asarray(im).copy()))


def test_input_one_file_and_num(pix2pix, tmp_path):
    ckpt, _ = pix2pix
    folder = _pictures(tmp_path / "in")
    assert sample_to_file(ckpt, tmp_path / "one.png", input_path=folder / "b.png").num == 1
    assert sample_to_file(ckpt, tmp_path / "two.png", input_path=folder, num=2).num == 2


def test_heldout_batch_shows_input_output_target(pix2pix, tmp_path):
    ckpt, models = pix2pix
    drawn = sample_to_file(ckpt, tmp_path / "h.png")
    assert drawn.num == 16
    with Image.open(tmp_path / "h.png") as im:
        assert im.size == (2 + 12 * CELL, 2 + 4 * CELL)  # 4 examples a row, 3 columns each, 4 rows
    sample_to_file(ckpt, tmp_path / "h.safetensors", num=5, seed=2)
    t = load_file(str(tmp_path / "h.safetensors"))
    pairs = build_dataset("mnist-edges", {"split": "heldout"}).pairs()
    idx = torch.randperm(len(pairs.a), generator=torch.Generator().manual_seed(2))[:5].sort().values
    assert torch.equal(t["inputs"], pairs.a[idx]) and torch.equal(t["targets"], pairs.b[idx])
    assert torch.equal(t["images"], translate(models["generator"], pairs.a[idx], seed=2))  # --seed seeds the dropout too
    # the default output is a fresh file in the folder of a lone checkpoint, never over anything
    first = sample_to_file(ckpt).out
    assert first == ckpt.parent / "samples" / "sample-0.png"
    assert sample_to_file(ckpt).out == ckpt.parent / "samples" / "sample-0-2.png"


def test_cyclegan_direction_btoa_uses_the_reverse_generator(tmp_path):
    ckpt = tmp_path / "cg" / "model.safetensors"
    models = _craft(ckpt, "cyclegan", "mnist-strokes")
    sample_to_file(ckpt, tmp_path / "ab.safetensors", num=4)
    sample_to_file(ckpt, tmp_path / "ba.safetensors", num=4, direction="BtoA")
    ab, ba = load_file(str(tmp_path / "ab.safetensors")), load_file(str(tmp_path / "ba.safetensors"))
    domains = build_dataset("mnist-strokes", {"split": "heldout"}).domains()
    idx = torch.randperm(len(domains.b), generator=torch.Generator().manual_seed(0))[:4].sort().values
    assert torch.equal(ba["inputs"], domains.b[idx]) and "targets" not in ba  # unpaired: no targets
    assert torch.equal(ba["images"], translate(models["generator_ba"], domains.b[idx]))
    assert torch.equal(ab["images"], translate(models["generator"], ab["inputs"]))
    with Image.open(sample_to_file(ckpt, tmp_path / "ba.png", num=4, direction="BtoA").out) as im:
        assert im.size == (2 + 8 * CELL, 2 + CELL)  # input | output pairs


def test_direction_btoa_of_a_pix2pix_run_is_one_line(pix2pix, tmp_path, capsys):
    ckpt, _ = pix2pix
    code, _, err = _main(capsys, "sample", str(ckpt), "--direction", "BtoA", "--out", str(tmp_path / "x.png"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--direction BtoA: this run's generators translate AtoB only" in err
    assert not (tmp_path / "x.png").exists()


def test_input_with_a_noise_run_is_one_line(toy, tmp_path, capsys):
    from conftest import fit, tiny_images

    fit(tiny_images(steps=1))
    folder = _pictures(tmp_path / "in")
    code, _, err = _main(capsys, "sample", "run", "--input", str(folder), "--out", str(tmp_path / "x.png"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--input: generator 'toy-mlp' draws from noise; it takes no images" in err
    code, _, err = _main(capsys, "sample", "run", "--direction", "BtoA", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "draws from noise" in err and len(err.strip().splitlines()) == 1


def test_what_does_not_apply_to_translation(pix2pix, tmp_path):
    ckpt, _ = pix2pix
    # the run's reader names the options it does take
    with pytest.raises(UsageError, match=r"--label: generator 'unet' .* takes no label \(it takes --direction, --input\)"):
        sample_to_file(ckpt, tmp_path / "x.png", label=3)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no pictures here")
    with pytest.raises(UsageError, match="no readable images"):
        sample_to_file(ckpt, tmp_path / "x.png", input_path=empty)
    assert not (tmp_path / "x.png").exists()


def test_never_over_a_runs_files(toy_translation_run, tmp_path):
    run = toy_translation_run
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    for out in (run / "checkpoints" / "x.png", run / "samples" / "step-000002.png"):
        with pytest.raises(UsageError, match="would replace a file of the run"):
            sample_to_file(run, out, force=True)
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


@pytest.fixture
def toy_translation_run(add_plugin, tmp_path, monkeypatch):
    """A 2-step pix2pix run of the trainer on the toy pairs of test_translation_eval."""
    from conftest import fit
    from test_translation_eval import ToyTranslation

    add_plugin(ToyTranslation(), "toy-translation")
    cfg = {"algo": {"name": "pix2pix"}, "gen": {"name": "resnet-translator", "ngf": 2, "n_blocks": 1},
           "disc": {"name": "patchgan", "ndf": 2}, "loss": {"name": "bce+100*l1"}, "dataset": {"name": "toy-pairs"},
           "train": {"steps": 2, "batch_size": 4, "device": "cpu", "seed": 0, "ema": 0.9},
           "out": str(tmp_path / "run")}
    fit(cfg)
    return tmp_path / "run"


def test_a_trained_pix2pix_run_end_to_end(toy_translation_run, tmp_path, capsys):
    run = toy_translation_run
    code, out, err = _main(capsys, "sample", str(run), "--num", "8")
    assert code == 0, err
    assert "from the EMA generator at step 2" in " ".join(out.split())
    with Image.open(run / "samples" / "sample-0.png") as im:
        assert im.size == (2 + 12 * 18, 2 + 2 * 18)  # 16 px toy images: 2 rows of 4 (input | output | target)
    t = sample_to_file(run, tmp_path / "s.safetensors", num=8, use_ema=False)
    assert not t.loaded.ema and t.loaded.takes == "image" and t.loaded.source.shape == (1, 16, 16)
