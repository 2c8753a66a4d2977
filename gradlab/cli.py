"""The ``gradlab`` command line: argument parsing that calls the Python API, nothing else."""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
from collections.abc import Sequence

import gradlab as gl
from gradlab.conventions import DTYPES, KINK_CHOICES, KINK_CONVENTIONS, METHODS, NOISES, ROUNDING

__all__ = ["analysis_main", "main", "write_figures"]


#: A word NAME=VALUE on its own: a parameter of the activation named before it (``relu_gelu i=0.25``).
_PARAM_WORD = re.compile(r"^\s*[A-Za-z_]\w*\s*=(?!=)")


def _activations(words: Sequence[str], kink: str | None) -> list:
    """Activations from command-line words: each a spelling (``'relu_gelu(i=0.5)'``), or a name followed by
    NAME=VALUE words, which join its spelling (``relu_gelu i=0.25`` is ``relu_gelu(i=0.25)``)."""
    groups: list[list[str]] = []
    for word in words:
        if _PARAM_WORD.match(word):
            if not groups:
                raise ValueError(f"parameter {word!r} comes before any activation; write e.g. relu_gelu i=0.5")
            groups[-1].append(word)
        else:
            groups.append([word])
    specs = [g[0] if len(g) == 1 else f"{g[0]}({', '.join(g[1:])})" if g[0] in gl.BUILTINS
             else f"{g[0]}; {', '.join(g[1:])}" for g in groups]
    return [gl.activation(spec, kink=kink) for spec in specs]


#: The command line's output fits this many columns.
WIDTH = 100


def _cmd_list(args: argparse.Namespace) -> None:
    import textwrap

    from gradlab.activations.builtins import BUILTINS

    name_w = max(map(len, BUILTINS)) + 2
    indent = " " * name_w
    for b in BUILTINS.values():
        print(textwrap.fill(f"{b.name:<{name_w}}{b.doc}", WIDTH, subsequent_indent=indent))
        if b.params:
            defaults = ", ".join(f"{p.name}={p.default:g}" for p in b.params)
            allowed = ", ".join(f"{p.name} in {p.allowed}" for p in b.params)
            print(textwrap.fill(f"{indent}{defaults}  [{allowed}]", WIDTH, subsequent_indent=indent + "  "))


#: The prefix that asks the command line to import a module: ``py:MODULE:NAME`` or ``py:FILE.py:NAME``.
IMPORT_PREFIX = "py:"

_IMPORT_HELP = ("py:MODULE:NAME or py:FILE.py:NAME imports that module, running its code: the py: prefix is the "
                "explicit request, and nothing else imports")


def _user_object(spec: str):
    """A 'py:module:name' argument: the user's own object (importing the module runs it, at the user's request)."""
    from gradlab.cli_objects import load_object

    if not spec.startswith(IMPORT_PREFIX):
        raise ValueError(f"{spec!r} looks like MODULE:NAME, but a module is imported only when asked: write "
                         f"py:{spec} to import it (running its code), or give a built-in name or an expression")
    return load_object(spec[len(IMPORT_PREFIX):])


def _is_object_spec(text: str) -> bool:
    # Expressions never hold ':'; py:module:name and py:file.py:name always do.  Without the prefix,
    # _user_object refuses it: an argument's shape alone never imports a module.
    return ":" in text


def _cmd_show(args: argparse.Namespace) -> None:
    if _is_object_spec(args.name):
        if args.params:
            raise ValueError(f"parameters cannot be given for {args.name!r}: a callable's parameters are its own")
        obj = _user_object(args.name)
        print(gl.activation(obj, name=args.name.rpartition(":")[2]).describe())
        return
    [act] = _activations([args.name, *args.params], args.kink)
    kinks = act.kinks()
    lines = [
        f"{act!r}",
        f"  f(x)   = {act.expr}",
        f"  f'(x)  = {act.dexpr}",
        f"  smoothness: {act.smoothness}",
        f"  gradient step discontinuity |f'(0+) - f'(0-)| = {_exact_and_value(act.gsd_exact, act.gsd)}",
        f"  f' at a kink: {act.kink} ({gl.KINK_CONVENTIONS[act.kink]})",
    ]
    if act.paper_note:
        lines.append(f"  the paper's code: {act.paper_note}")
    if kinks:
        lines.append("  kinks:")
        for k in kinks:
            at = act.df_exact([float(k.x)])[0]
            lines.append(
                f"    x = {k.x}: jump in f = {k.jump_f}, jump in f' = {k.jump_df} "
                f"(f' from {k.df_left} to {k.df_right}; f'({k.x}) = {at:.6g} under kink={act.kink!r})"
            )
    else:
        lines.append("  kinks: none (f and f' are continuous)")
    try:
        latex = act.latex()
    except gl.ExpressionError as exc:  # the printer alone ran out of time: the rest is still worth showing
        latex = f"skipped: {exc}"
    lines.append(f"  LaTeX: {latex}")
    print("\n".join(lines))


