"""The sweep cache: one file per finished point, in a format that cannot run code, verified on load.

A point file is one JSON document (``<point hash>.point.json``): a header naming what the point is (the
format and its version, the gradlab version, the spec hash, the point's index and axis values),
the table's columns with their dtypes and values, and a SHA-256 checksum over all of it.  JSON
holds float64 exactly (Python writes the shortest repr that reads back to the same bits, NaN and
infinities as NaN / Infinity), int64 and bool exactly, and strings as they are; the columns are
rebuilt with their recorded dtypes, so a loaded point is the computed one, byte for byte.  Parsing
JSON builds numbers, strings and lists only: a crafted file can be wrong, never run.

A file is used only if it reads through, its checksum matches, and its header names this spec,
this point and this gradlab version; anything else (a truncated file, another point's table, a
pickle from an older gradlab) is discarded and the point computed again, with one
:class:`SweepCacheWarning` per sweep.  A cache that cannot be written (read-only, a full disk)
gives one warning too: the points already stored stay, the sweep goes on without storing more.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from gradlab._io import write_atomically

__all__ = ["FORMAT", "PointStore", "SweepCacheWarning", "decode_point", "encode_point"]

#: The ``format`` field of every point file; ``version`` changes when the layout does.
FORMAT = "gradlab sweep point"
VERSION = 1

#: Column dtypes a point file holds (those the sweepable queries return).
_DTYPES = ("float64", "int64", "bool", "str", "object")


class SweepCacheWarning(UserWarning):
    """Stored sweep points were damaged or not this sweep's (recomputed), or the cache cannot be written."""


class _Damaged(ValueError):
    """A point file that is not this point's sound table (the message says how)."""


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()


def _json_value(value):
    """An axis value or a table cell as JSON holds it (NumPy scalars as Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def _header(spec_hash: str, index: tuple[int, ...], point: dict) -> dict:
    import gradlab

    return {
        "format": FORMAT, "version": VERSION, "gradlab": gradlab.__version__, "spec": spec_hash,
        "index": [int(i) for i in index], "point": {k: _json_value(v) for k, v in point.items()},
    }


def encode_point(spec_hash: str, index: tuple[int, ...], point: dict, frame: pd.DataFrame) -> bytes:
    """The bytes of one point file: header, typed columns, checksum."""
    columns = []
    for name in frame.columns:
        col = frame[name]
        dtype = str(col.dtype)
        if dtype not in _DTYPES:
            raise TypeError(f"sweep cache: column {name!r} has dtype {dtype}, which point files do not hold")
        values = [_json_value(v) for v in col.tolist()]
        if dtype in ("str", "object") and not all(v is None or isinstance(v, (str, int, float, bool)) for v in values):
            raise TypeError(f"sweep cache: column {name!r} holds values other than strings and numbers")
        columns.append({"name": str(name), "dtype": dtype, "values": values})
    body = {**_header(spec_hash, index, point), "rows": len(frame), "columns": columns}
    return _canonical({**body, "checksum": hashlib.sha256(_canonical(body)).hexdigest()})


def decode_point(data: bytes, spec_hash: str, index: tuple[int, ...], point: dict) -> pd.DataFrame:
    """The table of a point file, after checking that it reads through and is this point's; else _Damaged."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _Damaged("not a point file (unreadable JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _Damaged("not a point file")
    checksum = doc.pop("checksum", None)
    if checksum != hashlib.sha256(_canonical(doc)).hexdigest():
        raise _Damaged("checksum mismatch")
    expected = _header(spec_hash, index, point)
    for key, value in expected.items():
        if _canonical(doc.get(key)) != _canonical(value):
            raise _Damaged(f"its {key} is {doc.get(key)!r}, this point's is {value!r}")
    rows, columns = doc.get("rows"), doc.get("columns")
    if not isinstance(rows, int) or not isinstance(columns, list):
        raise _Damaged("no table")
    table = {}
    for col in columns:
        if not (isinstance(col, dict) and col.get("dtype") in _DTYPES and isinstance(col.get("name"), str)
                and isinstance(col.get("values"), list) and len(col["values"]) == rows):
            raise _Damaged("a malformed column")
        try:
            values = col["values"]
            if col["dtype"] == "str" and not all(v is None or isinstance(v, str) or v != v for v in values):
                raise TypeError  # pandas would turn numbers into their text
            table[col["name"]] = pd.Series(values, dtype=col["dtype"], index=pd.RangeIndex(rows))
        except (TypeError, ValueError, OverflowError):
            raise _Damaged(f"column {col['name']!r} does not hold {col['dtype']} values") from None
    return pd.DataFrame(table, index=pd.RangeIndex(rows)) if table else pd.DataFrame(index=pd.RangeIndex(rows))


