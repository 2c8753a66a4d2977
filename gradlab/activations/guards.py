"""Guards on the symbolic work an activation may ask for, and on the values it may take.

A short text can keep sympy busy for hours: exact integers with millions of digits
(``(((9**64)**64)**64)**64``), piecewise forms whose case count doubles with every ``abs``,
``max`` or ``where`` (a product of 14 ``where``: 16,384 cases), derivatives that grow with the
nesting depth and with the length of products (f'' of a product of n factors has n^2 terms of n
factors).  Each expensive step is therefore preceded by an estimate that costs one pass over the
tree, and refused with an :class:`ExpressionError` naming the bound before sympy starts.  The
bounds sit far above what the built-ins need (their largest f'' has 119 nodes, 3 cases) and keep
the worst accepted input near a second of analysis and compilation (measured in
benchmarks/README.md, "Bounded work for any expression").

The same checks make sure that an activation is a real, finite number on the whole real line: no
complex or undefined constants, no number beyond float64's range, no pole.
"""
from __future__ import annotations

import ctypes
import functools
import math
import threading
import time
from contextlib import contextmanager

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import Boolean

__all__ = [
    "MAX_CASES",
    "MAX_CONDITION_DEPTH",
    "MAX_CONDITION_NODES",
    "MAX_FUNCTION_DEPTH",
    "MAX_MAGNITUDE",
    "MAX_NESTING",
    "MAX_PIECEWISE_DEPTH",
    "MAX_SECONDS",
    "MIN_MAGNITUDE",
    "MAX_TREE",
    "NUMERIC_FAILURES",
    "ExpressionError",
    "WorkBudget",
    "check_cases",
    "check_conditions",
    "check_constants",
    "check_number",
    "check_real_line",
    "check_value",
    "derivative",
    "derivative_size",
    "piecewise_cases",
    "refusing",
    "tree_size",
]

#: Largest magnitude of a number in an expression or its derivatives: float64 reaches 1.8e308, and
#: the headroom lets a kernel multiply such a constant by moderate values before it overflows.
MAX_MAGNITUDE = 1e300
#: Smallest magnitude of a non-zero number: below it float64 loses digits (subnormals from 2.2e-308)
#: and then rounds to 0, and sympy's exact rationals for such numbers have thousands of digits
#: (``(1e-300)**64`` has 19,200; ``((1e-300)**64)**64`` took 30 s to build).
MIN_MAGNITUDE = 1e-300
#: Most cases the flat piecewise form may have (each abs, max, min, where, sign multiplies them).
MAX_CASES = 16
#: Most nodes in the sympy tree of f, f', f'' or of a higher derivative the analysis takes.
MAX_TREE = 3000
#: Most nodes in the conditions of the flat piecewise form, all pieces together, and the deepest
#: nesting of and/or in one: sympy simplifies them again at every derivative, and that grows fast
#: with their nesting (16 pieces, 940 condition nodes nested 14 deep: 10 s a derivative).  Sixteen
#: abs or where pieces need 160 nodes, abs(abs(abs(x)-1)-1)+abs(x-3) 418, nested 2 deep.
MAX_CONDITION_NODES = 600
MAX_CONDITION_DEPTH = 4
#: Deepest nesting of calls and operators (sympy recurses once per level and more).
MAX_NESTING = 32
#: Deepest nest of transcendental functions (exp, erf, sigmoid, Phi, non-integer powers...): evaluating
#: one exactly at a point costs several times more with each level (Phi nested 4 deep: 0.08 s, 5: 0.3-0.7 s,
#: 7: 5 s), and the analysis evaluates f' at 0 and at every kink.
MAX_FUNCTION_DEPTH = 4
#: Deepest nest of piecewise functions inside the expressions their conditions test: folding
#: abs(abs(abs(abs(x)-1)-1)-1) into one piecewise takes sympy 1.2 s (3 deep: 0.4 s), and its
#: conditions come out nested 13 deep.
MAX_PIECEWISE_DEPTH = 3

_MAX_INT = int(MAX_MAGNITUDE)
_INFINITIES = (sp.zoo, sp.oo, sp.S.NegativeInfinity)


class ExpressionError(ValueError):
    """A user expression that is not in the allowed language, or asks for too much work."""


