"""The ``gradlab`` command line: argument parsing that calls the Python API, nothing else."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

import gradlab as gl

__all__ = ["main"]


def _parse_params(items: Sequence[str]) -> dict[str, float]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter {item!r} must look like NAME=VALUE, e.g. i=0.5")
        try:
            params[key] = float(value)
        except ValueError:
            raise ValueError(f"parameter {key} must be a number, got {value!r}") from None
    return params


def _cmd_list(args: argparse.Namespace) -> None:
    import pandas as pd

    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        print(gl.activations().to_string(index=False))


def _cmd_show(args: argparse.Namespace) -> None:
    act = gl.activation(args.name, kink=args.kink, **_parse_params(args.params))
    kinks = act.kinks()
    lines = [
        f"{act!r}",
        f"  f(x)   = {act.expr}",
        f"  f'(x)  = {act.dexpr}",
        f"  smoothness: {act.smoothness}",
        f"  gradient step discontinuity |f'(0+) - f'(0-)| = {act.gsd_exact} = {act.gsd:.6g}",
        f"  f' at a kink: {act.kink} ({gl.KINK_CONVENTIONS[act.kink]})",
    ]
    if act.paper_note:
        lines.append(f"  the paper's code: {act.paper_note}")
    if kinks:
        lines.append("  kinks:")
        for k in kinks:
            lines.append(
                f"    x = {k.x}: jump in f = {k.jump_f}, jump in f' = {k.jump_df} "
                f"(f' from {k.df_left} to {k.df_right})"
            )
    else:
        lines.append("  kinks: none (f and f' are continuous)")
    lines.append(f"  LaTeX: {act.latex()}")
    print("\n".join(lines))


def _parse_range(text: str) -> np.ndarray:
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"--x must look like START:STOP:N, e.g. -1:1:201, got {text!r}")
    try:
        start, stop, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise ValueError(f"--x must look like START:STOP:N with numbers, got {text!r}") from None
    if n < 1:
        raise ValueError(f"--x: N must be >= 1, got {n}")
    return np.linspace(start, stop, n)


def _cmd_error(args: argparse.Namespace) -> None:
    import pandas as pd

    from gradlab._io import check_table_path, save_table

    if args.out:
        check_table_path(args.out)  # before the computation, not after
    stages = [gl.Gaussian(leakage=args.leakage, precision=args.precision)]
    if not args.no_clamp:
        stages.append(gl.Clamp(-1.0, 1.0))
    stages.append(gl.Quantize(args.precision, rounding=args.rounding))
    chain = gl.chain(stages)
    acts = [gl.activation(name, kink=args.kink) for name in args.names]
    df = gl.gradient_error(acts, chain, _parse_range(args.x), method=args.method, samples=args.samples, seed=args.seed)
    if args.out:
        path = save_table(df, args.out)
        print(f"wrote {len(df)} rows to {path}")
        return
    cols = ["activation", "x", "mean_abs_error", "bias", "rms_error", "stderr", "samples", "method"]
    with pd.option_context("display.max_rows", 500, "display.width", 200):
        print(f"chain: {chain}")
        print(df[cols].to_string(index=False))


def _cmd_figures(args: argparse.Namespace) -> None:
    import time
    from pathlib import Path

    import matplotlib.pyplot as plt

    from gradlab._io import save_figure, save_table
    from gradlab._validate import suggest
    from gradlab.figures import FIGURES, PAPER_FIGURES, make_figure

    known = {**FIGURES, **PAPER_FIGURES}
    names = args.only or list(FIGURES) + (list(PAPER_FIGURES) if args.paper else [])
    for name in names:
        if name not in known:
            raise ValueError(f"--only: unknown figure {name!r}{suggest(name, known)}; figures: {', '.join(known)}")
    out = Path(args.out)
    start = time.perf_counter()
    skipped = []
    for k, name in enumerate(names, 1):
        t0 = time.perf_counter()
        bar = "#" * k + "." * (len(names) - k)
        print(f"[{bar}] {k}/{len(names)} {name} ...", end="", file=sys.stderr, flush=True)
        try:
            fig, data = make_figure(name, fast=args.fast)
        except ImportError as exc:
            if args.only:  # asked for by name: its absence is an error
                print(file=sys.stderr)
                raise
            # An optional extra is missing (the training lab needs scikit-learn): the rest still runs.
            print(f" skipped: {exc}", file=sys.stderr, flush=True)
            skipped.append(name)
            continue
        save_figure(fig, out / f"{name}.{args.format}")
        if args.data:
            save_table(data, out / f"{name}.csv")
        plt.close(fig)
        print(f" {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    done = len(names) - len(skipped)
    note = f" ({len(skipped)} skipped: {', '.join(skipped)})" if skipped else ""
    print(f"{done} figures written to {out}/ in {time.perf_counter() - start:.1f} s{note}", file=sys.stderr)


KINK_HELP = (
    "value of f' exactly at a kink: autograd (PyTorch, default), left, right, midpoint, or paper "
    "(the convention of the paper's code for the family)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradlab", description="Gradient errors of activation functions under analog noise."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="the built-in activations and their parameters")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("show", help="formula, derivative, kinks, GSD and smoothness of one activation")
    p.add_argument("name", help="built-in name or expression in x, e.g. relu_gelu or 'x*tanh(x)'")
    p.add_argument("params", nargs="*", help="parameters as NAME=VALUE, e.g. i=0.5")
    p.add_argument("--kink", default="autograd", choices=gl.KINK_CHOICES, help=KINK_HELP)
    p.set_defaults(run=_cmd_show)

    p = sub.add_parser("error", help="gradient error under the analog chain (Gaussian -> Clamp -> Quantize)")
    p.add_argument("names", nargs="+", help="activations: built-in names or expressions in x")
    p.add_argument("--leakage", type=float, default=0.5, help="probability that noise leaves its bin (default 0.5)")
    p.add_argument("--precision", type=float, default=256, help="quantization steps per unit (default 256)")
    p.add_argument("--rounding", default="half_toward_zero", choices=["half_toward_zero", "half_even", "stochastic"])
    p.add_argument("--no-clamp", action="store_true", help="drop the Clamp(-1, 1) stage")
    p.add_argument(
        "--x",
        default="-1:1:21",
        help="inputs as START:STOP:N (default -1:1:21); write --x=-0.1:0.1:5 when START is negative",
    )
    p.add_argument("--kink", default="autograd", choices=gl.KINK_CHOICES, help=KINK_HELP)
    p.add_argument("--method", default="auto", choices=["auto", "exact", "mc"])
    p.add_argument(
        "--samples",
        type=int,
        help="Monte Carlo samples per x; giving it asks for sampling, so --method auto samples "
        "(default: exact where possible, else 100000 samples)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="write the table to FILE.csv or FILE.parquet (atomically) instead of printing")
    p.set_defaults(run=_cmd_error)

    p = sub.add_parser("figures", help="regenerate the figure set")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these figures")
    p.add_argument("--out", default="figures", help="output directory (default figures/)")
    p.add_argument("--format", default="png", choices=["png", "pdf", "svg"])
    p.add_argument("--fast", action="store_true", help="fewer samples and coarser grids, same figures")
    p.add_argument("--data", action="store_true", help="also write each figure's data as CSV")
    p.add_argument(
        "--paper",
        action="store_true",
        help="also draw the paper's own renderings (one noise realization, its colour limits) beside gradlab's",
    )
    p.set_defaults(run=_cmd_figures)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"gradlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
