"""Atomic file output: an interrupted run never leaves a half-written figure or table."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["check_output_dir", "check_table_path", "save_figure", "save_table", "write_atomically"]


#: Resolution of raster output (PNG), dots per inch: sharp in print at column width.
DPI = 200


def _final_mode(target: Path) -> int:
    """The mode a plain ``open(path, 'w')`` would leave: the existing file's, else 0666 minus the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    The temporary file is private while it is written; the published file gets the mode any other
    program's would (an existing file's own mode, else 0666 less the umask).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _final_mode(target))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def check_output_dir(path: str | os.PathLike) -> Path:
    """``path`` as a directory that exists and can be written to (created if missing), before any work.

    Errors name the user's path and say what is wrong in words.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ValueError(f"output directory {str(path)!r} is an existing file; give a directory")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create output directory {str(path)!r}: {exc.strerror}") from None
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as exc:
        raise ValueError(f"cannot write into output directory {str(path)!r}: {exc.strerror}") from None
    return target


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save a matplotlib Figure atomically; the format follows the suffix (png, pdf, svg)."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in ("png", "pdf", "svg"):
        raise ValueError(f"figure format must be png, pdf or svg, got {fmt!r} (from {str(path)!r})")
    return write_atomically(path, lambda tmp: fig.savefig(tmp, format=fmt, bbox_inches="tight", dpi=DPI))


def check_table_path(path: str | os.PathLike) -> str:
    """The table format ('.csv' or '.parquet') of ``path``; refuse others, and parquet without pyarrow."""
    fmt = Path(path).suffix.lower()
    if fmt not in (".csv", ".parquet"):
        raise ValueError(f"output file must end in .csv or .parquet, got {str(path)!r}")
    if fmt == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError("writing .parquet needs pyarrow (pip install pyarrow); or write .csv") from None
    return fmt


def save_table(frame, path: str | os.PathLike) -> Path:
    """Save a DataFrame atomically as .csv or .parquet (parquet needs pyarrow)."""
    if check_table_path(path) == ".csv":
        return write_atomically(path, lambda tmp: frame.to_csv(tmp, index=False))
    return write_atomically(path, lambda tmp: frame.to_parquet(tmp, index=False))