def _exact_and_value(exact, value: float) -> str:
    """'1/2 = 0.5' for an exact form that is not already its decimal value, else the value once ('0')."""
    decimal = f"{value:.6g}"
    return decimal if str(exact) == decimal else f"{exact} = {decimal}"


def _parse_range(text: str):
    import numpy as np

    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"--x must look like START:STOP:N, e.g. -1:1:201, got {text!r}")
    try:
        start, stop, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise ValueError(f"--x must look like START:STOP:N with numbers, got {text!r}") from None
    if n < 1:
        raise ValueError(f"--x: N must be >= 1, got {n}")
    if not (math.isfinite(start) and math.isfinite(stop) and math.isfinite(stop - start)):
        raise ValueError(f"--x: START and STOP must be finite numbers whose difference float64 can hold, got {text!r}")
    from gradlab._budget import check_memory
    from gradlab.queries import FRAME_BYTES

    check_memory(f"--x with N = {n} points", float(n) * FRAME_BYTES)  # before the grid exists
    return np.linspace(start, stop, n)


def _cmd_error(args: argparse.Namespace) -> None:
    import pandas as pd

    from gradlab._io import check_table_path, save_table

    if args.out:
        check_table_path(args.out)  # before the computation, not after
    chain = gl.analog(args.leakage, args.precision, noise=args.noise, clamp=not args.no_clamp, rounding=args.rounding)
    acts = _activations(args.names, args.kink)
    df = gl.gradient_error(acts, chain, _parse_range(args.x), method=args.method, samples=args.samples, seed=args.seed)
    if args.out:
        path = save_table(df, args.out)
        print(f"wrote {len(df)} rows to {path}")
        return
    cols = ["activation", "x", "mean_abs_error", "bias", "rms_error", "stderr", "samples", "method"]
    with pd.option_context("display.max_rows", 500, "display.width", 200):
        print(f"chain: {chain}")
        print(df[cols].to_string(index=False))


def _cmd_audit(args: argparse.Namespace) -> int:
    import pandas as pd

    from gradlab._io import check_table_path, save_table

    if args.out:
        check_table_path(args.out)
    forward = _user_object(args.forward) if _is_object_spec(args.forward) else args.forward
    derivative = _user_object(args.derivative) if args.derivative else None
    chain = None if args.no_impact else gl.analog(args.leakage, args.precision)
    x = _parse_range(args.x) if args.x else None
    report = gl.audit(forward, derivative, x=x, dtype=args.dtype, kink=args.kink, chain=chain,
                      name=args.forward.rpartition(":")[2] if _is_object_spec(args.forward) else None)
    print(report.summary())
    cols = ["x", "claimed", "true", "abs_error", "rel_error", "tolerance", "status"]
    with pd.option_context("display.width", 200):
        print("worst points:")
        print(report.worst[cols].to_string(index=False))
    if args.out:
        path = save_table(report.frame, args.out)
        print(f"wrote {len(report.frame)} rows to {path}")
    return 1 if report.verdict == "bug" else 0


