"""Component parameters: checked against their declaration before anything is built. Torch-free.

A component declares its parameters once, in its factory's signature: names,
annotations and defaults, which `ganzoo.plugin.introspect` reads from source for
`ganzoo info` (``ComponentSpec.params``). The same record is what values from
``--set gen.ngf=32``, recipes, config files and ``ganzoo.create`` are checked
against here, so a wrong name, type or value ends in one line naming the
component, its plugin, the parameter and what it expects, instead of a
traceback from deep inside torch.

Understood annotations: ``int``, ``float``, ``bool``, ``str``, ``None``,
``list[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``Sequence[X]``,
``Literal[...]``, ``X | Y``, ``Optional[X]``, ``Union[...]`` and
``Annotated[X, Range(low, high)]`` for bounds. Anything else (a class name,
no annotation) accepts any value, as does a factory with ``**kwargs`` for
names it does not list.
"""

from __future__ import annotations

import ast
import difflib
import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..base.errors import ParamError
from ..base.specs import ComponentSpec, Param

__all__ = ["Range", "check_params", "parse_annotation", "type_label", "TypeSpec", "RESERVED"]


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of a number, declared in its annotation: ``ngf: Annotated[int, Range(1, 1024)]``.

    Read from source by `ganzoo info` and by `check_params`, never called at run
    time by ganzoo; ``None`` leaves a side open.
    """

    low: float | None = None
    high: float | None = None

    def __repr__(self) -> str:  # the form a source annotation spells, so both readings print alike
        return f"Range({self.low!r}, {self.high!r})"

    def text(self) -> str:
        if self.high is None:
            return f">= {_num(self.low)}"
        if self.low is None:
            return f"<= {_num(self.high)}"
        return f"in [{_num(self.low)}, {_num(self.high)}]"


#: Parameters the builder passes itself, per kind: (where the user sets them instead).
RESERVED: dict[str, dict[str, str]] = {"generator": {"latent_dim": "train.latent_dim",
                                                     "source": "the dataset (what an image-to-image generator takes)"}}


def _num(x: float | None) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


class _Mismatch(Exception):
    """A value does not fit a type; the message is what was expected."""


# -- the type model ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TypeSpec:
    """A parsed annotation. ``kind``: any, int, float, bool, str, none, list, tuple, literal, union."""

    kind: str
    items: tuple[TypeSpec, ...] = ()    # list/tuple: one item type (homogeneous) or one per position; union: options
    homogeneous: bool = True            # tuple[X, ...] (True) or tuple[X, Y] (False)
    values: tuple[object, ...] = ()     # literal
    bounds: Range | None = None

    def label(self) -> str:
        """``an int in [1, 1024]``, ``a list of ints``, ``one of 'batch', 'layer'``: for messages and `info`."""
        base = _LABELS.get(self.kind)
        if self.kind in ("list", "tuple"):
            # "list" for tuples too: TOML (--set, config files) writes sequences as [a, b]
            base = f"a list of {self.items[0].plural()}" if self.homogeneous else \
                f"a list of {len(self.items)} ({', '.join(i.label() for i in self.items)})"
        elif self.kind == "literal":
            base = "one of " + ", ".join(repr(v) for v in self.values)
        elif self.kind == "union":
            base = " or ".join(i.label() for i in self.items)
        text = base or "anything"
        return f"{text} {self.bounds.text()}" if self.bounds else text

    def plural(self) -> str:
        words = {"int": "ints", "float": "numbers", "bool": "booleans", "str": "strings", "any": "values"}
        text = words.get(self.kind) or self.label()
        return f"{text} {self.bounds.text()}" if self.bounds and self.kind in words else text

    def coerce(self, value: object) -> object:
        """``value`` checked (and an integral float made an int); raises _Mismatch."""
        out = self._coerce(value)
        if self.bounds is not None and isinstance(out, (int, float)) and not isinstance(out, bool):
            low, high = self.bounds.low, self.bounds.high
            if (low is not None and out < low) or (high is not None and out > high):
                raise _Mismatch(self.label())
        return out

    def _coerce(self, value: object) -> object:
        k = self.kind
        if k == "any":
            return value
        if k == "none":
            if value is None:
                return None
        elif k == "bool":
            if isinstance(value, bool):
                return value
        elif k == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            # TOML reads 1e3 as a float; a whole number is meant
            if isinstance(value, float) and math.isfinite(value) and value == int(value):
                return int(value)
        elif k == "float":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
        elif k == "str":
            if isinstance(value, str):
                return value
            if isinstance(value, os.PathLike):  # a path given from Python for a str parameter such as root
                return os.fspath(value)
        elif k == "literal":
            if any(value == v and type(value) is type(v) for v in self.values):
                return value
        elif k in ("list", "tuple"):
            if isinstance(value, (list, tuple)):
                if self.homogeneous:
                    items = [self.items[0].coerce(v) for v in value]
                elif len(value) == len(self.items):
                    items = [t.coerce(v) for t, v in zip(self.items, value)]
                else:
                    raise _Mismatch(self.label())
                # the container stays as given: TOML gives lists, and config.toml records what was given
                return type(value)(items)
        elif k == "union":
            for option in self.items:
                try:
                    return option.coerce(value)
                except _Mismatch:
                    continue
        raise _Mismatch(self.label())


_LABELS = {"int": "an int", "float": "a number", "bool": "true or false", "str": "a string", "none": "None"}
_ANY = TypeSpec("any")
_SCALARS = {"int": "int", "float": "float", "bool": "bool", "str": "str", "None": "none", "NoneType": "none"}
_SEQUENCES = {"list": "list", "List": "list", "Sequence": "list", "Iterable": "list", "tuple": "tuple",
              "Tuple": "tuple"}


@functools.lru_cache(maxsize=512)
def parse_annotation(text: str) -> TypeSpec:
    """An annotation's source text as a `TypeSpec`; what it does not understand accepts anything."""
    if not text.strip():
        return _ANY
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return _ANY
    return _parse(node)


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.Literal, t.Optional, collections.abc.Sequence
        return node.attr
    return None


