"""Read a factory's docstring and keyword parameters without importing it.

A lazy factory ``"pkg.mod:Attr"`` points into a module that imports torch.
`ganzoo info` must not pay for that, so the module's source is parsed with
``ast`` instead: the docstring of the class (or function) and the keyword
parameters of ``__init__`` (or the function) with their annotations and
literal defaults. Callables passed directly are inspected normally.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
from typing import Any
from collections.abc import Callable

from .specs import Param

# Arguments the builder always passes itself; not user-settable parameters.
_CONTEXT = {"self", "cls", "data"}


def describe(factory: str | Callable[..., Any]) -> tuple[str, tuple[Param, ...]]:
    """Return (docstring, params) for a factory; ('', ()) when it cannot be read."""
    try:
        if isinstance(factory, str):
            return _describe_source(factory)
        return _describe_live(factory)
    except Exception:  # an unreadable source must never break listing
        return "", ()


def _describe_live(obj: Callable[..., Any]) -> tuple[str, tuple[Param, ...]]:
    doc = inspect.getdoc(obj) or ""
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = []
    for p in inspect.signature(target).parameters.values():
        if p.name in _CONTEXT or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = p.annotation
        type_name = "" if ann is p.empty else (ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann)))
        required = p.default is p.empty
        params.append(Param(p.name, type_name, None if required else p.default, required))
    return doc, tuple(params)


def _describe_source(target: str) -> tuple[str, tuple[Param, ...]]:
    module_name, _, attr = target.partition(":")
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return "", ()
    with open(spec.origin, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), filename=spec.origin)
    node = _find(tree, attr.split("."))
    if node is None:
        return "", ()
    doc = ast.get_docstring(node) or ""
    func = node
    if isinstance(node, ast.ClassDef):
        func = next(
            (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
            None,
        )
    return inspect.cleandoc(doc), _params(func) if func is not None else ()


def _find(tree: ast.AST, path: list[str]) -> ast.AST | None:
    node: ast.AST | None = tree
    for part in path:
        body = getattr(node, "body", [])
        node = next(
            (
                n
                for n in body
                if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == part
            ),
            None,
        )
        if node is None:
            return None
    return node


def _params(func: ast.FunctionDef) -> tuple[Param, ...]:
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
    return tuple(out)
