"""docs/faithfulness.md names, for each element of each paper, the test that checks it. Those names must stay
true: every reference on the page must name a test file that exists and a test function that file defines.

The forms the page uses: ``tests/test_x.py`` (a whole file), ``tests/test_x.py::test_name``,
``tests/test_x.py::test_name[param]`` (one parametrization) and the shorthand ``::test_name``, which means the
last full ``tests/...py`` named before it in the same table row (or paragraph). Files are read with ``ast``,
not imported: a renamed or deleted test is found without running anything.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "faithfulness.md"

#: a full reference, or the shorthand (``::name`` not preceded by a file name)
REF = re.compile(r"(?P<file>tests/[\w/.-]+?\.py)(?:::(?P<test>\w+)(?P<param>\[[^\]\s]*\])?)?"
                 r"|(?<![\w.])::(?P<short>\w+)(?P<sparam>\[[^\]\s]*\])?")


@dataclass(frozen=True)
class Ref:
    line: int
    file: str
    test: str | None
    param: str | None
    text: str  # as written on the page, for messages


def units(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each unit a shorthand may look back in: a table row, or a paragraph."""
    out: list[tuple[int, str]] = []
    para: list[str] = []
    start = 0
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("|"):
            if para:
                out.append((start, " ".join(para)))
                para = []
            out.append((n, line))
        elif not line.strip():
            if para:
                out.append((start, " ".join(para)))
                para = []
        else:
            if not para:
                start = n
            para.append(line)
    if para:
        out.append((start, " ".join(para)))
    return out


def references(text: str) -> tuple[list[Ref], list[str]]:
    """Every test reference on the page, shorthand resolved; and the shorthands with no file before them."""
    refs: list[Ref] = []
    orphans: list[str] = []
    for line, unit in units(text):
        last_file: str | None = None
        for m in REF.finditer(unit):
            if m["file"]:
                last_file = m["file"]
                refs.append(Ref(line, m["file"], m["test"], m["param"], m[0]))
            elif last_file is None:
                orphans.append(f"line {line}: {m[0]} (no tests/...py before it in its row or paragraph)")
            else:
                refs.append(Ref(line, last_file, m["short"], m["sparam"], m[0]))
    return refs, orphans


@cache
def defined(file: str) -> tuple[frozenset[str], frozenset[str]]:
    """(test functions defined in ``file``, those of them that are parametrized), read with ast."""
    tree = ast.parse((ROOT / file).read_text(encoding="utf-8"), filename=file)
    names, parametrized = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
            if any("parametrize" in ast.unparse(d) for d in node.decorator_list):
                parametrized.add(node.name)
    return frozenset(names), frozenset(parametrized)


def problems(text: str) -> list[str]:
    refs, out = references(text)
    for r in refs:
        where = f"line {r.line}: {r.text}"
        if not (ROOT / r.file).is_file():
            out.append(f"{where}: {r.file} does not exist")
            continue
        if r.test is None:
            continue
        names, parametrized = defined(r.file)
        if r.test not in names:
            out.append(f"{where}: {r.file} defines no {r.test}")
        elif r.param and r.test not in parametrized:
            out.append(f"{where}: {r.file}::{r.test} is not parametrized, so {r.param} names nothing")
    return out


def test_every_test_the_page_names_exists():
    text = PAGE.read_text(encoding="utf-8")
    refs, _ = references(text)
    assert len(refs) > 120  # the page is read: a broken pattern would find (almost) nothing and pass
    found = problems(text)
    assert not found, "docs/faithfulness.md names tests that do not exist:\n" + "\n".join(found)


# -- the checker itself ------------------------------------------------------------------------------------

def test_shorthand_means_the_last_file_named_before_it_in_the_row():
    text = ("| a `tests/test_ema.py::test_x` | b `::test_y`, `tests/test_api.py::test_z[p]` and `::test_w` |\n"
            "| c | `::test_v` |\n"
            "\n"
            "A paragraph names `tests/test_cli.py::test_a`\n"
            "and, on its next line, `::test_b`.\n")
    refs, orphans = references(text)
    assert [(r.file, r.test, r.param) for r in refs] == [
        ("tests/test_ema.py", "test_x", None), ("tests/test_ema.py", "test_y", None),
        ("tests/test_api.py", "test_z", "[p]"), ("tests/test_api.py", "test_w", None),
        ("tests/test_cli.py", "test_a", None), ("tests/test_cli.py", "test_b", None)]
    assert orphans == ["line 2: ::test_v (no tests/...py before it in its row or paragraph)"]


@pytest.mark.parametrize("ref, needle", [
    ("tests/test_no_such_file.py::test_x", "does not exist"),
    ("tests/test_faithfulness_doc.py::test_renamed_away", "defines no test_renamed_away"),
    ("tests/test_faithfulness_doc.py::test_every_test_the_page_names_exists[x]", "is not parametrized"),
])
def test_a_dangling_reference_is_reported_with_its_line(ref, needle):
    text = f"# page\n\n| element | `{ref}` |\n"
    (problem,) = problems(text)
    assert problem.startswith(f"line 3: {ref}") and needle in problem
    assert problems("| element | `tests/test_faithfulness_doc.py::test_a_dangling_reference_is_reported_with_its_line"
                    "[x]` and `tests/test_faithfulness_doc.py` |") == []