class PointStore:
    """The finished points of one sweep in ``directory`` (None: nothing is kept or read)."""

    def __init__(self, spec, directory: Path | None):
        self.spec, self.directory = spec, directory
        self.damaged: list[str] = []  # "file: reason" of each point file discarded
        self.unwritable: str | None = None  # why the cache cannot be written, once it failed

    def path(self, index: tuple[int, ...]) -> Path:
        key = json.dumps([self.spec.hash, list(index), [_json_value(v) for v in self.spec.point(index).values()]])
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.point.json"

    def load(self, index: tuple[int, ...]) -> pd.DataFrame | None:
        """The stored table of the point, or None (not stored, or discarded as damaged or foreign)."""
        if self.directory is None:
            return None
        path = self.path(index)
        try:
            data = _read_regular(path)
        except FileNotFoundError:
            return None
        except (OSError, _Damaged) as exc:
            self._discard(path, str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc))
            return None
        try:
            return decode_point(data, self.spec.hash, index, self.spec.point(index))
        except _Damaged as exc:
            self._discard(path, str(exc))
            return None

    def _discard(self, path: Path, reason: str) -> None:
        self.damaged.append(f"{path.name}: {reason}")
        try:
            path.unlink()
        except OSError:
            pass  # a read-only cache: the file stays, and is never used

    def save(self, index: tuple[int, ...], frame: pd.DataFrame) -> None:
        if self.directory is None or self.unwritable is not None or self.path(index).exists():
            return  # exists: a worker stored it (a damaged file was discarded when it was loaded)
        data = encode_point(self.spec.hash, index, self.spec.point(index), frame)
        try:
            write_atomically(self.path(index), lambda tmp: Path(tmp).write_bytes(data))
        except OSError as exc:
            self._cannot_write(exc)

    def describe(self) -> None:
        """spec.json beside the points, for a person browsing the cache."""
        if self.directory is None or (self.directory / "spec.json").exists():
            return
        text = json.dumps(self.spec.normalized, indent=1)
        try:
            write_atomically(self.directory / "spec.json", lambda tmp: Path(tmp).write_text(text))
        except OSError as exc:
            self._cannot_write(exc)

    def _cannot_write(self, exc: OSError) -> None:
        self.unwritable = exc.strerror or type(exc).__name__
        warnings.warn(
            f"sweep cache: cannot store points in {self.directory} ({self.unwritable}); going on without storing "
            "them (points stored before are kept; cache=False, or --no-cache on the command line, skips the cache)",
            SweepCacheWarning,
            stacklevel=4,
        )

    def report(self) -> None:
        """One warning for every point file discarded so far, then none until more are."""
        if self.damaged:
            n = len(self.damaged)
            warnings.warn(
                f"sweep cache: {n} stored point(s) in {self.directory} were damaged or not this sweep's "
                f"(e.g. {self.damaged[0]}); discarded, computing them again",
                SweepCacheWarning,
                stacklevel=3,
            )
            self.damaged = []


def _read_regular(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file (a FIFO or a device is damage, never read)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        import stat

        from gradlab._budget import get_budget

        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Damaged("not a regular file")
        if info.st_size > get_budget().memory:
            raise _Damaged(f"{info.st_size} bytes, over the memory budget")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)
