"""How an activation is written wherever users type one: the API, the command line, sweep specs, the explorer.

One grammar, read by :func:`read_spelling` and written by :func:`write_spelling` (which
``Activation.label`` uses, so every label in a table parses back to its activation)::

    relu_gelu                           a built-in at its defaults
    relu_gelu(i=0.5, s=2, kink=right)   a built-in with parameters (by name) and a kink convention
    x*tanh(x)                           an expression in x
    a*x + b; a=2, b=-0.5, kink=left     an expression with parameters, after a semicolon

Values are number literals (a sign allowed); ``kink`` takes a bare or quoted word. The text is
read with Python's ``ast`` and only literals are taken from it: nothing in it is ever executed.
"""
from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gradlab.activations.builtins import BUILTINS
from gradlab.activations.parser import FUNCTIONS, ExpressionError

__all__ = ["Spelling", "format_number", "read_spelling", "write_spelling"]


@dataclass(frozen=True)
class Spelling:
    """What a spelling says: a built-in name or an expression, parameter values, a kink convention (or None)."""

    base: str
    params: dict[str, float] = field(default_factory=dict)
    kink: str | None = None


def format_number(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` ('%g' where that is exact: 0.5, 2, 1e-05)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def write_spelling(base: str, params: Mapping[str, float], kink: str | None, *, builtin: bool) -> str:
    """The spelling of ``base`` with ``params`` and ``kink`` (None: not shown); the inverse of :func:`read_spelling`."""
    items = [f"{k}={format_number(v)}" for k, v in params.items()]
    if kink is not None:
        items.append(f"kink={kink}")
    if not items:
        return base
    return f"{base}({', '.join(items)})" if builtin else f"{base}; {', '.join(items)}"


def read_spelling(text: str) -> Spelling:
    """Split ``text`` into its base, parameters and kink convention (the base is not checked here).

    Raises :class:`ExpressionError` (a ValueError) naming the part that is not NAME=NUMBER (or
    kink=WORD), a parameter given twice, or a built-in's parameters given by position.
    """
    base, semicolon, rest = text.partition(";")
    base = base.strip()
    if semicolon:
        if ";" in rest:
            raise ExpressionError(f"activation {text!r}: one ';' separates an expression from its parameters")
        params, kink = _keywords(rest, text, f"parameters after ';' in {text!r}")
        return Spelling(base, params, kink)
    call = _builtin_call(base)
    if call is None:
        return Spelling(base)
    name, args = call
    params, kink = _keywords(args, text, f"{name}(...)")
    return Spelling(name, params, kink)


#: The start of a keyword argument (NAME= but not NAME==).
_KEYWORD = re.compile(r"\s*[A-Za-z_]\w*\s*=(?!=)")


def _builtin_call(text: str) -> tuple[str, str] | None:
    """(name, the text between the parentheses) when ``text`` is a call of a built-in by its parameters."""
    head, paren, tail = text.partition("(")
    name = head.strip()
    if not paren or name not in BUILTINS or not tail.rstrip().endswith(")"):
        return None
    inner = tail.rstrip()[:-1]
    if name in FUNCTIONS and inner.strip() and not _KEYWORD.match(inner):
        return None  # relu(x), tanh(2*x): the expression functions of the same name
    return name, inner


def _keywords(items: str, text: str, where: str) -> tuple[dict[str, float], str | None]:
    """NAME=NUMBER pairs (and kink=WORD) from a comma-separated list, read as the keywords of a call."""
    if not items.strip():
        return {}, None
    try:
        call = ast.parse(f"_({items})", mode="eval").body
    except SyntaxError:
        raise ExpressionError(
            f"activation {text!r}: {where} must be a list of NAME=VALUE, e.g. relu_gelu(i=0.5) or 'a*x; a=2'"
        ) from None
    if not isinstance(call, ast.Call) or call.args:
        example = _example(where)
        raise ExpressionError(f"activation {text!r}: parameters are given by name as NAME=VALUE, e.g. {example}")
    params: dict[str, float] = {}
    kink = None
    for kw in call.keywords:
        if kw.arg is None:
            raise ExpressionError(f"activation {text!r}: '**' is not allowed in {where}; write NAME=VALUE")
        if kw.arg in params or (kw.arg == "kink" and kink is not None):
            raise ExpressionError(f"activation {text!r}: {kw.arg!r} is given twice in {where}")
        if kw.arg == "kink":
            kink = _word(kw.value, text)
        else:
            params[kw.arg] = _number(kw.value, kw.arg, text)
    return params, kink


def _example(where: str) -> str:
    name = where.partition("(")[0]
    if name in BUILTINS and BUILTINS[name].params:
        p = BUILTINS[name].params[0]
        return f"{name}({p.name}={format_number(p.default)})"
    return "relu_gelu(i=0.5) or 'a*x; a=2'"


def _number(node: ast.AST, name: str, text: str) -> float:
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        value = sign * float(node.value)
        if math.isfinite(value):
            return value
    raise ExpressionError(f"activation {text!r}: parameter {name!r} must be a finite number, e.g. {name}=0.5")


def _word(node: ast.AST, text: str) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise ExpressionError(f"activation {text!r}: kink must be a word such as kink=right")