def _short(expr: object, limit: int = 60) -> str:
    text = expr if isinstance(expr, str) else sp.sstr(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- a budget of time -------------------------------------------------------------------------
#: Seconds of symbolic work (CPU time of the working thread) one expression may take: its parse,
#: and (separately) its whole analysis (folding, derivatives, kinks, smoothness, GSD, LaTeX)
#: together.  The structural bounds above keep what they let through near a second at most; this
#: catches what they cannot foresee (sympy solving, simplifying or printing for many seconds on a
#: short input).  The built-ins need 0.01-0.1 s.  Measured: benchmarks/README.md.
MAX_SECONDS = 1.0

_deadlines = threading.local()
_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
#: How often the watcher reads the working thread's clock.
_POLL = 0.02


class _OutOfTime(BaseException):
    """Raised inside the working thread when its time is up (a BaseException: sympy's and mpmath's
    ``except Exception`` handlers must not swallow it)."""


def _thread_clock(tid: int):
    """A function reading the CPU time of thread ``tid`` (wall time where the platform has no such clock)."""
    try:
        clock = time.pthread_getcpuclockid(tid)
        time.clock_gettime(clock)
    except (AttributeError, OSError):  # not Linux
        return time.perf_counter
    return lambda: time.clock_gettime(clock)


class _Deadline:
    """Raise :class:`_OutOfTime` in this thread once it has worked ``seconds`` (CPU time), until stopped.

    A watcher thread reads the working thread's CPU clock and raises the exception in it
    asynchronously (``PyThreadState_SetAsyncExc``): the working thread gets it at its next Python
    instruction, so pure-Python work (sympy) stops within milliseconds, at no cost while it runs (a
    trace function doubled sympy's time).  CPU time, not wall time, so a loaded machine does not
    refuse what a quiet one accepts; it works in any thread (marimo runs cells outside the main
    thread, where signals cannot be used).  It is raised again a few times should a handler swallow it.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.fired = False
        self._tid = threading.get_ident()
        self._clock = _thread_clock(self._tid)
        self._start = self._clock()
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._watch, name="gradlab-deadline", daemon=True).start()

    def _watch(self) -> None:
        fired = 0
        while not self._stopped.wait(_POLL):
            if self._clock() - self._start < self.seconds:
                continue
            with self._lock:
                if self._stopped.is_set():
                    return
                self.fired = True
                _set_async_exc(self._tid, ctypes.py_object(_OutOfTime))
            fired += 1
            if fired == 5 or self._stopped.wait(0.25):
                return

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
        if self.fired:  # raised, and perhaps not yet delivered: withdraw it
            _set_async_exc(self._tid, ctypes.py_object())


class WorkBudget:
    """Seconds of symbolic work left to one expression, spent by the steps run in :meth:`spending`."""

    def __init__(self, seconds: float | None = None):
        self.seconds = MAX_SECONDS if seconds is None else seconds
        self.spent = 0.0

    @contextmanager
    def spending(self, what: str):
        """Run the block within what is left of the budget; past it, an ExpressionError naming ``what``.

        Nested steps (in this thread) run inside the outermost one's deadline and are charged once.
        """
        if getattr(_deadlines, "active", False):
            yield
            return
        left = self.seconds - self.spent
        if left <= 0:
            raise ExpressionError(self._message(what))
        deadline = _Deadline(left)
        _deadlines.active = True
        start = time.thread_time()
        try:
            deadline.start()
            try:
                yield
            finally:
                deadline.stop()
        except _OutOfTime:
            self.spent = self.seconds
            raise ExpressionError(self._message(what)) from None
        finally:
            _deadlines.active = False
            self.spent += time.thread_time() - start

    def _message(self, what: str) -> str:
        return (
            f"{what} was stopped: it needs more than {self.seconds:g} s of symbolic work (CPU time), gradlab's bound "
            "for one expression (gradlab.activations.guards.MAX_SECONDS); write it more simply (fewer "
            "pieces, or conditions whose boundary is a low-degree polynomial)"
        )


# --- numbers ----------------------------------------------------------------------------------
def check_number(value: sp.Expr, what: str) -> None:
    """Refuse a constant (no free symbols) that is undefined, infinite, complex or beyond MAX_MAGNITUDE.

    ``what`` names it in the message (the text it came from).  Every operand is checked before the
    operation that uses it, and the magnitude is found in float64 arithmetic (:func:`float_value`),
    so the check stays cheap: mpmath fails on erfc(1e300) and never returns on some towers.
    """
    if value.is_Rational:  # exact and the common case: compare integers, no evaluation
        if abs(value.p) > _MAX_INT * value.q:
            raise ExpressionError(_too_large(what, value))
        if value != 0 and abs(value.p / value.q) < MIN_MAGNITUDE:
            raise ExpressionError(_too_small(what, value))
        return
    if value is sp.nan:
        raise ExpressionError(f"{what} is undefined (0/0 or the like)")
    if value in _INFINITIES:
        raise ExpressionError(f"{what} is infinite (a division by zero or the like)")
    try:
        real = value.is_extended_real
        if real is None:  # sympy cannot tell from the structure: look at the number
            re, im = value.evalf(20).as_real_imag()
            real = not (im.is_Number and abs(im) > 1e-12 * max(1, abs(re)))
    except Exception:  # noqa: BLE001 - whatever mpmath raises, the number cannot be used
        raise ExpressionError(f"{what} cannot be evaluated ({_short(value)})") from None
    if real is False:
        raise ExpressionError(f"{what} is not a real number ({_short(value)})")
    try:
        approx = float_value(value)
    except OverflowError as exc:
        raise ExpressionError(f"{what} cannot be used: {exc}; numbers must lie within ±{MAX_MAGNITUDE:g}") from None
    except (TypeError, ValueError):
        raise ExpressionError(f"{what} is not a real number ({_short(value)})") from None
    if math.isnan(approx):
        raise ExpressionError(f"{what} is undefined or not a real number ({_short(value)})")
    if abs(approx) > MAX_MAGNITUDE:
        raise ExpressionError(_too_large(what, sp.Float(approx)))
    if 0 < abs(approx) < MIN_MAGNITUDE or (approx == 0 and value.is_zero is False):
        raise ExpressionError(_too_small(what, value))
    # Later steps (differentiation, simplification) evaluate it with mpmath, which can fail where
    # float64 does not (erfc(1e300) is 0.0 in math, OverflowError in mpmath).  Asked here, every
    # time: sympy caches an assumption found before such a failure, so the failure may not recur
    # where it was first met.
    if not value.is_Float:
        try:
            value.evalf(20)
        except Exception:  # noqa: BLE001 - whatever mpmath raises, the number cannot be used
            raise ExpressionError(f"{what} cannot be evaluated ({_short(value)})") from None


def _too_large(what: str, value: sp.Expr) -> str:
    return (
        f"{what} is about {sp.Float(value, 3)!s}; numbers must lie within ±{MAX_MAGNITUDE:g} "
        "so that float64 kernels can compute with them"
    )


def _too_small(what: str, value: sp.Expr) -> str:
    try:
        size = f"about {sp.Float(value.evalf(3), 3)!s}" if value.is_Rational else "below 1e-300"
    except Exception:  # noqa: BLE001 - only for the message
        size = "below 1e-300"
    return (
        f"{what} is {size}; a non-zero number must be at least {MIN_MAGNITUDE:g} in magnitude: below it "
        "float64 loses its digits and then rounds to 0 (write 0 if 0 is meant)"
    )


def check_constants(expr: sp.Basic, what: str) -> None:
    """Refuse NaN, infinities, the imaginary unit and numbers beyond MAX_MAGNITUDE anywhere in ``expr``."""
    for atom in expr.atoms():
        if atom is sp.nan:
            raise ExpressionError(f"{what} is undefined somewhere (it contains nan: 0/0 or the like)")
        if atom in _INFINITIES:
            raise ExpressionError(f"{what} is infinite somewhere (it contains {atom}: a division by zero or the like)")
        if atom is sp.I:
            raise ExpressionError(f"{what} is not real (it contains the imaginary unit)")
        if atom.is_Number and atom != 0 and abs(float(atom)) < MIN_MAGNITUDE:
            raise ExpressionError(_too_small(what, atom))
        if atom.is_Number and abs(atom) > MAX_MAGNITUDE:
            raise ExpressionError(
                f"{what} holds the number {sp.Float(atom, 3)!s}, beyond ±{MAX_MAGNITUDE:g}: float64 kernels "
                "cannot compute with it (is a parameter this large?)"
            )


def check_real_line(expr: sp.Expr, x: sp.Symbol, what: str) -> None:
    """Refuse an expression that is not real and finite (with a finite derivative) for every real x.

    The rules are structural and conservative: sympy must be able to show, from x being real, that
    the base of a negative power is never 0, that the base of a non-integer power or a power with x
    in the exponent is always positive, and that the argument of log is always positive.  tan of an
    expression in x is refused (it has poles).  Anything it cannot show is refused with the reason.
    """
    depends: dict[sp.Basic, bool] = {}

    def visit(e: sp.Basic) -> bool:
        if e in depends:
            return depends[e]
        dep = e == x
        for a in e.args:
            dep = visit(a) or dep
        depends[e] = dep
        if dep:
            _check_node(e, x, depends, what)
        return dep

    visit(expr)


def _check_node(e: sp.Basic, x: sp.Symbol, depends: dict, what: str) -> None:
    if isinstance(e, sp.Pow):
        base, exp = e.args
        if depends.get(exp):
            if base.is_positive is not True:
                raise ExpressionError(
                    f"{what}: {_short(e)} has x in its exponent, so its base {_short(base)} must be positive "
                    "for every real x, and gradlab cannot show that it is"
                )
        elif exp.is_Integer and exp > 0:
            return
        elif exp.is_Integer:
            if base.is_zero is not False:
                raise ExpressionError(
                    f"{what}: {_short(e)} is infinite where {_short(base)} = 0 (a pole), and gradlab cannot show "
                    "that this never happens for real x; activations must be finite on the whole real line"
                )
        elif base.is_positive is not True:
            raise ExpressionError(
                f"{what}: {_short(e)} is a non-integer power of {_short(base)}, which is complex, or has an infinite "
                "derivative, where the base is <= 0; gradlab cannot show that the base is positive for every real x"
            )
    elif isinstance(e, sp.log):
        if e.args[0].is_positive is not True:
            raise ExpressionError(
                f"{what}: {_short(e)} needs a positive argument for every real x, and gradlab cannot show that "
                f"{_short(e.args[0])} is positive"
            )
    elif isinstance(e, sp.tan):
        raise ExpressionError(f"{what}: {_short(e)} is infinite where cos({_short(e.args[0])}) = 0 (poles)")


_FLOAT = {
    sp.exp: math.exp, sp.log: math.log, sp.sin: math.sin, sp.cos: math.cos, sp.tan: math.tan, sp.sinh: math.sinh,
    sp.cosh: math.cosh, sp.tanh: math.tanh, sp.atan: math.atan, sp.asinh: math.asinh, sp.erf: math.erf,
    sp.erfc: math.erfc, sp.Abs: abs,
}


def float_value(value: sp.Expr, at: dict[sp.Symbol, float] | None = None) -> float:
    """``value`` (with the symbols in ``at`` replaced) in float64 arithmetic, in one pass.

    Raises OverflowError where the value overflows, or where its exact form would be extreme: a
    power or exponential whose magnitude has more than ``_MAX_BITS`` binary digits either way, which
    sympy would compute digit by digit (9**(2**64) at x = 2 of 9**(x**64)) or mpmath for ever
    (exp(exp(exp(exp(100))))).  A bound on the work exact evaluation will take, checked first.
    """
    at = at or {}

    def value_of(e: sp.Basic) -> float:
        if e in at:
            return at[e]
        if e.is_Rational:
            return e.p / e.q  # OverflowError ("integer division result too large") beyond float64
        if e.is_Float or e in (sp.pi, sp.E):
            return float(e)
        args = e.args
        if isinstance(e, sp.Add):
            return math.fsum(value_of(a) for a in args)
        if isinstance(e, sp.Mul):
            return math.prod(value_of(a) for a in args)
        if isinstance(e, sp.Pow):
            base, exp = value_of(args[0]), value_of(args[1])
            if base != 0 and abs(exp * math.log2(abs(base))) > _MAX_BITS:
                raise OverflowError(f"{_short(e)} is beyond 2**±{_MAX_BITS}, too large or small to compute")
            return math.pow(base, exp) if base > 0 or exp == int(exp) else math.nan
        if isinstance(e, sp.exp):
            arg = value_of(args[0])
            # exp(-n log(9)) is 9**(-n) to sympy, computed exactly; other exponentials of very negative
            # arguments are cheap for mpmath (exp(-500000) at x = 1000 of phi(x)).
            if abs(arg) > _MAX_BITS and args[0].has(sp.log):
                raise OverflowError(f"{_short(e)} is beyond e**±{_MAX_BITS}, too large or small to compute")
            return math.exp(arg)  # OverflowError where it overflows
        if type(e) in _FLOAT:
            try:
                return _FLOAT[type(e)](value_of(args[0]))
            except ValueError:  # outside the function's domain
                return math.nan
        return float(e.evalf(15, subs=at))

    try:
        return value_of(value)
    except OverflowError as exc:
        if "beyond" in str(exc):
            raise
        raise OverflowError(f"{_short(value)} overflows float64") from None


#: Exact powers beyond 2**±this are refused before sympy computes them.
_MAX_BITS = 100_000


def check_value(value: sp.Expr, what: str, at: dict[sp.Symbol, float] | None = None) -> None:
    """Refuse a value (of an expression at the point ``at``) that overflows, is NaN or is too extreme to evaluate."""
    try:
        v = float_value(value, at)
        reason = "not a real number" if math.isnan(v) else f"about {v:.3g}, beyond ±{MAX_MAGNITUDE:g}"
    except OverflowError as exc:
        v, reason = math.inf, str(exc) or "beyond float64's range"
    except (TypeError, ValueError):  # complex
        v, reason = math.nan, "not a real number"
    if not abs(v) <= MAX_MAGNITUDE:
        raise ExpressionError(f"{what} cannot be computed: {reason}; activations must be finite on the whole real line")


#: What sympy and mpmath raise, deep inside, on numbers they cannot handle (mpmath's erfc of 1e300:
#: OverflowError) or on trees too deep for them; turned into a refusal by :func:`refusing`.
NUMERIC_FAILURES = (ArithmeticError, RecursionError, NotImplementedError)


def refusing(what: str):
    """Decorator: NUMERIC_FAILURES inside the function become an ExpressionError saying ``what`` failed."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except ExpressionError:
                raise
            # ValueError: mpmath's domain errors deep inside sympy (erfinv(2) while solving erf(x) = 2).
            except (*NUMERIC_FAILURES, ValueError) as exc:
                why = ("sympy met a value outside a function's domain" if type(exc) is ValueError
                       else "on numbers too extreme to handle")
                raise ExpressionError(f"{what} failed: {why} ({type(exc).__name__}: {_short(str(exc), 80)})") from None

        return wrapper

    return decorate


# --- size estimates ---------------------------------------------------------------------------
def tree_size(expr: sp.Basic, limit: int | None = None) -> int:
    """Nodes in the sympy tree of ``expr`` (counting stops just above ``limit``)."""
    n = 0
    stack = [expr]
    while stack:
        e = stack.pop()
        n += 1
        if limit is not None and n > limit:
            return n
        stack.extend(e.args)
    return n


_CASES_OF = {sp.Abs: 2, sp.sign: 3, sp.Heaviside: 3}


def piecewise_cases(expr: sp.Basic, memo: dict[sp.Basic, int] | None = None) -> int:
    """An upper bound on the number of cases of ``expr``'s flat piecewise form.

    Folding multiplies cases: a sum or product of pieces with m and n cases has up to m n.  abs
    has 2, sign and heaviside 3, max and min of k arguments k, a Piecewise the sum over its pieces.
    ``memo`` keeps the counts of sub-expressions between calls (a parser asks once per node).
    """
    memo = {} if memo is None else memo

    def cases(e: sp.Basic) -> int:
        if not e.args:
            return 1
        if e in memo:
            return memo[e]
        if isinstance(e, sp.Piecewise):
            n = sum(cases(piece) * cases(cond) for piece, cond in e.args)
        else:
            n = _CASES_OF.get(type(e), len(e.args) if isinstance(e, (sp.Max, sp.Min)) else 1)
            for a in e.args:
                n *= cases(a)
        memo[e] = n
        return n

    return cases(expr)


def check_conditions(expr: sp.Basic, what: str) -> None:
    """Refuse a flat piecewise form whose conditions hold more than MAX_CONDITION_NODES nodes."""
    if isinstance(expr, sp.Piecewise):
        n = sum(tree_size(cond, MAX_CONDITION_NODES) for _, cond in expr.args)
        depth = max(_logic_depth(cond) for _, cond in expr.args)
        if n > MAX_CONDITION_NODES or depth > MAX_CONDITION_DEPTH:
            raise ExpressionError(
                f"{what}: the conditions of its pieces are too involved ({n} terms together, and/or nested "
                f"{depth} deep; at most {MAX_CONDITION_NODES} and {MAX_CONDITION_DEPTH}): conditions on pieces "
                "of pieces; write the pieces out with where()"
            )


def _logic_depth(cond: sp.Basic) -> int:
    if isinstance(cond, (sp.And, sp.Or, sp.Not)):
        return 1 + max(_logic_depth(c) for c in cond.args)
    return 0


def check_cases(expr: sp.Basic, what: str) -> None:
    """Refuse an expression whose piecewise form would have more than MAX_CASES cases."""
    n = piecewise_cases(expr)
    if n > MAX_CASES:
        raise ExpressionError(
            f"{what}: its piecewise form would have up to {n} cases (each abs, max, min, sign or where "
            f"multiplies them); at most {MAX_CASES} are analysed"
        )


def derivative_size(expr: sp.Basic, x: sp.Symbol) -> int:
    """An estimate of the node count of d expr / dx, from one pass over ``expr``.

    Follows the rules sympy differentiates by: a sum differentiates term by term, a product of n
    factors gives n products (each copying the other factors), a power or function of u gives
    a few nodes around a copy of u times u'.  Conditions are copied as they are.
    """
    size: dict[sp.Basic, int] = {}
    dsize: dict[sp.Basic, int] = {}

    def walk(e: sp.Basic) -> None:
        if e in size:
            return
        for a in e.args:
            walk(a)
        size[e] = 1 + sum(size[a] for a in e.args)
        if e == x:
            dsize[e] = 1
        elif not any(dsize[a] for a in e.args) or isinstance(e, (Relational, Boolean)):
            dsize[e] = 0
        elif isinstance(e, sp.Add):
            dsize[e] = 1 + sum(dsize[a] for a in e.args)
        elif isinstance(e, sp.Mul):
            total = sum(size[a] for a in e.args)
            dependent = [a for a in e.args if dsize[a]]
            dsize[e] = 1 + sum(2 + total - size[a] + dsize[a] for a in dependent)
        elif isinstance(e, sp.Piecewise):
            dsize[e] = 1 + sum(2 + dsize[piece] + size[cond] for piece, cond in e.args)
        elif isinstance(e, sp.Pow) and not dsize[e.args[1]]:
            base, exp = e.args
            dsize[e] = 5 + 2 * size[exp] + size[base] + dsize[base]
        else:  # a function of its arguments, or a power with x in the exponent
            dsize[e] = 8 + 2 * size[e] + sum(dsize[a] + size[a] for a in e.args if dsize[a])

    walk(expr)
    return max(dsize[expr], 1)


@functools.lru_cache(maxsize=1024)  # shared by every activation with the same expression
@refusing("differentiating")
def derivative(expr: sp.Expr, x: sp.Symbol, what: str) -> sp.Expr:
    """d expr / dx as a flat piecewise form, refused beforehand when it would be too large.

    ``what`` names the derivative in messages ("f'(x) of relu").
    """
    what = _short(what, 100)
    estimate = derivative_size(expr, x)
    if estimate > MAX_TREE:
        raise ExpressionError(
            f"{what} would have about {estimate} nodes; at most {MAX_TREE} are analysed and compiled "
            "(long products and deep nesting make derivatives grow fast)"
        )
    result = sp.piecewise_fold(sp.diff(expr, x))
    n = tree_size(result, MAX_TREE)
    if n > MAX_TREE:
        raise ExpressionError(f"{what} has more than {MAX_TREE} nodes; at most {MAX_TREE} are analysed and compiled")
    check_constants(result, what)
    return result
