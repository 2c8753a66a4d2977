"""The ``gradlab`` command line: argument parsing that calls the Python API, nothing else."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
    p.add_argument("--kink", default="autograd", choices=list(gl.KINK_CONVENTIONS), help="value of f' at a kink")
    p.set_defaults(run=_cmd_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ValueError, TypeError) as exc:
        print(f"gradlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
