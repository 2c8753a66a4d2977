"""Fuzz the expression parser, the analysis and the kernels; report inputs tried, refused and the slowest.

Run: python benchmarks/fuzz_parser.py [--inputs 2000] [--seed 0]

Inputs come from a random grammar of the expression language and of what lies just outside it:
arithmetic, every whitelisted function with right and wrong arities, ``where`` with conditions,
sums and products of shifted copies (cases and kinks multiply), deep nests of one function, power
towers, extreme numbers (1e400, 10**300, 0/0), parameters (``a``, given values up to 1e300),
code-execution payloads that would create a sentinel file, and random character mutations of all
of these.  Inputs are at most 2,000 characters (the parser's limit; a few longer ones check the
refusal).  Each input goes through everything a user can ask for: ``gl.activation``, kinks,
smoothness, GSD, f'' and, when accepted, compilation of f' (``act.df``, cold: a fresh kernel cache),
whose finite values are compared with mpmath's (30 digits) at three points.  A per-input alarm (30 s) turns a hang
into a counted timeout instead of a stuck run.

Any outcome other than a value or a ``ValueError`` (``ExpressionError`` is one) is a crash and is
printed with its input; so are timeouts, wrong numbers and a created sentinel.

Every ``--surfaces``-th input also goes through the other doors an expression has: ``gradlab show``
(in-process: exit 0 or 2, one line on stderr, no traceback) and a sweep spec naming it as its
activation (an exact two-input gradient_error, cached in the temporary directory: an answer or a
ValueError/TypeError).  Everything written goes to temporary directories, removed at the end.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

FUNCTIONS = {
    "exp": 1, "log": 1, "sqrt": 1, "sin": 1, "cos": 1, "tan": 1, "sinh": 1, "cosh": 1, "tanh": 1, "atan": 1,
    "asinh": 1, "erf": 1, "erfc": 1, "abs": 1, "sign": 1, "heaviside": 1, "max": 2, "min": 2, "sigmoid": 1,
    "Phi": 1, "phi": 1, "relu": 1, "where": 3,
}
NUMBERS = ["0", "1", "2", "3", "0.5", "0.1", "9", "64", "65", "1e-300", "1e300", "1e308", "1e400", "1e9",
           "10**300", "2**64", "0/0", "1/0", "pi", "e", "1.5", "-1"]
ALPHABET = "x0123456789.e+-*/()<>=, abcdefghijklmnopqrstuvwxyz_[]'\""


class Timeout(Exception):
    pass


class Grammar:
    def __init__(self, rng: random.Random, sentinel: Path):
        self.rng = rng
        self.payloads = [
            f"__import__('os').system('touch {sentinel}')",
            f"open('{sentinel}', 'w')",
            f"exec(\"open('{sentinel}', 'w')\")",
            f"eval(\"open('{sentinel}', 'w')\")",
            f"(lambda: open('{sentinel}', 'w'))()",
            f"where(x > 0, x, open('{sentinel}', 'w'))",
            f"x + getattr(x, '__class__')('{sentinel}')",
            "().__class__.__bases__[0].__subclasses__()",
            f"[open('{sentinel}', 'w') for x in (1,)]",
        ]

    def atom(self) -> str:
        r = self.rng.random()
        if r < 0.55:
            return "x"
        if r < 0.85:
            return self.rng.choice(NUMBERS)
        if r < 0.93:
            return str(self.rng.randint(-50, 50))
        return self.rng.choice(["a", "a", "y", "X", "os", "__builtins__", "_", "inf", "nan", "I"])

    def expr(self, depth: int) -> str:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.2:
            return self.atom()
        kind = rng.random()
        if kind < 0.3:
            op = rng.choice(["+", "-", "*", "/", "**", "*", "+"])
            return f"({self.expr(depth - 1)}{op}{self.expr(depth - 1)})"
        if kind < 0.6:
            name = rng.choice(list(FUNCTIONS))
            arity = FUNCTIONS[name] if rng.random() < 0.9 else rng.randint(0, 4)
            if name == "where" and arity == 3:
                cmp = rng.choice([">", "<", ">=", "<=", ">", "=="])
                cond = f"{self.expr(depth - 1)} {cmp} {self.expr(depth - 1)}"
                args = [cond, self.expr(depth - 1), self.expr(depth - 1)]
            else:
                args = [self.expr(depth - 1) for _ in range(arity)]
            return f"{name}({', '.join(args)})"
        if kind < 0.68:
            return f"-{self.expr(depth - 1)}"
        if kind < 0.78:  # copies with x shifted: kinks, cases and terms multiply
            child = self.expr(min(depth - 1, 2))
            n = rng.randint(2, 16)
            return rng.choice(["+", "*"]).join(child.replace("x", f"(x-{k})") for k in range(n))
        if kind < 0.84:  # a deep nest of one function
            name = rng.choice(["sigmoid", "tanh", "exp", "Phi", "sqrt", "abs", "relu", "log", "erf", "-"])
            n = rng.randint(2, 120)
            return (name + "(") * n + self.atom() + ")" * n if name != "-" else "-" * n + self.atom()
        if kind < 0.88:  # a power tower
            base = rng.choice(["9", "2", "x", "a", "1.5", "e", "(x+1)"])
            levels = [rng.choice(["64", "2", "a", "x", "0.5", "-1", "65", "9"]) for _ in range(rng.randint(1, 5))]
            text = base
            for level in levels:
                text = f"({text})**{level}" if rng.random() < 0.5 else f"{text}**{level}"
            return text
        if kind < 0.92:
            return rng.choice(self.payloads)
        # outside the language: comparisons as values, other operators and constructs
        op = rng.choice(["==", "%", "//", "<<", ",", " if x else ", " and ", ">"])
        return f"({self.expr(depth - 1)}{op}{self.expr(depth - 1)})"

    def mutate(self, text: str) -> str:
        rng = self.rng
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(chars) + 1)
            action = rng.random()
            if action < 0.4:
                chars.insert(where, rng.choice(ALPHABET))
            elif action < 0.7 and chars:
                del chars[min(where, len(chars) - 1)]
            elif chars:
                chars[min(where, len(chars) - 1)] = rng.choice(ALPHABET)
        return "".join(chars)

    def input(self) -> str:
        text = self.expr(self.rng.randint(1, 7))
        if self.rng.random() < 0.2:
            text = self.mutate(text)
        if len(text) > 2000 and self.rng.random() < 0.9:
            text = text[:2000]
        return text


def run_one(text: str, a: float | None, np, gl, sp) -> tuple[str, dict[str, float], str]:
    """(outcome, seconds per stage, detail) for one input."""
    times: dict[str, float] = {}
    params = {} if a is None else {"a": a}
    t = time.perf_counter()
    try:
        act = gl.activation(text, **params)
        times["parse"] = time.perf_counter() - t
        t = time.perf_counter()
        _ = act.kinks(), act.smoothness, act.gsd_exact, act.d2expr
        times["analysis"] = time.perf_counter() - t
        t = time.perf_counter()
        points = np.array([-1.2345, 0.3456, 2.3456])
        values = act.df(points)
        times["compile"] = time.perf_counter() - t
    except ValueError as exc:
        times.setdefault("parse", time.perf_counter() - t)
        return "refused", times, f"{type(exc).__name__}: {exc}"
    # f' compiled against f' evaluated by mpmath to 30 digits (these points avoid kinks in practice),
    # where float64 can hold it: beyond, or where the float64 formula overflows on the way (inf - inf,
    # inf * 0), the kernel's nan or inf is float64 arithmetic, not checked here.
    from gradlab.activations import x
    from gradlab.activations.guards import float_value

    checked = []
    for p, v in zip(points, values):
        try:
            if not abs(float_value(act.df_expr, {x: float(p)})) < 1e300:
                continue
        except (OverflowError, ValueError, TypeError):
            continue
        exact = float(act.df_expr.evalf(30, subs={x: sp.Rational(repr(float(p)))}))
        if not np.isclose(v, exact, rtol=1e-9, atol=1e-12):
            return "mismatch", times, f"df({p}) = {v} vs mpmath {exact}"
        checked.append(p)
    return "accepted" if checked else "unchecked", times, ""


def run_surfaces(text: str, gl, cli_main, cache: str) -> tuple[str, str]:
    """(outcome, detail) of ``text`` through ``gradlab show`` and a sweep spec: 'ok' or a crash."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = cli_main(["show", "--", text])  # '--': a text such as '-x' is the argument, not an option
        except SystemExit as exc:  # argparse's own refusal
            code = exc.code if isinstance(exc.code, int) else 2
    lines = err.getvalue().strip().splitlines()
    if code not in (0, 2) or "Traceback" in err.getvalue() or not lines and code == 2 or (
            code == 2 and "usage:" not in err.getvalue() and len(lines) != 1):
        return "cli crash", f"gradlab show: exit {code}\n{err.getvalue()[-600:]}"
    spec = {"query": "gradient_error", "activations": text, "x": [0.0, 0.3], "method": "exact", "chain": {}}
    try:
        gl.sweep(spec, cache=cache, progress=False)
    except (ValueError, TypeError):
        pass
    return "ok", ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alarm", type=int, default=30, help="seconds before an input counts as a timeout")
    parser.add_argument("--surfaces", type=int, default=5,
                        help="every N-th input also through gradlab show and a sweep spec (0: never)")
    args = parser.parse_args()

    import atexit
    import shutil

    cache = tempfile.mkdtemp(prefix="gradlab-fuzz-cache-")
    atexit.register(shutil.rmtree, cache, True)  # also when interrupted or the reader of its output leaves
    os.environ["GRADLAB_CACHE_DIR"] = cache  # cold compilation, and the user's cache left alone
    import numpy as np
    import sympy as sp

    import gradlab as gl
    from gradlab.cli import main as cli_main

    sweeps = tempfile.mkdtemp(prefix="gradlab-fuzz-sweeps-")
    atexit.register(shutil.rmtree, sweeps, True)
    sentinel = Path(tempfile.gettempdir()) / f"gradlab-fuzz-sentinel-{os.getpid()}"
    sentinel.unlink(missing_ok=True)
    rng = random.Random(args.seed)
    grammar = Grammar(rng, sentinel)

    def alarm(signum, frame):
        raise Timeout

    signal.signal(signal.SIGALRM, alarm)
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    slowest: list[tuple[float, str, str, dict]] = []
    symbolic: list[tuple[float, str, str]] = []  # parse + analysis, the part the bounds govern
    compiles: list[float] = []
    problems: list[str] = []
    payloads = 0
    start = time.perf_counter()
    load = os.getloadavg()[0]
    for i in range(args.inputs):
        text = grammar.input()
        a = rng.choice([None, None, 0.0, 1.5, -3.0, 64.0, 1e9, 1e300])
        payloads += "sentinel" in text
        signal.alarm(args.alarm)
        try:
            outcome, times, detail = run_one(text, a, np, gl, sp)
        except Timeout:
            outcome, times, detail = "timeout", {"total": float(args.alarm)}, ""
        except Exception:  # noqa: BLE001 - a crash is what this script looks for
            outcome, times, detail = "crash", {}, traceback.format_exc(limit=4)
        finally:
            signal.alarm(0)
        if args.surfaces and i % args.surfaces == 0 and outcome not in ("crash", "timeout"):
            signal.alarm(args.alarm)
            try:
                surface, detail2 = run_surfaces(text, gl, cli_main, sweeps)
            except Timeout:
                surface, detail2 = "surface timeout", ""
            except Exception:  # noqa: BLE001 - a crash is what this script looks for
                surface, detail2 = "sweep crash", traceback.format_exc(limit=4)
            finally:
                signal.alarm(0)
            outcomes["through show and a sweep"] += 1
            if surface != "ok":
                outcome, detail = surface, detail2
        outcomes[outcome] += 1
        if outcome == "refused":
            reasons[detail.split(":")[0] + ": " + _reason(detail)] += 1
        if outcome in ("crash", "timeout", "mismatch", "cli crash", "sweep crash", "surface timeout"):
            problems.append(f"{outcome}: {text[:300]!r} a={a}\n{detail}")
        total = sum(times.values())
        slowest.append((total, outcome, text, times))
        slowest = sorted(slowest, key=lambda s: -s[0])[:8]
        symbolic.append((times.get("parse", 0) + times.get("analysis", 0), outcome, text))
        symbolic = sorted(symbolic, key=lambda s: -s[0])[:8]
        if "compile" in times:
            compiles.append(times["compile"])
        if sentinel.exists():
            problems.append(f"CODE RAN: {text!r}")
            sentinel.unlink()
        if (i + 1) % 200 == 0:
            print(f"{i + 1} inputs, {time.perf_counter() - start:.0f} s: {dict(outcomes)}", file=sys.stderr, flush=True)

    elapsed = time.perf_counter() - start
    print(f"inputs tried: {args.inputs} (seed {args.seed}; {payloads} carrying a sentinel payload) in {elapsed:.0f} s; "
          f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    print(f"outcomes: {dict(outcomes)}")
    print("most common refusals:")
    for reason, n in reasons.most_common(12):
        print(f"  {n:5d}  {reason}")
    print("slowest inputs, all stages (seconds: parse+construct / analysis / compile of f'):")
    for total, outcome, text, times in slowest:
        stages = " / ".join(f"{times.get(k, 0):.2f}" for k in ("parse", "analysis", "compile"))
        print(f"  {total:6.2f} s  {outcome:8s} [{stages}]  {text[:90]!r}{'...' if len(text) > 90 else ''}")
    print("slowest parse + analysis (kinks, smoothness, GSD, f''):")
    for total, outcome, text in symbolic:
        print(f"  {total:6.2f} s  {outcome:8s}  {text[:90]!r}{'...' if len(text) > 90 else ''}")
    if compiles:
        q = np.quantile(compiles, [0.5, 0.95, 1.0])
        print(f"compilation of f' (cold, {len(compiles)} kernels): median {q[0]:.2f} s, 95% {q[1]:.2f} s, "
              f"max {q[2]:.2f} s")
    for p in problems:
        print(p)
    return 1 if problems else 0


def _reason(detail: str) -> str:
    """A refusal message without the input it quotes, to count kinds of refusals."""
    for marker in ("is not allowed", "numbers must lie", "not a real number", "is infinite", "undefined",
                   "pole", "cases", "nodes", "levels deep", "exponent above", "beyond float64", "positive",
                   "comparison", "cannot locate", "not valid syntax", "too large", "characters long",
                   "non-integer power", "x in its exponent", "unknown name", "must be", "closer than"):
        if marker in detail:
            return marker
    return detail[-60:]


if __name__ == "__main__":
    sys.exit(main())
