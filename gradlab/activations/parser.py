"""Safe parsing of user expressions into sympy.

The text is parsed by Python's :mod:`ast` (which only builds a tree; it never runs anything) and the
tree is walked against a whitelist: numbers, the variable ``x``, declared parameter names, the
constants ``pi`` and ``e``, the operators ``+ - * / **``, comparisons inside ``where`` and calls of
the functions in :data:`FUNCTIONS`.  Everything else (attribute access, subscripts, lambdas,
keywords, strings, dunder names...) is refused.  sympy's ``sympify``/``parse_expr`` are never
given user text because they ``eval`` it.

The work is bounded as the tree is built (:mod:`gradlab.activations.guards`): the text's length,
node count and nesting depth are checked first; every constant sub-expression (parameters
included: they enter as their values) must be a real number within ``MAX_MAGNITUDE`` and, unless
it is 0, not below ``MIN_MAGNITUDE``, checked before it is used, so that no power is computed
whose exact value would be astronomically large or small;
a comparison is only allowed as the condition of ``where``.  The result must be real and finite,
with a finite derivative, on the whole real line (no pole, no square root of a negative number).
The whole parse runs within a :class:`~gradlab.activations.guards.WorkBudget` of ``MAX_SECONDS``.
"""
from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping

import sympy as sp

from gradlab._validate import suggest
from gradlab.activations.guards import (
    MAX_CASES,
    MAX_FUNCTION_DEPTH,
    MAX_NESTING,
    MAX_PIECEWISE_DEPTH,
    NUMERIC_FAILURES,
    ExpressionError,
    WorkBudget,
    check_cases,
    check_constants,
    check_number,
    check_real_line,
    piecewise_cases,
)

__all__ = ["FUNCTIONS", "ExpressionError", "parse_expression"]

MAX_LENGTH = 2000
MAX_NODES = 500
MAX_NUMERIC_EXPONENT = 64
#: A power of two numbers is refused before it is computed when its magnitude would pass 2**this.
_MAX_LOG2 = 1000


def _sigmoid(z: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-z))


def _Phi(z: sp.Expr) -> sp.Expr:
    return (1 + sp.erf(z / sp.sqrt(2))) / 2


def _phi(z: sp.Expr) -> sp.Expr:
    return sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)


def _relu(z: sp.Expr) -> sp.Expr:
    return sp.Piecewise((z, z > 0), (0, True))


def _where(cond: sp.Basic, a: sp.Expr, b: sp.Expr) -> sp.Expr:
    return sp.Piecewise((a, cond), (b, True))


#: Functions a user expression may call, with their arities.
FUNCTIONS: dict[str, tuple[Callable[..., sp.Basic], int]] = {
    "exp": (sp.exp, 1),
    "log": (sp.log, 1),
    "sqrt": (sp.sqrt, 1),
    "sin": (sp.sin, 1),
    "cos": (sp.cos, 1),
    "tan": (sp.tan, 1),
    "sinh": (sp.sinh, 1),
    "cosh": (sp.cosh, 1),
    "tanh": (sp.tanh, 1),
    "atan": (sp.atan, 1),
    "asinh": (sp.asinh, 1),
    "erf": (sp.erf, 1),
    "erfc": (sp.erfc, 1),
    "abs": (sp.Abs, 1),
    "sign": (sp.sign, 1),
    "heaviside": (sp.Heaviside, 1),
    "max": (sp.Max, 2),
    "min": (sp.Min, 2),
    "sigmoid": (_sigmoid, 1),
    "Phi": (_Phi, 1),
    "phi": (_phi, 1),
    "relu": (_relu, 1),
    "where": (_where, 3),
}

_CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E}
_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_COMPARE = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge}


