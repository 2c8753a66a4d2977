"""The kernel cache on disk: where it is, what it holds, how a damaged entry heals, how to clear it.

Generated kernel modules live in :func:`cache_dir` (``$GRADLAB_CACHE_DIR/kernels``, default
``~/.cache/gradlab/kernels``): one ``gradlab_kernel_<hash>.py`` per activation, chain structure or
fused pass, named by the hash of its text.  Numba keeps their machine code beside them in
``__pycache__``: per function an index ``<module>.<function>-<line>.pyXY.nbi`` and data files
``<module>.<function>-<line>.pyXY.<n>.nbc``, both pickles.  The hand-written kernels the generated
ones call (``gradlab/kernels/random.py``, ``gradlab/perturbations/kernel.py``) have theirs in the
package's own ``__pycache__``.

A full disk or a killed process can leave any of these truncated, empty or overwritten, and Numba
then fails on every later run (``UnpicklingError``, ``EOFError``).  So before a module is first
used in a process, :func:`heal` reads each of its cache files through the whole pickle stream
without building anything (every class it names is replaced by an inert stand-in: importing them
would import the generated modules the files belong to), and discards every cache file of a
module that does not read to its end, with one warning; Numba then compiles afresh and writes new
files.  Reading costs about 0.05 ms a file.  A generated module whose text differs from what its
name promises is rewritten (:func:`write_source`), and generated modules are compiled from their
text, so no ``.pyc`` file (which can be damaged too) is ever read.
"""
from __future__ import annotations

import io
import os
import pickle
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from gradlab._io import cache_home

__all__ = [
    "CacheInfo",
    "KernelCacheWarning",
    "cache_dir",
    "cache_info",
    "clear_cache",
    "heal",
    "write_source",
]

#: Generated modules are named ``{PREFIX}<hash>.py``.
PREFIX = "gradlab_kernel_"


class KernelCacheWarning(UserWarning):
    """A damaged kernel cache entry was found, discarded and is being rebuilt."""


def _root() -> Path:
    return cache_home() / "kernels"


def cache_dir() -> Path:
    """The directory holding generated kernel modules (created on demand)."""
    path = _root()
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- checking and healing ---------------------------------------------------------------------
class _Inert:
    """Stands for every class or function a cache pickle names, and accepts whatever is done to it."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


class _StructureOnly(pickle.Unpickler):
    """Reads a pickle stream to its end, building inert stand-ins instead of the objects it names."""

    def find_class(self, module, name):
        return _Inert

    def persistent_load(self, pid):
        return _Inert()


def _reads_through(path: Path) -> bool:
    """Whether a Numba index (two pickles) or data file (one pickle) reads to its end."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # replaced or removed meanwhile by another process: not damage
        return True
    stream = io.BytesIO(data)
    try:
        for _ in range(2 if path.suffix == ".nbi" else 1):
            _StructureOnly(stream).load()
    except Exception:  # noqa: BLE001 - any failure to read is damage: truncated, empty, overwritten
        return False
    return stream.tell() == len(data)


def _numba_files(directory: Path, stem: str) -> list[Path]:
    pycache = directory / "__pycache__"
    return sorted(pycache.glob(f"{stem}.*.nbi")) + sorted(pycache.glob(f"{stem}.*.nbc"))


def heal(directory: Path, stem: str) -> list[Path]:
    """Check Numba's cache files of the module ``directory/stem.py``; discard them all if one is damaged.

    Returns the files found damaged (an empty list when the entry is sound).  A damaged entry gives
    one :class:`KernelCacheWarning` and is compiled again on first use.
    """
    files = _numba_files(directory, stem)
    damaged = [f for f in files if not _reads_through(f)]
    if damaged:
        for f in files:
            f.unlink(missing_ok=True)
        warnings.warn(
            f"gradlab: damaged kernel cache entry {stem} in {directory} ({len(damaged)} unreadable file(s), "
            f"e.g. {damaged[0].name}): discarded, compiling it again",
            KernelCacheWarning,
            stacklevel=3,
        )
    return damaged


def write_source(path: Path, source: str) -> None:
    """Make ``path`` hold exactly ``source``: write it if missing, rewrite it (and warn) if damaged."""
    data = source.encode()
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = None
    if current == data:
        return
    _write_atomically(path, data)
    if current is not None:
        for f in _numba_files(path.parent, path.stem):  # compiled from the damaged text: stale
            f.unlink(missing_ok=True)
        warnings.warn(
            f"gradlab: damaged kernel cache entry {path.name} in {path.parent} (its text is not the generated "
            "source): rewritten, compiling it again",
            KernelCacheWarning,
            stacklevel=3,
        )


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- listing and clearing ---------------------------------------------------------------------
@dataclass(frozen=True)
class CacheInfo:
    """What the kernel cache directory holds (or, from :func:`clear_cache`, what was removed)."""

    #: The kernel cache directory.
    path: Path
    #: Generated kernel modules: one per activation, chain structure or fused pass.
    entries: int
    #: Files, the modules and Numba's machine code for them.
    files: int
    #: Bytes in those files.
    size: int

    def __str__(self) -> str:
        return f"{self.entries} entries, {self.files} files, {_human(self.size)}"


def _human(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError  # unreachable


def _owned(root: Path) -> list[Path]:
    """The files gradlab wrote in ``root``: generated modules, their Numba cache, temporary files."""
    found = [*root.glob(f"{PREFIX}*.py"), *root.glob(".tmp-*"), *root.glob(f"__pycache__/{PREFIX}*")]
    return [p for p in found if p.is_file()]


def _summary(root: Path, files: list[Path]) -> CacheInfo:
    size = 0
    for f in files:
        try:
            size += f.stat().st_size
        except FileNotFoundError:
            pass
    entries = sum(1 for f in files if f.parent == root and f.name.startswith(PREFIX) and f.suffix == ".py")
    return CacheInfo(root, entries, len(files), size)


def cache_info() -> CacheInfo:
    """Where the kernel cache is and how many entries, files and bytes it holds."""
    root = _root()
    return _summary(root, _owned(root) if root.is_dir() else [])


def clear_cache() -> CacheInfo:
    """Remove every generated kernel module and its machine code; returns what was removed.

    Only files gradlab writes are touched (the directory may be shared, e.g. ``GRADLAB_CACHE_DIR=~``).
    Processes running meanwhile keep the kernels they have loaded; later ones compile afresh.
    """
    root = _root()
    files = _owned(root) if root.is_dir() else []
    removed = _summary(root, files)
    for f in files:
        f.unlink(missing_ok=True)
    return removed
