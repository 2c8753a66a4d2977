"""Files gradlab writes: atomic output (an interrupted run never leaves a half-written figure or
table), and where its cache lives (:func:`cache_home`)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from gradlab._interrupt import raise_if_interrupted

__all__ = [
    "CACHE_HOME",
    "cache_home",
    "check_file_parent",
    "check_not_a_link",
    "check_output_dir",
    "check_table_path",
    "figure_writer",
    "save_figure",
    "save_table",
    "table_writer",
    "write_atomically",
    "write_together",
]


#: Where gradlab keeps what it can rebuild (kernels/, sweeps/), as the messages say it.
CACHE_HOME = "$GRADLAB_CACHE_DIR (default ~/.cache/gradlab)"


def cache_home() -> Path:
    """gradlab's cache directory: ``$GRADLAB_CACHE_DIR``, else ``~/.cache/gradlab`` (not created here).

    Read on every call, so a changed environment (a test, a worker) takes effect at once.  An empty
    value is unset; a relative one is refused (it would put the cache wherever the process happens to run).
    """
    value = os.environ.get("GRADLAB_CACHE_DIR", "")
    if not value.strip():
        return Path.home() / ".cache" / "gradlab"
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ValueError(f"GRADLAB_CACHE_DIR must be an absolute path, got {value!r} (relative to the current "
                         "directory, the cache would move with it); unset it for ~/.cache/gradlab")
    return path


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


def _temporary(target: Path) -> str:
    """A private temporary file beside ``target``, named ``.<name>.<pid>.<random><suffix>``."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=target.suffix)
    os.close(fd)
    return tmp


def _sweep_stale(target: Path) -> None:
    """Remove temporaries of ``target`` left by processes that no longer run (a SIGKILL, a power cut)."""
    for tmp in target.parent.glob(f".{target.name}.*{target.suffix}"):
        pid = tmp.name[len(target.name) + 2 :].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # alive but not ours to signal: leave it


def write_together(items: Sequence[tuple[str | os.PathLike, Callable[[str], None]]]) -> list[Path]:
    """Write each ``(path, write)`` to a temporary file, then publish them all: all files or none are new.

    Temporaries are private while written; each published file gets the mode any other program's
    would (an existing file's own mode, else 0666 less the umask).  A crash between the renames
    (a window of microseconds) can leave the first files new and the rest old, never half-written.
    """
    targets = [Path(path) for path, _ in items]
    for target in targets:
        check_not_a_link(target)
    temps: list[str] = []
    try:
        for target, (_, write) in zip(targets, items):
            target.parent.mkdir(parents=True, exist_ok=True)
            _sweep_stale(target)
            temps.append(_temporary(target))
            write(temps[-1])
            os.chmod(temps[-1], _final_mode(target))
        raise_if_interrupted()  # a Ctrl-C swallowed inside compiled code still publishes nothing
        for tmp, target in zip(temps, targets):
            os.replace(tmp, target)
    except BaseException:
        for tmp in temps:
            Path(tmp).unlink(missing_ok=True)
        raise
    return targets


def check_not_a_link(path: str | os.PathLike) -> None:
    """Refuse an output path that is a symbolic link: publishing by rename would replace the link itself.

    (Writing through it is no answer either: the link may point at a device such as /dev/full, or at
    a file the user did not mean to change.)
    """
    if os.path.islink(path):
        raise ValueError(
            f"output {str(path)!r} is a symbolic link (to {os.readlink(path)!r}); gradlab writes a new file and "
            "renames it into place, which would replace the link: give the path of a regular file"
        )


def write_atomically(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place."""
    return write_together([(path, write)])[0]


def check_output_dir(path: str | os.PathLike) -> Path:
    """``path`` as a directory that exists and can be written to, before any work.

    A missing directory is created, but only that one folder: its parent must exist, so that a
    typo in a path never makes directories elsewhere on the disk.  Errors name the user's path and
    say what is wrong in words.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ValueError(f"output directory {str(path)!r} is an existing file; give a directory")
    if not target.exists():
        parent = target.absolute().parent
        if not parent.exists():
            raise ValueError(f"cannot create output directory {str(path)!r}: its parent {str(parent)!r} does not "
                             "exist (gradlab creates only the last folder of an output directory)")
        try:
            target.mkdir(exist_ok=True)
        except OSError as exc:
            raise ValueError(f"cannot create output directory {str(path)!r}: {exc.strerror}") from None
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as exc:
        raise ValueError(f"cannot write into output directory {str(path)!r}: {exc.strerror}") from None
    return target


def check_file_parent(path: str | os.PathLike) -> Path:
    """The directory an output file ``path`` goes into; it must exist and be writable (none is created)."""
    parent = Path(path).absolute().parent
    if not parent.exists():
        raise ValueError(f"output file {str(path)!r}: its directory {str(parent)!r} does not exist; create it first "
                         "(gradlab makes no directories for a file)")
    if not parent.is_dir():
        raise ValueError(f"output file {str(path)!r}: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"output file {str(path)!r}: cannot write into its directory {str(parent)!r}")
    return parent


def figure_writer(fig, path: str | os.PathLike) -> Callable[[str], None]:
    """A writer of ``fig`` for :func:`write_together`; the format follows the suffix (png, pdf, svg)."""
    if not hasattr(fig, "savefig"):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in ("png", "pdf", "svg"):
        raise ValueError(f"figure format must be png, pdf or svg, got {fmt!r} (from {str(path)!r})")
    return lambda tmp: fig.savefig(tmp, format=fmt, bbox_inches="tight", dpi=DPI)


def table_writer(frame, path: str | os.PathLike) -> Callable[[str], None]:
    """A writer of the DataFrame ``frame`` for :func:`write_together`: .csv, or .parquet (needs pyarrow)."""
    if not hasattr(frame, "to_csv"):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__} {frame!r:.60}")
    if check_table_path(path) == ".csv":
        return lambda tmp: frame.to_csv(tmp, index=False)
    return lambda tmp: frame.to_parquet(tmp, index=False)


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save a matplotlib Figure atomically; the format follows the suffix (png, pdf, svg).

    The directory must exist (:func:`check_file_parent`)."""
    writer = figure_writer(fig, path)
    check_file_parent(path)
    return write_atomically(path, writer)


def check_table_path(path: str | os.PathLike) -> str:
    """The table format ('.csv' or '.parquet') of ``path``; refuse others, parquet without pyarrow, a link,
    and a directory that does not exist (:func:`check_file_parent`)."""
    check_not_a_link(path)
    fmt = Path(path).suffix.lower()
    if fmt not in (".csv", ".parquet"):
        raise ValueError(f"output file must end in .csv or .parquet, got {str(path)!r}")
    check_file_parent(path)
    if fmt == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            from gradlab._extras import missing_extra

            raise ValueError(missing_extra(f"writing {str(path)!r}", "parquet") + "; or write .csv") from None
    return fmt


def save_table(frame, path: str | os.PathLike) -> Path:
    """Save a DataFrame atomically as .csv or .parquet (parquet needs pyarrow); the directory must exist."""
    return write_atomically(path, table_writer(frame, path))