@contextlib.contextmanager
def _one_line_warnings(who: str):
    """gradlab's own warnings (a damaged or unwritable sweep cache) as one line each on stderr."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("gradlab"):
            print(f"{who}: warning: {message}", file=sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        previous = warnings.showwarning
        warnings.showwarning = show
        yield


def _cmd_sweep(args: argparse.Namespace) -> None:
    from gradlab._io import check_table_path, save_table
    from gradlab.sweeps.runner import check_client

    check_table_path(args.out)  # before the sweep, not after
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    # Before any work (no progress bar, no cluster): the sweep extra, and a scheduler that answers.
    check_client(args.workers, "--workers")
    check_client(args.scheduler, "--scheduler")
    with _one_line_warnings("gradlab sweep"):
        df = gl.sweep(args.spec, client=args.scheduler or args.workers, cache=not args.no_cache)
    path = save_table(df, args.out)
    print(f"wrote {len(df)} rows to {path}")


def _figure_names(args: argparse.Namespace) -> list[str]:
    """The figures asked for: --only's (each with its paper rendering under --paper), else the set."""
    from gradlab._validate import suggest
    from gradlab.figures import ALL_FIGURES, FIGURES, PAPER_FIGURES, PAPER_RENDERING_OF

    known = ALL_FIGURES
    if not args.only:
        return [*FIGURES, *(PAPER_FIGURES if args.paper else ())]
    for name in args.only:
        if name not in known:
            raise ValueError(f"--only: unknown figure {name!r}{suggest(name, known)}; figures: {', '.join(known)}")
    names = list(dict.fromkeys(args.only))
    if args.paper:
        renderings = [paper for paper, base in PAPER_RENDERING_OF.items() if base in names and paper not in names]
        if not renderings and not any(name in PAPER_FIGURES for name in names):
            which = ", ".join(f"{base} (its paper rendering: {paper})" for paper, base in PAPER_RENDERING_OF.items())
            raise ValueError(f"--paper: none of the figures of --only has a paper rendering; those that do: {which}")
        for paper in renderings:  # each right after its figure
            names.insert(names.index(PAPER_RENDERING_OF[paper]) + 1, paper)
    return names


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def write_figures(names: Sequence[str], out, *, fmt: str = "png", fast: bool = False, data: bool = False,
                  required: bool = False) -> None:
    """Draw the named figures into the directory ``out`` (checked before any work), with progress on stderr.

    A figure whose optional extra is missing is skipped with a note, unless ``required``.
    """
    import time

    from gradlab._io import check_output_dir, figure_writer, table_writer, write_together
    from gradlab._progress import Progress, duration

    out = check_output_dir(out)  # before any work, and before the heavy imports
    import matplotlib.pyplot as plt

    from gradlab.figures import make_figure

    skipped = []
    bar = Progress(len(names), "figures")
    try:
        for name in names:
            t0 = time.perf_counter()
            bar.working_on(name)
            try:
                fig, frame = make_figure(name, fast=fast)
            except ImportError as exc:
                if required:  # asked for by name: its absence is an error
                    raise
                # An optional extra is missing (the network figures need torch): one line says which, the rest runs.
                bar.message(f"  skipped {name}: {exc}")
                skipped.append(name)
                bar.update(1, f"{name} skipped")
                continue
            files = [(out / f"{name}.{fmt}", figure_writer(fig, out / f"{name}.{fmt}"))]
            if data:  # the figure and its data are published together
                files.append((out / f"{name}.csv", table_writer(frame, out / f"{name}.csv")))
            write_together(files)
            plt.close(fig)
            bar.update(1, f"{name} {duration(time.perf_counter() - t0)}")
    finally:
        bar.close()  # what follows (the summary, an error) starts on its own line
    done = len(names) - len(skipped)
    note = f" ({len(skipped)} skipped: {', '.join(skipped)})" if skipped else ""
    elapsed = duration(time.perf_counter() - bar.start)
    print(f"{_plural(done, 'figure')} written to {out}/ in {elapsed}{note}", file=sys.stderr)


def _output_dir(args: argparse.Namespace, figures_dir="figures") -> str:
    # Fast figures go beside the committed ones, never over them, unless --out says otherwise.
    if args.out:
        return args.out
    return os.path.join(figures_dir, "fast") if args.fast else str(figures_dir)


def _cmd_figures(args: argparse.Namespace) -> None:
    from gradlab.figures import ALL_FIGURES

    if args.list:
        import textwrap

        pad = max(map(len, ALL_FIGURES)) + 2  # the longest name and two spaces
        for name, recipe in ALL_FIGURES.items():
            print(textwrap.fill(f"{name:<{pad}}{recipe.__doc__.splitlines()[0]}", WIDTH, subsequent_indent=" " * pad))
        return
    names = _figure_names(args)
    write_figures(names, _output_dir(args), fmt=args.format, fast=args.fast, data=args.data, required=bool(args.only))


def _cmd_cache(args: argparse.Namespace) -> None:
    from gradlab._io import CACHE_HOME
    from gradlab.kernels.cache import cache_info, clear_cache

    if args.action == "clear":
        removed = clear_cache()
        print(f"removed {removed} from {removed.path}")
        return
    info = cache_info()
    print(f"kernel cache: {info.path}  (kernels/ in {CACHE_HOME})")
    print(f"  {info}")


