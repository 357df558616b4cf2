"""`ganzoo explore`'s server, through Starlette's TestClient: what it serves, what it refuses, how it fails."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="ganzoo explore needs starlette: pip install 'ganzoo[explore]'")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx: pip install 'ganzoo[test]'")

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 and says so; httpx serves every version >= 0.37
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from conftest import fit, run_light, tiny_images
from ganzoo.cli.commands.sample_cmd import sample_to_file
from ganzoo.explore import zoo as zoo_mod
from ganzoo.explore.server import STATIC, create_app
from ganzoo.explore.zoo import Zoo


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("L"))


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def runs(toy, tmp_path):
    """runs/ holding one tiny trained run (toy digits, 8 px), a folder that is no run, and links out of it."""
    cfg = tiny_images(steps=4, eval_every=2)
    cfg["out"] = str(tmp_path / "runs" / "group" / "tiny")
    fit(cfg)
    outside = tmp_path / "outside"
    cfg["out"] = str(outside)
    fit(cfg)
    (tmp_path / "runs" / "notes").mkdir()
    (tmp_path / "runs" / "escape").symlink_to(outside, target_is_directory=True)
    return tmp_path / "runs"


@pytest.fixture
def client(runs):
    return TestClient(create_app(Zoo(runs), log=lambda s: None))


@pytest.fixture
def shipped():
    return TestClient(create_app(Zoo("no-runs-here"), log=lambda s: None))


def error(response) -> str:
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def test_lists_every_pretrained_generator_and_the_runs_under_the_folder_only(client):
    import ganzoo

    listed = client.get("/api/generators").json()["generators"]
    ids = [g["id"] for g in listed]
    shipped = {s.name for s in ganzoo.get_registry().all_pretrained()}
    assert {f"pretrained/{name}" for name in shipped} <= set(ids)
    runs = [g for g in listed if g["group"] == "runs"]
    assert [(g["id"], g["is_run"]) for g in runs] == [("run/group/tiny", True)]  # not notes/, not the link out


def test_the_grid_is_what_ganzoo_sample_draws_for_the_same_seed(shipped, tmp_path):
    for name, query, kw in (("dcgan-mnist", "&seed=5", {"seed": 5}),
                            ("cdcgan-mnist", "&seed=2&label=7", {"seed": 2, "label": 7}),
                            ("cdcgan-mnist", "&seed=2", {"seed": 2}),
                            ("biggan-mnist", "&seed=1&truncation=0.5", {"seed": 1, "truncation": 0.5})):
        response = shipped.get(f"/api/grid?id=pretrained/{name}{query}")
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        out = tmp_path / f"{name}-{len(query)}.png"
        sample_to_file(name, out=out, **kw)
        assert np.array_equal(pixels(response.content), pixels(out.read_bytes())), (name, query)


def test_a_new_seed_a_class_and_truncation_change_the_grid(shipped):
    base = pixels(shipped.get("/api/grid?id=pretrained/biggan-mnist&seed=1").content)
    for query in ("seed=2", "seed=1&label=3", "seed=1&truncation=0.3"):
        other = pixels(shipped.get(f"/api/grid?id=pretrained/biggan-mnist&{query}").content)
        assert other.shape == (8 * 34 + 2, 8 * 34 + 2) if "label" in query else other.shape == base.shape
        assert not np.array_equal(base, other), query


def test_describe_says_what_the_controls_are(shipped):
    info = shipped.get("/api/describe?id=pretrained/stylegan2-mnist").json()
    assert info["takes"] == "noise" and not info["conditional"]
    assert [(o["flag"], o["what"], o["slider"]) for o in info["options"]] == [("truncation", "psi", [0.0, 1.0])]
    info = shipped.get("/api/describe?id=pretrained/biggan-mnist").json()
    assert info["conditional"] and info["classes"] == [str(k) for k in range(10)]
    assert info["options"][0]["what"] == "threshold" and info["options"][0]["high"] is None
    info = shipped.get("/api/describe?id=pretrained/cyclegan-mnist-strokes").json()
    assert info["takes"] == "image" and info["directions"] == ["AtoB", "BtoA"] and info["source"] == [1, 32, 32]
    assert shipped.get("/api/describe?id=pretrained/dcgan-mnist").json()["options"] == []


@pytest.mark.parametrize("rel", ["..", "../outside", "group/../../outside", "/etc", "escape", "notes", "nothing",
                                 "group/tiny/../../../outside", "group\\tiny", "", ".", "group/tiny/checkpoints"])
def test_a_path_out_of_the_runs_folder_or_not_a_run_is_refused(client, rel):
    for endpoint in ("describe", "grid", "curves", "evaluation"):
        response = client.get(f"/api/{endpoint}", params={"id": f"run/{rel}"})
        assert response.status_code == 400, (endpoint, rel)
        message = error(response)
        assert "is not a run under" in message or "no generator" in message
        assert "outside" not in message or rel.endswith("outside")  # nothing of the outside folder is told


def test_only_the_page_s_own_files_are_served(client, runs):
    assert client.get("/static/explore.js").status_code == 200
    for path in ("/static/../zoo.py", "/static/%2e%2e/zoo.py", "/static/..%2fzoo.py", "/runs/group/tiny/config.toml",
                 "/static/../../../../etc/passwd"):
        assert client.get(path).status_code == 404, path
    assert error(client.get("/api/grid", params={"id": "/etc/passwd"})).startswith("no generator")


def test_the_page_loads_nothing_from_outside():
    for file in STATIC.iterdir():
        text = file.read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), file.name
        assert "@import" not in text and "fonts." not in text


def test_headers_tell_the_browser_the_same(client):
    response = client.get("/")
    assert response.status_code == 200 and "ganzoo explore" in response.text
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert client.get("/api/grid?id=pretrained/dcgan-mnist").headers["content-security-policy"] == csp


def test_a_loopback_server_answers_only_to_loopback_host_names(runs):
    from ganzoo.explore.server import LOOPBACK_HOSTS

    app = create_app(Zoo(runs), LOOPBACK_HOSTS)
    assert TestClient(app, base_url="http://127.0.0.1:8765").get("/").status_code == 200
    assert TestClient(app, base_url="http://localhost:8765").get("/").status_code == 200
    assert TestClient(app, base_url="http://attacker.example:8765").get("/").status_code == 400


def _digit_edges() -> bytes:
    image = Image.new("L", (28, 28), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(image).ellipse((7, 4, 21, 24), outline=255, width=2)
    return png_bytes(image)


def test_a_drawing_is_translated_and_16_bit_and_rgba_pictures_read_as_their_8_bit_selves(shipped):
    url = "/api/translate?id=pretrained/pix2pix-mnist-edges"
    plain = shipped.post(url, content=_digit_edges())
    assert plain.status_code == 200 and pixels(plain.content).shape == (32, 32)
    assert pixels(plain.content).max() > 128  # a digit, not a blank
    with Image.open(io.BytesIO(_digit_edges())) as im:
        grey = np.asarray(im)
    wide = Image.fromarray(grey.astype(np.uint16) * 257)  # the same picture, 16 bits deep
    assert wide.mode.startswith("I")
    rgba = Image.fromarray(np.stack([grey] * 3 + [np.full_like(grey, 255)], axis=-1), "RGBA")
    large = Image.fromarray(grey).resize((280, 280), Image.Resampling.NEAREST)  # the canvas's size
    for image in (wide, rgba):
        response = shipped.post(url, content=png_bytes(image))
        assert response.status_code == 200, response.text
        assert np.array_equal(pixels(response.content), pixels(plain.content))
    assert shipped.post(url, content=png_bytes(large)).status_code == 200
    back = shipped.post("/api/translate?id=pretrained/cyclegan-mnist-strokes&direction=BtoA", content=_digit_edges())
    assert back.status_code == 200
    # the directions are the model's own (its reader's controls), not a list the explorer keeps: pix2pix learns one
    assert shipped.get("/api/describe?id=pretrained/pix2pix-mnist-edges").json()["directions"] == ["AtoB"]
    one_way = shipped.post(url + "&direction=BtoA", content=_digit_edges())
    assert one_way.status_code == 400 and "must be one of AtoB, not 'BtoA'" in error(one_way)


def test_bad_uploads_are_one_line_and_the_server_keeps_serving(shipped, monkeypatch):
    url = "/api/translate?id=pretrained/pix2pix-mnist-edges"
    bomb = png_bytes(Image.new("L", (5000, 5000), 0))  # 25 megapixels in a few kB
    assert len(bomb) < 100_000
    cases = [
        (bomb, 400, "megapixels"),
        (b"this is not a picture", 400, "not a picture ganzoo can read"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 400, "not a picture ganzoo can read"),  # a PNG signature, then garbage
        (b"", 400, "empty"),
    ]
    for body, status, words in cases:
        response = shipped.post(url, content=body)
        assert response.status_code == status and words in error(response)
    monkeypatch.setattr(zoo_mod, "MAX_UPLOAD", 1000)
    monkeypatch.setattr("ganzoo.explore.server.MAX_UPLOAD", 1000)
    response = shipped.post(url, content=b"x" * 5000)
    assert response.status_code == 413 and "MiB" in error(response)

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(10):
            yield b"x" * 500

    response = shipped.post(url, content=chunks())
    assert response.status_code == 413
    assert shipped.get("/api/grid?id=pretrained/dcgan-mnist").status_code == 200
    response = shipped.post("/api/translate?id=pretrained/dcgan-mnist", content=_digit_edges())
    assert response.status_code == 400 and "draws from noise" in error(response)


def test_a_failing_generator_is_a_message_not_a_traceback():
    zoo, logged = Zoo("no-runs-here"), []
    client = TestClient(create_app(zoo, log=logged.append))
    loaded = zoo.generator("pretrained/dcgan-mnist")
    original = loaded.model.forward

    def broken(*args, **kwargs):
        raise RuntimeError("the weights caught fire\n  and a second line")

    loaded.model.forward = broken
    response = client.get("/api/grid?id=pretrained/dcgan-mnist&seed=3")
    assert response.status_code == 500
    # one line, naming the failure (ganzoo's own ComponentError line where sampling wraps it, else the server's)
    assert error(response).endswith("RuntimeError: the weights caught fire")
    assert "Traceback" in logged[0]  # for the terminal, not the page
    loaded.model.forward = original
    assert client.get("/api/grid?id=pretrained/dcgan-mnist&seed=3").status_code == 200


def test_user_mistakes_are_400_with_one_line(shipped):
    for query, words in (("id=pretrained/dcgan-mnist&seed=x", "seed must be a whole number"),
                         ("id=pretrained/dcgan-mnist&label=3", "not conditional"),
                         ("id=pretrained/cdcgan-mnist&label=12", "out of range"),
                         ("id=pretrained/stylegan2-mnist&truncation=1.5", "psi"),
                         ("id=pretrained/pix2pix-mnist-edges", "translates images"),
                         ("id=pretrained/nope", "no generator"),
                         ("id=pretrained/dcgan-mnist&seed=99999999999999999999999", "seed")):
        response = shipped.get(f"/api/grid?{query}")
        assert response.status_code == 400, query
        assert words in error(response), (query, error(response))


def test_walk_is_an_animation_of_the_frames_asked_for(shipped):
    response = shipped.get("/api/walk?id=pretrained/stylegan2-mnist&a=1&b=2&frames=5&truncation=0.7")
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    with Image.open(io.BytesIO(response.content)) as im:
        assert im.n_frames == 5
    response = shipped.get("/api/walk?id=pretrained/cdcgan-mnist&a=1&b=2&frames=3&label=4&format=webp")
    assert response.headers["content-type"] == "image/webp"
    assert "frames must be" in error(shipped.get("/api/walk?id=pretrained/dcgan-mnist&frames=100000"))
    assert "translates images" in error(shipped.get("/api/walk?id=pretrained/pix2pix-mnist-edges"))


def test_a_run_s_curves_and_last_evaluation(client):
    response = client.get("/api/curves?id=run/group/tiny")
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    evaluation = client.get("/api/evaluation?id=run/group/tiny").json()
    assert evaluation["step"] == 4 and evaluation["source"] == "metrics.jsonl" and evaluation["metrics"]
    assert "no curves here" in error(client.get("/api/curves?id=pretrained/dcgan-mnist"))
    shipped = client.get("/api/evaluation?id=pretrained/dcgan-mnist").json()
    assert shipped["source"] == "recorded with the file" and "fd" in shipped["metrics"]


def test_given_targets_are_listed_first_and_a_bad_one_is_one_line(runs):
    from ganzoo.base.errors import UsageError

    zoo = Zoo(runs, ["stylegan2-mnist", str(runs / "group" / "tiny")])
    assert [e.id for e in zoo.entries()[:2]] == ["given/0", "given/1"]
    assert zoo.entry("given/1").run == runs / "group" / "tiny"
    with pytest.raises(UsageError, match="no recipe of that name"):
        Zoo(runs, ["no-such-generator"])


# -- the command ----------------------------------------------------------------------------------------------



@pytest.mark.parametrize("args", [["--help"], ["explore", "--help"]])
def test_help_imports_neither_torch_nor_starlette(args):
    assert "explore" in run_light(args, ("torch", "starlette", "uvicorn")).stdout


def test_without_the_extra_one_line_names_it(monkeypatch, capsys):
    import importlib.util

    from ganzoo.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    with pytest.raises(SystemExit) as exit_:
        main(["explore", "--no-browser"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert "needs uvicorn" in err and 'pip install "ganzoo[explore]"' in err


def test_the_command_serves_on_loopback_and_prints_its_address(tmp_path):
    import httpx

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", "explore", "dcgan-mnist", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + proc.stderr.read() if proc.poll() is not None else line
        url = match.group(0)
        for _ in range(50):  # the socket listens before the line is printed; the app starts a moment later
            try:
                response = httpx.get(url + "api/generators", timeout=30)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["generators"][0] == {"id": "given/0", "name": "dcgan-mnist", "group": "given",
                                                     "command": "dcgan-mnist", "is_run": False}
        grid = httpx.get(url + "api/grid?id=given/0&seed=4", timeout=60)
        assert grid.status_code == 200 and json.loads(json.dumps(grid.headers["x-seed"])) == "4"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    bad = subprocess.run([sys.executable, "-m", "ganzoo", "explore", "not-a-generator", "--no-browser"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not-a-generator" in bad.stderr


def test_the_benchmark_script_times_a_grid_and_a_translation(tmp_path):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "explore.py"
    proc = subprocess.run([sys.executable, str(script), "--repeats", "1", "--threads", "1", "--only", "dcgan-mnist",
                           "pix2pix-mnist-edges"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"dcgan-mnist\s+grid of 64 samples\s+\d+\.\d", proc.stdout), proc.stdout
    assert re.search(r"pix2pix-mnist-edges\s+translate 1 picture\s+\d+\.\d", proc.stdout), proc.stdout
