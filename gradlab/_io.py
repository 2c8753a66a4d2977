"""Atomic file output: an interrupted run never leaves a half-written figure or table."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically", "save_figure", "save_table"]


def write_atomically(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save a matplotlib Figure atomically; the format follows the suffix (png, pdf, svg)."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in ("png", "pdf", "svg"):
        raise ValueError(f"figure format must be png, pdf or svg, got {fmt!r} (from {str(path)!r})")
    return write_atomically(path, lambda tmp: fig.savefig(tmp, format=fmt, bbox_inches="tight"))


def save_table(frame, path: str | os.PathLike) -> Path:
    """Save a DataFrame atomically as .csv or .parquet (parquet needs pyarrow)."""
    fmt = Path(path).suffix.lower()
    if fmt == ".csv":
        return write_atomically(path, lambda tmp: frame.to_csv(tmp, index=False))
    if fmt == ".parquet":
        return write_atomically(path, lambda tmp: frame.to_parquet(tmp, index=False))
    raise ValueError(f"output file must end in .csv or .parquet, got {str(path)!r}")