KINK_HELP = (
    "value of f' exactly at a kink: autograd (PyTorch, default), left, right, midpoint, or paper "
    "(the convention of the paper's code for the family)"
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that name the command once ('gradlab error: ...', not 'error: error:')."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: {message}\n")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Show each option's default, except where there is none to show."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    from gradlab._io import CACHE_HOME
    from gradlab.figures import ALL_FIGURES

    parser = _Parser(prog="gradlab", description="Gradient errors of activation functions under analog noise.")
    parser.add_argument("--version", action="version", version=f"gradlab {gl.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, formatter_class=_Help)

    p = command("list", "the built-in activations, their parameters and allowed ranges")
    p.set_defaults(run=_cmd_list)

    p = command("show", "formula, derivative, kinks, GSD and smoothness of one activation")
    p.description = f"Describe one activation: a built-in, an expression, or your own function. {_IMPORT_HELP}."
    p.add_argument("name", help="built-in name or expression in x, e.g. 'relu_gelu(i=0.5)' or 'x*tanh(x)', or "
                   "py:MODULE:NAME / py:FILE.py:NAME of a PyTorch or NumPy function (imports it)")
    p.add_argument("params", nargs="*", help="parameters as NAME=VALUE, e.g. i=0.5 (the same as relu_gelu(i=0.5))")
    p.add_argument("--kink", default=None, choices=KINK_CHOICES, help=KINK_HELP)
    p.set_defaults(run=_cmd_show)

    p = command("error", "gradient error under the analog chain (noise -> Clamp -> Quantize)")
    p.add_argument("names", nargs="+",
                   help="activations: 'relu_gelu(i=0.5)', 'x*tanh(x)', or a name followed by NAME=VALUE words")
    p.add_argument("--noise", default="gaussian", choices=NOISES,
                   help="the additive noise (the paper's: gaussian), set by --leakage; none: clamp and quantizer only")
    p.add_argument("--leakage", type=float, default=0.5, help="probability that the noise moves a value out of its bin")
    p.add_argument("--precision", type=float, default=256, help="quantization steps per unit (not bits)")
    p.add_argument("--rounding", default="half_toward_zero", choices=list(ROUNDING),
                   help="rounding rule of the quantizer: the paper's half toward zero, half to even, or stochastic")
    p.add_argument("--no-clamp", action="store_true", help="drop the Clamp(-1, 1) stage")
    p.add_argument("--x", default="-1:1:21", metavar="START:STOP:N", help="inputs: N points from START to STOP")
    p.add_argument("--kink", default=None, choices=KINK_CHOICES, help=KINK_HELP)
    p.add_argument("--method", default="auto", choices=METHODS,
                   help="exact (lattice sums, quadrature), mc (Monte Carlo), or auto: exact where possible")
    p.add_argument(
        "--samples",
        type=int,
        help="Monte Carlo samples per x; giving it asks for sampling, so --method auto samples "
        "(left out: exact where possible, else 100000 samples)",
    )
    p.add_argument("--seed", type=int, default=0, help="Monte Carlo seed, an integer >= 0; same seed, same numbers")
    p.add_argument("--out", metavar="FILE", help="write the table to FILE.csv or FILE.parquet instead of printing")
    p.set_defaults(run=_cmd_error)

    p = command("audit", "check a hand-written derivative against the true derivative of a function")
    p.description = (
        "Check a claimed derivative (a hand-written backward) against the true derivative of FORWARD on a grid dense "
        "near 0 and near every kink; print the verdict (ok, convention: differs only at kinks, or bug), the kinks, "
        "the wrong intervals and, for a bug, the gradient error it causes under the analog chain. Exit status 1 for "
        f"a bug. {_IMPORT_HELP}."
    )
    p.add_argument("forward", metavar="FORWARD",
                   help="built-in name or expression in x (the truth is symbolic), or py:MODULE:NAME / "
                   "py:FILE.py:NAME of a PyTorch or NumPy function (imports it)")
    p.add_argument("--derivative", metavar="py:MODULE:NAME",
                   help="the claim: a function returning f' (NumPy or PyTorch), or a PyTorch module / "
                   "autograd.Function whose backward is the claim; left out, the backward of a PyTorch FORWARD")
    p.add_argument("--x", metavar="START:STOP:N", help="the grid (default -6:6:10001), plus points near 0 and kinks")
    p.add_argument("--dtype", choices=DTYPES,
                   help="float type the claim computes in (default float64, or what a NumPy claim returns)")
    p.add_argument("--kink", default="autograd", choices=list(KINK_CONVENTIONS),
                   help="the convention at a kink that counts as ok (another makes the verdict 'convention'); "
                   "autograd: autograd's own value, or for a NumPy FORWARD PyTorch's rule for a non-differentiable "
                   "point, the value between the one-sided limits nearest 0 (ReLU'(0) = 0)")
    p.add_argument("--leakage", type=float, default=0.5, help="the analog chain's leakage, for a bug's gradient error")
    p.add_argument("--precision", type=float, default=256, help="the analog chain's quantization steps per unit")
    p.add_argument("--no-impact", action="store_true", help="skip the gradient error under the chain")
    p.add_argument("--out", metavar="FILE", help="also write every point to FILE.csv or FILE.parquet")
    p.set_defaults(run=_cmd_audit)

    p = command("sweep", "run one query over a grid of parameters (a TOML spec); resumable, locally or on Dask")
    p.add_argument("spec", help="the sweep spec, a TOML file (see the README's Sweeps section)")
    p.add_argument("--out", metavar="FILE", required=True, help="write the table to FILE.csv or FILE.parquet")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="run on a local Dask cluster of N worker processes (needs the sweep extra)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask cluster, e.g. tcp://host:8786 (needs the sweep extra)")
    p.add_argument("--no-cache", action="store_true",
                   help=f"keep no finished points (default: kept in sweeps/ in {CACHE_HOME}, so a rerun resumes)")
    p.set_defaults(run=_cmd_sweep)

    p = command("figures", "regenerate the figure set")
    p.add_argument("--only", nargs="+", metavar="NAME", help=f"only these figures, of: {', '.join(ALL_FIGURES)}")
    p.add_argument("--list", action="store_true", help="list the figure names with what each shows, and stop")
    _figure_options(p, "figures/")
    p.add_argument(
        "--paper",
        action="store_true",
        help="also draw the paper's own renderings (one noise realization, its colour limits) beside gradlab's",
    )
    p.set_defaults(run=_cmd_figures)

    from gradlab.explore import cli as explore_cli

    explore_cli.add_arguments(command("explore", explore_cli.HELP))

    p = command("cache", "the compiled-kernel cache: where it is and what it holds, or empty it")
    p.add_argument("action", nargs="?", default="info", choices=["info", "clear"],
                   help="info: location, entries, files and size; clear: remove every generated kernel (rebuilt "
                   "on next use)")
    p.set_defaults(run=_cmd_cache)
    return parser