def parse_expression(
    text: str, x: sp.Symbol, params: Mapping[str, sp.Basic] | None = None
) -> sp.Expr:
    """Parse ``text`` into a sympy expression of ``x`` (and of ``params``: names mapped to symbols or numbers).

    Raises :class:`ExpressionError` naming the offending part for anything outside the whitelist,
    for any constant that is not a real number within ``MAX_MAGNITUDE``, for an expression that is
    not real and finite on the whole real line, and for input asking for too much work.  Give
    parameters as numbers where their values are known: their magnitudes are then checked too.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long; at most {MAX_LENGTH} allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"expression {text!r} is not valid syntax: {exc.msg}") from None
    except UnicodeError:  # a lone surrogate such as '\ud800' cannot be encoded for the parser
        raise ExpressionError(
            f"expression {text!r} holds characters that are not valid Unicode text (lone surrogates); "
            "use plain characters"
        ) from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExpressionError(f"expression {text!r} is too large (more than {MAX_NODES} nodes)")
    depth, functions, pieces = _nesting(tree.body)
    if depth > MAX_NESTING:
        raise ExpressionError(
            f"expression {_short(text)!r} nests calls and operators {depth} levels deep; at most {MAX_NESTING} allowed"
        )
    if functions > MAX_FUNCTION_DEPTH:
        raise ExpressionError(
            f"expression {_short(text)!r} nests transcendental functions {functions} deep "
            f"({', '.join(sorted(_TRANSCENDENTAL))} and non-integer powers); at most {MAX_FUNCTION_DEPTH} allowed: "
            "evaluating such nests exactly at a point grows several-fold with each level"
        )
    if pieces > MAX_PIECEWISE_DEPTH:
        raise ExpressionError(
            f"expression {_short(text)!r} nests piecewise functions (abs, relu, max, min, sign, heaviside, the "
            f"condition of where) {pieces} deep; at most {MAX_PIECEWISE_DEPTH} allowed"
        )
    names: dict[str, sp.Basic] = {**_CONSTANTS, **(params or {}), "x": x}
    what = f"expression {_short(text)!r}"
    with WorkBudget().spending(f"parsing {what}"):
        result = _Builder(text, names).visit(tree.body)
        if not isinstance(result, sp.Expr):
            raise ExpressionError(f"expression {text!r} must be a number-valued formula, not a condition")
        check_constants(result, what)
        check_cases(result, what)
        check_real_line(result, x, what)
    return result


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: Piecewise case counts of the functions that make pieces, from those of their arguments (as piecewise_cases).
_PIECEWISE = {
    "abs": lambda c: 2 * c,
    "sign": lambda c: 3 * c,
    "heaviside": lambda c: 3 * c,
    "relu": lambda c: c * c + 1,
    "max": lambda a, b: 2 * a * b,
    "min": lambda a, b: 2 * a * b,
    "where": lambda cond, a, b: cond * a + b,
}
_FAMILY = {ast.Add: "+", ast.Sub: "+", ast.Mult: "*", ast.Div: "*"}


_TRANSCENDENTAL = {"exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "atan", "asinh", "erf", "erfc",
                   "sigmoid", "Phi", "phi"}


def _transcendental(node: ast.AST) -> bool:
    """A call of a transcendental function, or a power whose exponent is not an integer literal."""
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in _TRANSCENDENTAL
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = node.right.operand if isinstance(node.right, ast.UnaryOp) else node.right
        return not (isinstance(exponent, ast.Constant) and isinstance(exponent.value, int))
    return False


def _nesting(root: ast.AST) -> tuple[int, int, int]:
    """(depth of ``root``, deepest nest of transcendental functions, deepest nest of piecewise functions).

    The depth does not count signs or chains of one operator family (``a+b-c``: sympy flattens them).
    Piecewise functions nest through the expressions their conditions test: all arguments of abs,
    relu, max, min, sign and heaviside, the condition of where (not its values: a chain of where
    in the else branch makes one flat piecewise).
    """
    deepest = functions = pieces = 0
    stack = [(root, 1, 0, 0)]
    while stack:
        node, depth, nested, piecewise = stack.pop()
        nested += _transcendental(node)
        deepest, functions, pieces = max(deepest, depth), max(functions, nested), max(pieces, piecewise)
        name = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None
        for child in ast.iter_child_nodes(node):
            flat = isinstance(node, ast.UnaryOp) or (
                isinstance(node, ast.BinOp)
                and isinstance(child, ast.BinOp)
                and _FAMILY.get(type(node.op), "node") == _FAMILY.get(type(child.op), "child")
            )
            tested = name in _PIECEWISE and (name != "where" or child is next(iter(node.args), None))
            stack.append((child, depth if flat else depth + 1, nested, piecewise + tested))
    return deepest, functions, pieces


class _Builder:
    def __init__(self, text: str, names: Mapping[str, sp.Basic]):
        self.text = text
        self.source = text.strip()  # what ast parsed: node offsets refer to it
        self.names = names
        self.cases: dict[sp.Basic, int] = {}  # piecewise case counts of the sub-expressions built

    def refuse(self, what: str) -> ExpressionError:
        return ExpressionError(
            f"expression {self.text!r}: {what} is not allowed; use numbers, x, "
            f"{', '.join(n for n in self.names if n != 'x')}, + - * / ** and the functions "
            f"{', '.join(FUNCTIONS)}"
        )

    def visit(self, node: ast.AST) -> sp.Basic:
        try:
            result = self._visit(node)
            # Every constant is checked where it is built, so no later step works on a huge or complex number.
            if isinstance(result, sp.Expr) and not result.free_symbols:
                check_number(result, f"in expression {_short(self.text)!r}, {self.segment(node)}")
        except (*NUMERIC_FAILURES, TypeError) as exc:  # deep in sympy or mpmath, e.g. 65 - erfc(1e300)
            raise ExpressionError(
                f"in expression {_short(self.text)!r}, {self.segment(node)} cannot be evaluated "
                f"({type(exc).__name__}: {_short(str(exc))})"
            ) from None
        return result

    def segment(self, node: ast.AST) -> str:
        return repr(_short(ast.get_source_segment(self.source, node) or "a constant"))

    def number(self, operand: sp.Basic, node: ast.AST, where: str) -> sp.Expr:
        """``operand`` of an arithmetic operator or a function: a number-valued formula, not a comparison."""
        if not isinstance(operand, sp.Expr):  # a comparison or True/False (a Symbol is a Boolean too)
            raise ExpressionError(
                f"expression {_short(self.text)!r}: the comparison {self.segment(node)} is used as a number "
                f"({where}); a comparison may only be the condition of where(cond, a, b)"
            )
        return operand

    def _visit(self, node: ast.AST) -> sp.Basic:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.refuse(f"the constant {node.value!r}")
            if isinstance(node.value, float) and not math.isfinite(node.value):
                raise ExpressionError(
                    f"in expression {_short(self.text)!r}, the number {self.segment(node)} is beyond float64's range"
                )
            # Decimal-exact: '0.1' becomes 1/10, so symbolic analysis stays exact.
            return sp.Rational(repr(node.value)) if isinstance(node.value, float) else sp.Integer(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise self.refuse(f"the name {node.id!r}{suggest(node.id, self.names)}")
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.number(self.visit(node.operand), node.operand, "after a sign")
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            left = self.number(self.visit(node.left), node.left, "in arithmetic")
            right = self.number(self.visit(node.right), node.right, "in arithmetic")
            if isinstance(node.op, ast.Pow):
                # A numeric exponent such as 9**9**9 would make sympy build a gigantic integer.
                if right.is_number and abs(float(right)) > MAX_NUMERIC_EXPONENT:
                    raise self.refuse(f"a numeric exponent above {MAX_NUMERIC_EXPONENT} in magnitude")
                # So would (9**64)**64: refuse a power of two numbers whose magnitude is out of range
                # before sympy computes it exactly.
                # (1e-300)**64 likewise, from below: its exact denominator has 19,200 digits.
                if left.is_Rational and right.is_Rational and left != 0:
                    log2 = float(right) * (abs(left.p).bit_length() - left.q.bit_length())
                    if abs(log2) > _MAX_LOG2:
                        raise ExpressionError(
                            f"in expression {_short(self.text)!r}, {self.segment(node)} is about 2**{log2:.0f}, "
                            f"{'beyond' if log2 > 0 else 'below'} float64's range"
                        )
                return left**right
            if type(node.op) in _BINOPS:
                return _BINOPS[type(node.op)](left, right)
            raise self.refuse(f"the operator {type(node.op).__name__}")
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
                raise self.refuse("a comparison other than a single <, <=, > or >=")
            left = self.number(self.visit(node.left), node.left, "in a comparison")
            right = self.number(self.visit(node.comparators[0]), node.comparators[0], "in a comparison")
            return _COMPARE[type(node.ops[0])](left, right)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.refuse("calling anything but a named function")
            name = node.func.id
            if name not in FUNCTIONS:
                raise self.refuse(f"the function {name!r}{suggest(name, FUNCTIONS)}")
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise self.refuse(f"keyword or starred arguments in {name}()")
            func, arity = FUNCTIONS[name]
            if len(node.args) != arity:
                raise self.refuse(f"{name}() with {len(node.args)} arguments (it takes {arity})")
            args = [self.visit(a) for a in node.args]
            if name == "where":
                if not isinstance(args[0], sp.core.relational.Relational):
                    raise self.refuse("where() whose first argument is not a comparison")
                for a, arg in zip(node.args[1:], args[1:]):
                    self.number(arg, a, "as a value of where()")
            elif any(not isinstance(a, sp.Expr) for a in args):
                raise self.refuse(f"a comparison as an argument of {name}()")
            if name in _PIECEWISE:  # before sympy builds pieces inside pieces
                cases = _PIECEWISE[name](*(piecewise_cases(a, self.cases) for a in args))
                if cases > MAX_CASES:
                    raise ExpressionError(
                        f"expression {_short(self.text)!r}: {self.segment(node)} would have up to {cases} piecewise "
                        f"cases (each abs, max, min, sign or where multiplies them); at most {MAX_CASES} are analysed"
                    )
            return func(*args)
        raise self.refuse(f"the construct {type(node).__name__}")
