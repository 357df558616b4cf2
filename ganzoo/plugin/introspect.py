"""Read a factory's docstring and keyword parameters without importing it.

A lazy factory ``"pkg.mod:Attr"`` points into a module that imports torch.
`ganzoo info` must not pay for that, so the module's source is parsed with
``ast`` instead: the docstring of the class (or function) and the keyword
parameters of its ``__init__`` (or the function) with their annotations and
literal defaults. A class without its own ``__init__`` gets its base's, found
in the same module or through the module's imports, as Python would. Callables
passed directly are read with `inspect`. Both readings give the same
`Signature`; tests/test_params.py holds them together for every registered
component.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ..base.specs import Param

# Arguments the builder always passes itself; not user-settable parameters.
_CONTEXT = {"self", "cls", "data", "setup"}  # what the builder passes first: not the user's to set
# Bases followed across modules at most this deep (re-exports included), against import cycles.
_MAX_DEPTH = 12


@dataclass(frozen=True)
class Signature:
    """What a factory declares: its docstring, keyword parameters, and whether it takes any other name.

    ``open`` is true for a factory with ``**kwargs``, and for one whose
    signature could not be read (it then accepts what it is given).
    """

    doc: str
    params: tuple[Param, ...]
    open: bool = False


UNREADABLE = Signature("", (), True)


def read_signature(factory: str | Callable[..., object]) -> Signature:
    """The factory's `Signature`; `UNREADABLE` when it cannot be read."""
    try:
        if isinstance(factory, str):
            return _read_source(factory)
        return _read_live(factory)
    except Exception:  # an unreadable source must never break listing
        return UNREADABLE


# -- the live reading (at build, and for callables registered directly) ---------------------------

def _read_live(obj: Callable[..., object]) -> Signature:
    doc = inspect.getdoc(obj) or ""
    try:
        sig = inspect.signature(obj)  # a class: its __init__ (inherited or not), without self
    except (TypeError, ValueError):
        return Signature(doc, (), True)
    params = []
    is_open = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            is_open = True
            continue
        if p.name in _CONTEXT or p.kind is p.VAR_POSITIONAL:
            continue
        ann = p.annotation
        type_name = "" if ann is p.empty else ann if isinstance(ann, str) else inspect.formatannotation(ann)
        required = p.default is p.empty
        params.append(Param(p.name, type_name, None if required else p.default, required))
    return Signature(doc, tuple(params), is_open)


# -- the source reading (for `ganzoo info`, torch-free) ---------------------------------------------

def _read_source(target: str) -> Signature:
    module_name, _, attr = target.partition(":")
    tree = _module_tree(module_name, may_import_parents=True)
    if tree is None:
        return UNREADABLE
    node = _find(tree, attr.split("."))
    if node is None:
        return UNREADABLE
    doc = inspect.cleandoc(ast.get_docstring(node) or "")
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        params, is_open = _params(node)
        return Signature(doc, params, is_open)
    found = _init_of(node, module_name, tree, 0)
    if found is None:
        return Signature(doc, (), True)
    params, is_open = found if found is not _NO_INIT else ((), False)
    return Signature(doc, params, is_open)


_Def = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
_Found = tuple[tuple[Param, ...], bool]
# A class chain that reaches `object` without an __init__: object() takes no arguments.
_NO_INIT: _Found = ((), False)


def _init_of(node: ast.ClassDef, module: str, tree: ast.Module, depth: int) -> _Found | None:
    """(params, open) of the __init__ a class runs; `_NO_INIT` if none in its chain; None if unknown."""
    if depth > _MAX_DEPTH:
        return None
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            return _params(item)
    if any(_generates_init(d) for d in node.decorator_list) or node.keywords:
        return None  # a dataclass's generated __init__, a metaclass: not read from source
    for base in node.bases:  # the first base whose chain has an __init__, as the MRO of simple hierarchies
        if isinstance(base, ast.Name) and base.id == "object":
            continue
        where = _resolve(base, module, tree, depth)
        if where is None:
            return None
        found = _init_of(*where, depth + 1)
        if found is not _NO_INIT:
            return found
    return _NO_INIT


def _generates_init(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else ""
    return name in ("dataclass", "define", "frozen", "attrs", "s")


def _resolve(base: ast.expr, module: str, tree: ast.Module, depth: int) -> tuple[ast.ClassDef, str, ast.Module] | None:
    """The class a base expression names: in this module, or in the module an import brings it from."""
    if isinstance(base, ast.Name):
        return _class_in(module, tree, base.id, depth)
    if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
        imported = _imported_module(tree, module, base.value.id)
        if imported is not None:
            other = _module_tree(imported)
            if other is not None:
                return _class_in(imported, other, base.attr, depth + 1)
    return None


def _class_in(module: str, tree: ast.Module, name: str, depth: int) -> tuple[ast.ClassDef, str, ast.Module] | None:
    if depth > _MAX_DEPTH:
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node, module, tree
    for node in tree.body:  # `from x import Name` (a re-export included)
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = _absolute(node, module, tree)
                    other = _module_tree(source) if source else None
                    return _class_in(source, other, alias.name, depth + 1) if source and other else None
    return None


def _imported_module(tree: ast.Module, module: str, name: str) -> str | None:
    """The module a top-level name is bound to by ``import a.b as name`` or ``from pkg import name``."""
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname == name:
                    return alias.name
                if alias.asname is None and alias.name.partition(".")[0] == name:
                    return name
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = _absolute(node, module, tree)
                    return f"{source}.{alias.name}" if source else None
    return None


def _absolute(node: ast.ImportFrom, module: str, tree: ast.Module) -> str | None:
    if not node.level:
        return node.module
    package = module if _IS_PACKAGE.get(module) else module.rpartition(".")[0]
    try:
        return importlib.util.resolve_name("." * node.level + (node.module or ""), package)
    except ImportError:
        return None


_IS_PACKAGE: dict[str, bool] = {}


def _module_tree(module: str, may_import_parents: bool = False) -> ast.Module | None:
    """A module's parsed source, without running it.

    Finding ``a.b.c`` imports ``a`` and ``a.b``; outside the factory's own
    module (whose registration package is loaded already) that is done only
    when they are loaded already, so following a base into ``torch.nn`` never
    imports torch: such a base is left unread.
    """
    parents = module.split(".")[:-1]
    if not may_import_parents and any(".".join(parents[:i + 1]) not in sys.modules for i in range(len(parents))):
        return None
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    _IS_PACKAGE[module] = spec.submodule_search_locations is not None
    stat = os.stat(spec.origin)
    return _parse(spec.origin, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _parse(path: str, mtime_ns: int, size: int) -> ast.Module:
    # keyed by the file's identity, not the module's name: tests reuse module names for different files
    with open(path, encoding="utf-8") as fh:
        return ast.parse(fh.read(), filename=path)


def _find(tree: ast.Module, path: list[str]) -> _Def | None:
    node: ast.AST = tree
    found: _Def | None = None
    for part in path:
        body = getattr(node, "body", [])
        found = next((n for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.name == part), None)
        if found is None:
            return None
        node = found
    return found


def _params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> _Found:
    args = func.args
    positional = args.posonlyargs + args.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults))
    out = []
    for arg, default in pairs:
        if arg.arg in _CONTEXT:
            continue
        type_name = ast.unparse(arg.annotation) if arg.annotation is not None else ""
        if default is None:
            out.append(Param(arg.arg, type_name, None, True))
            continue
        try:
            value = ast.literal_eval(default)
        except ValueError:
            value = ast.unparse(default)
        out.append(Param(arg.arg, type_name, value, False))
    return tuple(out), args.kwarg is not None