def _figure_options(p: argparse.ArgumentParser, where: str) -> None:
    """The output options shared by ``gradlab figures`` and the analysis scripts."""
    p.add_argument("--out", metavar="DIR", help=f"output directory (default: {where}, or {where}fast/ with --fast)")
    p.add_argument("--format", default="png", choices=["png", "pdf", "svg"], help="file format of the figures")
    p.add_argument("--fast", action="store_true",
                   help=f"fewer samples and coarser grids, same figures; written to {where}fast/ unless --out is given")
    p.add_argument("--data", action="store_true", help="also write the figure's data as CSV")


#: Options whose value may start with '-' (a range such as -0.1:0.1:21), which argparse takes for an option.
_RANGE_OPTIONS = ("--x",)  # shared by error and audit
_NEGATIVE = re.compile(r"^-[\d.]")


def _join_negative_values(argv: Sequence[str]) -> list[str]:
    """'--x -0.1:0.1:21' becomes '--x=-0.1:0.1:21', so a negative start works as typed."""
    out: list[str] = []
    items = iter(argv)
    for item in items:
        if item in _RANGE_OPTIONS:
            value = next(items, None)
            if value is not None and _NEGATIVE.match(value):
                out.append(f"{item}={value}")
                continue
            out.append(item)
            if value is not None:
                out.append(value)
            continue
        out.append(item)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_negative_values(sys.argv[1:] if argv is None else argv))
    return _run(f"gradlab {args.command}", lambda: args.run(args))


def analysis_main(name: str, figures_dir, argv: Sequence[str] | None = None) -> int:
    """The command line of ``analyses/<name>.py``: one figure, with the output options of ``gradlab figures``."""
    from gradlab.figures import ALL_FIGURES

    recipe = ALL_FIGURES[name]
    parser = _Parser(prog=f"python analyses/{name}.py", description=recipe.__doc__.splitlines()[0],
                     formatter_class=_Help)
    where = os.path.join(os.path.relpath(figures_dir), "")
    _figure_options(parser, where)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    out = _output_dir(args, figures_dir)
    return _run(f"analyses/{name}.py",
                lambda: write_figures([name], out, fmt=args.format, fast=args.fast, data=args.data, required=True))


def _run(who: str, work) -> int:
    """Run ``work``; errors and interrupts (Ctrl-C, SIGTERM) become one line on stderr and an exit status."""
    from gradlab._interrupt import Terminated, noting_interrupts, raise_if_interrupted

    try:
        with noting_interrupts():
            status = work()  # a command may return its exit status (audit: 1 for a bug)
            raise_if_interrupted()
    except Terminated:
        print(f"{who}: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"{who}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader left (gradlab list | head): not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"{who}: {exc}", file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
