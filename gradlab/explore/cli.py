"""``gradlab explore``: serve the explorer or the lesson with marimo on loopback, or write the handout.

The server (:mod:`gradlab.explore.serve`) needs the token carried by the address it prints and
opens, and refuses requests with a foreign ``Host`` or ``Origin``.

Kept light: building the command line imports nothing heavy, and marimo only when a server starts.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from gradlab._extras import missing_extra

__all__ = ["HELP", "MISSING_MARIMO", "add_arguments", "check_port_free", "notebook_path", "run"]

HELP = "the interactive smoothness explorer (or --lesson, the guided lesson) in the browser, via marimo"
#: What ``gradlab explore`` says without marimo, with the install command for this installation.
MISSING_MARIMO = missing_extra("the explorer", "explore")
#: The server listens on loopback only: the notebook runs Python on behalf of whoever connects.
HOST = "127.0.0.1"  # the same as gradlab.explore.serve.HOST (not imported: this module stays light)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``gradlab explore``; the command runs :func:`run`."""
    p.add_argument("--lesson", action="store_true", help="the guided lesson (five sections with checked questions)")
    p.add_argument("--port", type=int, help="port on 127.0.0.1 to serve on (default: marimo's, 2718, or the next free)")
    p.add_argument("--no-browser", "--headless", dest="no_browser", action="store_true",
                   help="serve without opening a browser (open the printed address yourself)")
    p.add_argument("--export", choices=["html"],
                   help="write the lesson as one self-contained HTML page instead of serving (needs --out)")
    p.add_argument("--out", metavar="FILE", help="where --export writes, e.g. lesson.html")
    p.set_defaults(run=run)


def notebook_path(lesson: bool = False) -> Path:
    """The marimo app file of the explorer (or the lesson), shipped inside the package."""
    return Path(__file__).resolve().parent / ("lesson.py" if lesson else "explorer.py")


def check_port_free(port: int) -> None:
    """Raise ValueError saying ``--port`` is taken when nothing can listen on 127.0.0.1:``port``, before
    any address is printed (the server checks again when it binds: another program may take it between)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError as exc:
            raise ValueError(f"--port {port}: {HOST}:{port} is taken ({exc.strerror or exc}); choose another "
                             "port, or leave --port out for the first free one from 2718") from None


def _server_command(args: argparse.Namespace) -> list[str]:
    """The server (:mod:`gradlab.explore.serve`): loopback, a token in the address, foreign Host and Origin refused."""
    cmd = [sys.executable, "-m", "gradlab.explore.serve", str(notebook_path(args.lesson))]
    if args.port is not None:
        cmd += ["--port", str(args.port)]
    if args.no_browser:
        cmd.append("--no-browser")
    return cmd


def run(args: argparse.Namespace) -> None:
    """Serve (this process becomes the server, :mod:`gradlab.explore.serve`), or write the handout with --export."""
    if args.export is None and args.out is not None:
        raise ValueError("--out is where --export writes; add --export html, or leave --out out to serve")
    if args.export is not None:
        if args.out is None:
            raise ValueError("--export html needs --out FILE, e.g. --out lesson.html")
        if Path(args.out).suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"--out must end in .html for --export html, got {args.out!r}")
        from gradlab._io import check_file_parent
        from gradlab.explore.export import write_lesson_html

        check_file_parent(args.out)
        print(write_lesson_html(args.out))
        return
    if args.port is not None and not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    if importlib.util.find_spec("marimo") is None:
        raise ImportError(MISSING_MARIMO)
    if args.port is not None:
        check_port_free(args.port)
    cmd = _server_command(args)
    sys.stdout.flush()
    sys.stderr.flush()
    # Become the server: a signal to this process (Ctrl-C, a test's kill) reaches marimo itself,
    # and no orphaned server is left behind.
    os.execv(cmd[0], cmd)