def _parse(node: ast.expr) -> TypeSpec:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return TypeSpec("none")
        if isinstance(node.value, str):  # a quoted forward reference
            return parse_annotation(node.value)
        return _ANY
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([_parse(node.left), _parse(node.right)])
    name = _name(node)
    if name is not None:
        if name in _SCALARS:
            return TypeSpec(_SCALARS[name])
        if name in _SEQUENCES:
            return TypeSpec(_SEQUENCES[name], (_ANY,))
        return _ANY
    if not isinstance(node, ast.Subscript):
        return _ANY
    head = _name(node.value)
    args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    if head in _SEQUENCES:
        kind = _SEQUENCES[head]
        if kind == "tuple" and not (len(args) == 2 and _is_ellipsis(args[1])):
            return TypeSpec("tuple", tuple(_parse(a) for a in args), homogeneous=False)
        return TypeSpec(kind, (_parse(args[0]),))
    if head == "Literal":
        try:
            values = tuple(ast.literal_eval(a) for a in args)
        except ValueError:
            return _ANY
        return TypeSpec("literal", values=values)
    if head == "Optional":
        return _union([_parse(args[0]), TypeSpec("none")])
    if head == "Union":
        return _union([_parse(a) for a in args])
    if head == "Annotated":
        inner = _parse(args[0])
        for meta in args[1:]:
            bounds = _range(meta)
            if bounds is not None:
                return TypeSpec(inner.kind, inner.items, inner.homogeneous, inner.values, bounds)
        return inner
    return _ANY


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def _union(options: list[TypeSpec]) -> TypeSpec:
    flat: list[TypeSpec] = []
    for o in options:
        flat.extend(o.items if o.kind == "union" else (o,))
    if any(o.kind == "any" for o in flat):
        return _ANY
    return TypeSpec("union", tuple(flat))


def _range(node: ast.expr) -> Range | None:
    if not (isinstance(node, ast.Call) and _name(node.func) == "Range"):
        return None
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        return Range(*args, **kwargs)
    except (ValueError, TypeError):
        return None


def type_label(text: str) -> str:
    """An annotation as `ganzoo info` shows it: ``int in [1, 1024]`` for ``Annotated[int, Range(1, 1024)]``."""
    if "Annotated" not in text:
        return text
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return text
    return ast.unparse(_Readable().visit(tree))


class _Readable(ast.NodeTransformer):
    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        self.generic_visit(node)
        if _name(node.value) == "Annotated" and isinstance(node.slice, ast.Tuple) and node.slice.elts:
            bounds = next((r for r in map(_range, node.slice.elts[1:]) if r is not None), None)
            inner = ast.unparse(node.slice.elts[0])
            return ast.Name(id=f"{inner} {bounds.text()}" if bounds else inner)
        return node


# -- checking ------------------------------------------------------------------------------------

def check_params(spec: ComponentSpec, params: Mapping[str, object]) -> dict[str, object]:
    """``params`` checked against ``spec.params``; returns them with integral floats made ints.

    Raises `ParamError` (a usage error, exit 2) with one line naming the
    component and its plugin: an unknown name (with a did-you-mean), a value
    of the wrong type or out of its declared range, or a missing required
    parameter.
    """
    declared = {p.name: p for p in spec.params}
    reserved = RESERVED.get(spec.kind, {})
    out: dict[str, object] = {}
    for name, value in params.items():
        if name in reserved:
            raise ParamError(f"{spec.who}: {name} is not a component parameter", f"set {reserved[name]} instead")
        param = declared.get(name)
        if param is None:
            if spec.open_params:
                out[name] = value
                continue
            raise ParamError(f"{spec.who} has no parameter {name!r}", _suggest(name, spec.params, reserved))
        out[name] = _check_one(spec, param, value)
    missing = [p.name for p in spec.params if p.required and p.name not in params and p.name not in reserved]
    if missing:
        raise ParamError(f"{spec.who} needs parameter {missing[0]!r} ({parse_annotation(declared[missing[0]].type).label()})",
                         f"set it as {_table(spec.kind)}.{missing[0]}=VALUE")
    return out


def _check_one(spec: ComponentSpec, param: Param, value: object) -> object:
    expected = parse_annotation(param.type)
    try:
        return expected.coerce(value)
    except _Mismatch:
        pass
    if param.default is None and value is None and not param.required:
        return value  # ``x: int = None``: None is what the factory itself defaults to
    raise ParamError(f"{spec.who}: {param.name} must be {expected.label()}, not {_show(value)}",
                     _example(spec, param))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _table(kind: str) -> str:
    return {"generator": "gen", "discriminator": "disc", "algorithm": "algo"}.get(kind, kind)


def _example(spec: ComponentSpec, param: Param) -> str:
    where = f"loss.{spec.name}" if spec.kind == "loss" else _table(spec.kind)
    if param.required or param.default is None:
        return f"`ganzoo info {spec.name}` describes its parameters"
    return f"for example {where}.{param.name}={_literal(param.default)}, the default"


def _literal(value: object) -> str:
    """A value as it is typed after --set (TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_literal(v) for v in value) + "]"
    return str(value)


def _suggest(name: str, params: tuple[Param, ...], reserved: Mapping[str, str]) -> str:
    known = [p.name for p in params if p.name not in reserved]
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]}?"
    return f"its parameters: {', '.join(known)}" if known else "it takes no parameters"
