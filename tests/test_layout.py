"""The layout of the core (docs/plugins.md, "Layout of the core"): layers whose imports run downward only, with
no circle, and the plugin API's public paths as faces that hand on names and hold no code.

Read from the source (every import, the ones inside functions and under TYPE_CHECKING included), so a lazy
import cannot hide an arrow that runs back up.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "ganzoo"

#: the layers, bottom first: a module may import its own layer and the ones below it
LAYERS = ["base", "config", "plugin", "components", "runs", "evaluation", "training"]
#: what stands on the layers, each above what it imports
TOP = {"api": 7, "testing": 7, "__init__": 8, "explore": 9, "cli": 10, "__main__": 11}
#: the plugin API's public paths kept at the top (ganzoo.config and ganzoo.cli are their packages' faces)
FACES = ["algorithm", "checkpoint", "device", "ema", "errors", "images", "interfaces", "loggers", "losses", "nn",
         "params", "pretrained", "registry", "sampling", "specs", "trained", "walk"]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The ganzoo modules ``path`` imports, anywhere in it (a name imported from a package counts as its submodule
    where there is one)."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in MODULES else source)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == "ganzoo" or m.startswith("ganzoo.")}


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}


def _rank(module: str) -> int:
    parts = module.split(".")
    if module == "ganzoo":
        return TOP["__init__"]
    first = parts[1]
    if first in LAYERS:
        return LAYERS.index(first)
    if first in FACES:
        return TOP["__init__"]
    return TOP[first]


def test_every_module_stands_on_a_layer():
    assert all(m == "ganzoo" or m.split(".")[1] in LAYERS + FACES + list(TOP) + ["config", "cli"]
               for m in MODULES), sorted(MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_downward(module):
    up = sorted(t for t in _imports(MODULES[module]) if _rank(t) > _rank(module))
    assert not up, f"{module} imports a layer above it: {up}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.split(".")[-1] not in FACES or m.count(".") > 1))
def test_nothing_inside_imports_a_face(module):
    faces = sorted(t for t in _imports(MODULES[module]) if t.count(".") == 1 and t.split(".")[1] in FACES)
    assert not faces, f"{module} imports the plugin API's face {faces}: import from where the names live"


def test_no_circles():
    graph = {m: {t for t in _imports(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(m: str) -> None:  # Tarjan's strongly connected components
        index[m] = low[m] = len(index)
        stack.append(m)
        for t in graph[m]:
            if t not in index:
                visit(t)
                low[m] = min(low[m], low[t])
            elif t in stack:
                low[m] = min(low[m], index[t])
        if low[m] == index[m]:
            component = []
            while True:
                t = stack.pop()
                component.append(t)
                if t == m:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    assert not circles


@pytest.mark.parametrize("face", FACES)
def test_a_face_hands_on_names_and_holds_no_code(face):
    tree = ast.parse((PACKAGE / f"{face}.py").read_text(encoding="utf-8"))
    body = tree.body[1:] if isinstance(tree.body[0], ast.Expr) else tree.body  # its docstring
    assert all(isinstance(n, ast.ImportFrom) or (isinstance(n, ast.Assign) and n.targets[0].id == "__all__")
               for n in body)
    module = importlib.import_module(f"ganzoo.{face}")
    handed = {a.asname or a.name for n in body if isinstance(n, ast.ImportFrom) for a in n.names} - {"annotations"}
    assert set(module.__all__) == handed
    for name in module.__all__:
        home = next(n.module for n in body if isinstance(n, ast.ImportFrom) and name in {a.name for a in n.names})
        assert getattr(importlib.import_module(f"ganzoo.{home}"), name) is getattr(module, name)
