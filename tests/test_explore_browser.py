"""`ganzoo explore` in a real browser: headless Chromium, driven by Selenium, against the real server.

The page is used as a person would (pick, click, type, drag, draw) and the assertions are on what it shows:
the pixels of the pictures it displays, classified by the shipped mnist-10k classifier where a digit is
asked for. Locally the test skips, saying what is missing, when chromium, its driver or selenium is not
installed; in CI (``CI=true``) it fails instead, so the browser test can never quietly not run there
(.ci/run installs Debian's ``chromium`` and ``chromium-driver``).

Screenshots go to a temporary folder, or to docs/explore/ with ``GANZOO_SCREENSHOTS=1`` (what the README
shows).
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
CLASSIFIER = ROOT / "plugins" / "datasets" / "data" / "mnist-10k-classifier.safetensors"
WAIT = 60  # seconds for one picture; a grid takes well under one on two cores, the first load a few


def missing(reason: str) -> None:
    if CI:
        pytest.fail(f"the browser test must run in CI: {reason}")
    pytest.skip(reason)


def _browser_paths() -> tuple[str, str]:
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver") or next((p for p in ("/usr/lib/chromium/chromedriver",) if Path(p).exists()),
                                                  None)
    if browser is None or driver is None:
        missing("headless Chromium is not installed (Debian: apt-get install chromium chromium-driver)")
    assert browser is not None and driver is not None
    return browser, driver


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    pytest.importorskip("starlette") if not CI else None
    pytest.importorskip("uvicorn") if not CI else None
    cwd = tmp_path_factory.mktemp("explore")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", "explore", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if not match:
            proc.kill()
            raise AssertionError(f"ganzoo explore did not start: {line}{proc.stderr.read() if proc.stderr else ''}")
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (pip install 'ganzoo[test]')")
    browser, chromedriver = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1500", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    drv.set_script_timeout(WAIT)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    if os.environ.get("GANZOO_SCREENSHOTS"):
        folder = ROOT / "docs" / "explore"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("shots")


# -- reading what the page shows -------------------------------------------------------------------------------

def version(drv: Any, img: str) -> int:
    return int(drv.execute_script(f"return Number(document.getElementById('{img}').dataset.version || 0)"))


def wait_picture(drv: Any, img: str, after: int) -> None:
    """Until <img id=img> shows a picture newer than version ``after``; the page's error, if it shows one."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if version(drv, img) > after:
            return
        message = drv.execute_script("const m = document.getElementById('message'); return m.hidden ? '' : m.textContent")
        assert not message, f"the page says: {message}"
        time.sleep(0.1)
    raise AssertionError(f"#{img} did not change within {WAIT} s")


