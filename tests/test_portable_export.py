"""Published generators name nothing of the machine that made them (issue 26): an exported pretrained file
holds no absolute path, the same weights export to the same bytes from anywhere, what a user prints of a
pretrained generator shows no exporter's path, and a run folder copied elsewhere still works."""

from __future__ import annotations

import json
import re
import shutil
import struct

import pytest

import ganzoo
from conftest import ROOT, fit, install_toy, run_cli, tiny, toy_env
from ganzoo.runs.checkpoint import find, load
from ganzoo.runs.pretrained import export, portable, recorded_metrics, sha256_file

INDEX = json.loads((ROOT / "plugins" / "pretrained" / "index.json").read_text())

# An absolute path as it would appear in a header's JSON text: at the start of a string or after a space,
# '=', ':' or '(' -- POSIX, home or a Windows drive. Written independently of ganzoo.runs.pretrained's pattern.
ABSOLUTE = re.compile(r'(?:^|[\s"=:(])(?:/[^\s/"]|~/|[A-Za-z]:\\\\?[^\s"])')


def header(path) -> str:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return data[8:8 + n].decode("utf-8")


def strings(value):
    """Every string in a JSON value, the metadata's embedded JSON documents opened too."""
    if isinstance(value, str):
        yield value
        try:
            inner = json.loads(value)
        except ValueError:
            return
        if isinstance(inner, (dict, list)):
            yield from strings(inner)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def absolute_paths(path) -> list[str]:
    return [s for s in strings(json.loads(header(path))) if ABSOLUTE.search(s)]


def train(where, **settings):
    cfg = tiny(**settings)
    cfg["out"] = str(where)
    return fit(cfg)


def test_the_detector_finds_what_the_old_exports_held():
    """The check below is worth something only if it sees the paths the 17 files used to carry."""
    for text in ('/tmp/zoo-tree2/plugins/pretrained/dcgan-mnist.safetensors', 'checkpoint /root/.cache/x',
                 '"out": "/root/.cache/ganzoo/zoo-runs/dcgan-mnist"', 'C:\\Users\\me\\runs', '~/runs/x'):
        assert ABSOLUTE.search(text), text
    for text in ('dcgan-mnist.safetensors', 'a 1/2 share', 'A -> B -> A', 'hinge+1e-4*ortho', 'and/or'):
        assert not ABSOLUTE.search(text), text


def test_portable_cuts_each_absolute_path_to_its_name():
    got = portable({"source": "/tmp/a/b/run", "notes": ["step 5, checkpoint /tmp/a/b/run/checkpoints/latest."
                                                        "safetensors", "classes 1/2 covered"],
                    "root": "C:\\data\\faces", "home": "~/img_align_celeba", "n": 3})
    assert got == {"source": "run", "notes": ["step 5, checkpoint latest.safetensors", "classes 1/2 covered"],
                   "root": "faces", "home": "img_align_celeba", "n": 3}


def test_the_same_weights_from_two_run_folders_export_to_the_same_bytes(tmp_path, toy):
    """Two machines (here two folders) exporting one run's weights publish byte-identical files."""
    result = train(tmp_path / "mine" / "run", steps=6, ema=0.9)
    elsewhere = tmp_path / "theirs" / "deeper" / "copied-run"
    shutil.copytree(result.run_dir, elsewhere)
    files = []
    for run in (result.run_dir, elsewhere):
        ckpt = find(run)
        # what `ganzoo eval` of the file says, with the paths of the machine that scored it
        metrics = {"fd": 1.25, "source": str(ckpt), "notes": [f"step 6, EMA generator, checkpoint {ckpt}"],
                   "classifier": {"digest": "04c0f0bdc3bc", "source": "shipped"}}
        out = run.parent / "export" / "toy-points.safetensors"
        out.parent.mkdir()
        export(ckpt, out, name="toy-points", metrics=metrics)
        files.append(out)
    assert sha256_file(files[0]) == sha256_file(files[1])
    assert absolute_paths(files[0]) == []
    assert str(tmp_path) not in header(files[0])
    assert "out" not in load(files[0]).config  # not even the run folder's name: a copy resumes where it lies
    pretrained = json.loads(load(files[0]).metadata["pretrained"])
    # the run named by recipe, step and the digest of its weights, not by where it lay
    assert pretrained["from_step"] == 6 and len(pretrained["weights_sha256"]) == 64
    assert recorded_metrics(files[0])["source"] == "toy-points"


def test_the_weights_digest_names_the_weights(tmp_path, toy):
    """Other weights, another digest: the digest is of the tensors, not of where they came from."""
    a = train(tmp_path / "a", steps=4, seed=1)
    b = train(tmp_path / "b", steps=4, seed=2)
    digests = []
    for run in (a.run_dir, b.run_dir):
        out = run / "toy.safetensors"
        export(find(run), out, name="toy-points")
        digests.append(json.loads(load(out).metadata["pretrained"])["weights_sha256"])
    assert digests[0] != digests[1]


@pytest.mark.parametrize("recipe", sorted(INDEX))
def test_no_shipped_file_names_the_machine_that_exported_it(recipe):
    path = ROOT / "plugins" / "pretrained" / INDEX[recipe]["file"]
    assert absolute_paths(path) == []
    assert "out" not in load(path).config


def test_no_results_file_names_the_machine_that_measured_it():
    results = ROOT / "docs" / "zoo" / "results.json"
    found = [s for s in strings(json.loads(results.read_text())) if ABSOLUTE.search(s)]
    assert found == []


def test_eval_and_info_of_a_pretrained_name_print_no_exporters_path(tmp_path, toy):
    """The user's view of a third party's published generator: no folder of the author's machine."""
    author = tmp_path / "home" / "author" / "work"
    result = train(author / "run", steps=4, ema=0.9)
    path = tmp_path / "site-weights" / "toy-points.safetensors"
    path.parent.mkdir()
    ckpt = find(result.run_dir)
    sha = export(ckpt, path, name="toy-points", metrics={"fd": 1.0, "notes": [f"checkpoint {ckpt}"]})
    env = {**toy_env(install_toy(tmp_path / "site")), "GANZOO_TOY_WEIGHTS": f"{path}|{sha}"}
    ev = run_cli("eval", "toy-points", "--json", "--num", "200", env=env)
    assert ev.returncode == 0, ev.stderr
    info = run_cli("info", "toy-points", "--json", env=env)
    assert info.returncode == 0, info.stderr
    for out in (ev.stdout, info.stdout):
        assert str(author) not in out and "/home/author" not in out
    assert json.loads(ev.stdout)["source"] == "toy-points"


def test_a_run_folder_copied_elsewhere_resumes_samples_and_evaluates(tmp_path, toy):
    """A user's checkpoint keeps its own run folder's path, and a copy does not need it."""
    result = train(tmp_path / "here", steps=4, ema=0.9)
    moved = tmp_path / "there" / "run"
    shutil.copytree(result.run_dir, moved)
    shutil.rmtree(result.run_dir)
    resumed = fit({**tiny(steps=8), "out": str(moved)}, resume=True)
    assert resumed.run_dir == moved and load(find(moved)).step == 8
    assert not result.run_dir.exists()  # nothing went back to where the run was made
    assert ganzoo.load(moved).sample(3).shape == (3, 2)
    scored = ganzoo.evaluate(moved, num=100)
    assert scored["fd"] == scored["fd"]  # a number, not NaN
