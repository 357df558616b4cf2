"""docs/plugins.md says what the code does (issue 24, item 4): its §11 algorithm example runs as written, every
register method and keyword is in the hook reference, and every helper the example uses is documented.

A third party works from that page alone, so each check reads the page itself.
"""

from __future__ import annotations

import inspect
import re
import sys
import types

import pytest

from conftest import ROOT, fit, tiny
from ganzoo import hookimpl
from ganzoo.training.algorithm import Setup
from ganzoo.runs.checkpoint import load
from ganzoo.config.layers import REFUSED, TABLES
from ganzoo.plugin.registry import ComponentRegistrar, RecipeRegistrar
from ganzoo.testing import check_algorithm

DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the ``## title`` section, up to the next one."""
    start = DOC.index(f"\n## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end != -1 else None]


ALGORITHMS = section("11. Training algorithms")
HOOKS = section("2. Hook reference")
BLOCKS = re.findall(r"```python\n(.*?)```", ALGORITHMS, re.S)


def block(needle: str) -> str:
    found = [b for b in BLOCKS if needle in b]
    assert len(found) == 1, f"one python block of §11 holds {needle!r}"
    return found[0]


@pytest.fixture
def documented(toy, add_plugin, monkeypatch):
    """§11's algorithm module, imported as the name its registration gives, and that registration as a plugin."""
    package = types.ModuleType("ganzoo_acme")
    package.__path__ = []
    module = types.ModuleType("ganzoo_acme.alternating")
    monkeypatch.setitem(sys.modules, "ganzoo_acme", package)
    monkeypatch.setitem(sys.modules, "ganzoo_acme.alternating", module)
    exec(compile(block("class Alternating(Algorithm)"), "docs/plugins.md §11", "exec"), module.__dict__)
    registration = block('"alternating", "ganzoo_acme.alternating:Alternating"')

    class Acme:
        @hookimpl
        def ganzoo_register_components(self, register):
            exec(compile(registration, "docs/plugins.md §11", "exec"), {"register": register})

    return add_plugin(Acme(), "acme")


def config(**train):
    return {**tiny(**train), "algo": {"name": "alternating"}}


def test_the_algorithm_example_passes_check_algorithm_as_the_doc_calls_it(documented):
    assert "check_algorithm(name, config" in ALGORITHMS
    report = check_algorithm("alternating", config())  # positional, as §11 writes it
    assert {"modules and optimizers", "finite step values", "grid", "bit-exact resume"} <= set(report.checks)


def test_the_algorithm_example_keeps_the_runs_ema_and_resumes_with_it(documented, tmp_path):
    res = fit({**config(steps=4, ema=0.5), "out": str(tmp_path / "run")})
    assert load(res.checkpoint).section("ema")  # --ema is not dropped: the trainer keeps it for the example
    report = check_algorithm("alternating", config(ema=0.5))
    assert "bit-exact resume" in report.checks


def test_check_algorithm_is_documented_with_its_signature():
    params = [p for p in inspect.signature(check_algorithm).parameters if p != "registry"]
    doc = re.search(r"check_algorithm\(([^)]*)\)`", ALGORITHMS)
    assert doc is not None
    assert [re.split(r"[=:]", p)[0].strip() for p in doc.group(1).split(",") if p.strip() != "*"] == params


@pytest.mark.parametrize("registrar", [ComponentRegistrar, RecipeRegistrar])
def test_every_register_method_and_keyword_is_in_the_hook_reference(registrar):
    for name, method in inspect.getmembers(registrar, inspect.isfunction):
        if name.startswith("_") or name == "commit":
            continue
        rows = [line for line in HOOKS.splitlines() if line.startswith(f"| `register.{name}(")]
        assert len(rows) == 1, f"register.{name} has no row of its own in §2"
        for param in list(inspect.signature(method).parameters)[1:]:
            assert re.search(rf"\b{param}\b", rows[0]), f"register.{name}'s {param!r} is not in its row"


def test_register_recipe_lists_the_tables_a_recipe_takes():
    row = next(line for line in HOOKS.splitlines() if line.startswith("| `register.recipe("))
    tables = set(re.findall(r"`(\w+)`", row.split("|")[2]))
    assert set(TABLES) <= tables and not tables & set(REFUSED), row


def test_every_ganzoo_name_the_example_uses_and_every_setup_member_is_documented():
    imported = {n.strip() for line in re.findall(r"^\s*from ganzoo\.\w+ import (.+)$", "\n".join(BLOCKS), re.M)
                for n in line.split(",")}
    assert {"Algorithm", "update", "generate", "write_picture"} <= imported
    rows = "\n".join(line for line in ALGORITHMS.splitlines() if line.startswith("| "))
    for name in imported - {"Algorithm", "LossInputs"}:  # the class is the section; LossInputs is §1's
        assert f"`{name}(" in rows, f"{name} is used by the example but has no row in §11"
    members = [n for n, _ in inspect.getmembers(Setup) if not n.startswith("_")]
    members += [f.name for f in Setup.__dataclass_fields__.values()]
    for name in set(members):
        assert re.search(rf"`(setup\.)?{name}\b", ALGORITHMS), f"Setup.{name} is not documented in §11"


def test_the_latents_sample_and_eval_feed_a_generator_are_documented():
    assert "What `ganzoo sample` and `ganzoo eval` feed a generator" in DOC
    feed = DOC[DOC.index("What `ganzoo sample` and `ganzoo eval` feed a generator"):][:3000]
    for needle in ("N(0, I)", "train.latent_dim", "sample_latent", "--label", "--truncation", "--seed"):
        assert needle in feed, needle