def shown(drv: Any, img: str) -> bytes:
    """The bytes of the picture <img id=img> displays (its blob: URL, read back inside the page)."""
    data = drv.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById(arguments[0]).src).then(r => r.arrayBuffer()).then(buf => {
            let s = ""; const bytes = new Uint8Array(buf);
            for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
            done(btoa(s));
        }).catch(e => done("error: " + e));""", img)
    assert not data.startswith("error"), data
    return base64.b64decode(data)


def grey(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("L"))


def tiles(grid: np.ndarray, side: int, pad: int = 2) -> torch.Tensor:
    """A `ganzoo sample` grid cut back into its images: uint8 (N, 1, side, side)."""
    rows, cols = (grid.shape[0] - pad) // (side + pad), (grid.shape[1] - pad) // (side + pad)
    out = [grid[pad + r * (side + pad):pad + r * (side + pad) + side, pad + c * (side + pad):pad + c * (side + pad) + side]
           for r in range(rows) for c in range(cols)]
    return torch.from_numpy(np.stack(out)).unsqueeze(1)


def digits(images: torch.Tensor) -> list[int]:
    from ganzoo.evaluation.classifier import load

    _, probs = load(CLASSIFIER, "shipped").embed(images)
    return probs.argmax(dim=1).tolist()


# -- the test ------------------------------------------------------------------------------------------------

def test_the_page_in_a_real_browser(server, driver, shots, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    drv = driver
    drv.get(server)
    deadline = time.monotonic() + WAIT
    while drv.execute_script("return document.body.dataset.ready") != "true":
        assert time.monotonic() < deadline, "the page did not list the generators"
        time.sleep(0.1)
    listed = [o.get_attribute("value") for o in drv.find_elements(By.CSS_SELECTOR, "#generator option")]
    assert "pretrained/biggan-mnist" in listed and "pretrained/pix2pix-mnist-edges" in listed

    # pick a pretrained generator: a grid appears
    before = version(drv, "grid")
    Select(drv.find_element(By.ID, "generator")).select_by_value("pretrained/biggan-mnist")
    wait_picture(drv, "grid", before)
    first = grey(shown(drv, "grid"))
    assert first.shape == (10 * 34 + 2, 8 * 34 + 2)  # one row of 8 per class, 10 classes of 32 px

    # a new seed: another grid, and the command shown draws exactly it
    before = version(drv, "grid")
    drv.find_element(By.ID, "new-seed").click()
    wait_picture(drv, "grid", before)
    second = grey(shown(drv, "grid"))
    assert not np.array_equal(first, second)
    command = drv.find_element(By.ID, "command").text
    seed = int(re.search(r"--seed (\d+)", command).group(1))
    assert command == f"ganzoo sample biggan-mnist --seed {seed}"
    import ganzoo
    from ganzoo.explore.zoo import png

    expected = ganzoo.load("biggan-mnist").sample(80, torch.arange(10).repeat_interleave(8), seed=seed)
    assert np.array_equal(second, grey(png(expected, 8)))

    # pick a class: every image of the grid is that digit, by the shipped classifier
    before = version(drv, "grid")
    Select(drv.find_element(By.ID, "label")).select_by_value("7")
    wait_picture(drv, "grid", before)
    sevens = grey(shown(drv, "grid"))
    assert sevens.shape == (8 * 34 + 2, 8 * 34 + 2)
    said = digits(tiles(sevens, 32))
    assert len(said) == 64 and said.count(7) >= 60, said
    assert "--label 7" in drv.find_element(By.ID, "command").text

    # move the truncation control (by keyboard, as a person can): the grid changes, the command says so
    slider = drv.find_element(By.ID, "value-truncation_threshold")
    drv.find_element(By.ID, "use-truncation_threshold").click()  # switching it on draws at its value
    wait_picture(drv, "grid", before + 1)
    before = version(drv, "grid")
    slider.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    wait_picture(drv, "grid", before)
    truncated = grey(shown(drv, "grid"))
    assert not np.array_equal(truncated, sevens)
    assert re.search(r"--truncation 0\.\d+", drv.find_element(By.ID, "command").text)
    assert digits(tiles(truncated, 32)).count(7) >= 60
    drv.save_screenshot(str(shots / "explore-grid.png"))

    # a walk: an animation of the frames asked for, from this seed to another, downloadable
    seed_b = drv.find_element(By.ID, "seed-b")
    seed_b.clear()
    seed_b.send_keys(str(seed + 1))
    frames = drv.find_element(By.ID, "frames")
    frames.clear()
    frames.send_keys("12")
    before = version(drv, "walk")
    drv.find_element(By.ID, "walk-button").click()
    wait_picture(drv, "walk", before)
    with Image.open(io.BytesIO(shown(drv, "walk"))) as gif:
        assert gif.format == "GIF" and gif.n_frames == 12
        pictures = []
        for k in (0, 11):
            gif.seek(k)
            pictures.append(np.asarray(gif.convert("L")))
    assert not np.array_equal(pictures[0], pictures[1])
    link = drv.find_element(By.ID, "walk-download")
    assert link.is_displayed() and link.get_attribute("download").endswith(".gif")
    assert f"--walk {seed} {seed + 1} --frames 12" in drv.find_element(By.CSS_SELECTOR, "#walk-command code").text

    # pix2pix: draw a stroke on the canvas; on release it comes back translated
    before = version(drv, "translated")
    Select(drv.find_element(By.ID, "generator")).select_by_value("pretrained/pix2pix-mnist-edges")
    canvas = drv.find_element(By.ID, "canvas")
    deadline = time.monotonic() + WAIT
    while not canvas.is_displayed():  # once the page has asked what the generator takes
        assert time.monotonic() < deadline, "no canvas for pix2pix"
        time.sleep(0.1)
    assert not drv.find_element(By.ID, "noise").is_displayed()
    actions = ActionChains(drv).move_to_element_with_offset(canvas, 0, -90).click_and_hold()
    for k in range(1, 33):  # an oval outline, as the edges of a zero
        angle = 2 * np.pi * k / 32
        target = (int(55 * np.sin(angle)), int(-90 * np.cos(angle)))
        actions.move_to_element_with_offset(canvas, *target)
    actions.release().perform()
    wait_picture(drv, "translated", before)
    zero = grey(shown(drv, "translated"))
    assert zero.shape == (32, 32) and zero.max() > 128 and (zero > 128).mean() > 0.05  # a drawn digit, not black
    assert digits(torch.from_numpy(zero.copy())[None, None]) == [0]
    drv.save_screenshot(str(shots / "explore-pix2pix.png"))

    # a second stroke changes the translation
    before = version(drv, "translated")
    ActionChains(drv).move_to_element_with_offset(canvas, -100, 100).click_and_hold() \
        .move_to_element_with_offset(canvas, 100, -100).release().perform()
    wait_picture(drv, "translated", before)
    assert not np.array_equal(grey(shown(drv, "translated")), zero)

    # an upload that is no picture: a message in the page, and the server goes on serving
    bad = tmp_path / "not-a-picture.png"
    bad.write_bytes(b"this is not a picture")
    drv.find_element(By.ID, "upload").send_keys(str(bad))
    deadline = time.monotonic() + WAIT
    message = ""
    while not message and time.monotonic() < deadline:
        message = drv.execute_script("const m = document.getElementById('message'); return m.hidden ? '' : m.textContent")
        time.sleep(0.1)
    assert "not a picture ganzoo can read" in message and "Traceback" not in message
    before = version(drv, "translated")
    drv.find_element(By.ID, "clear").click()
    wait_picture(drv, "translated", before)
