"""Sweep specs: read (TOML or dict), check every key and type before any work, normalize, hash.

A spec names a query, its activations, a seed, the query's keyword arguments and a ``[chain]``
table.  A list given where the query takes one value is an axis; axes are crossed.  Arguments the
query itself takes as a sequence (``x``, ``inputs``, ``weights``, the ``width`` of error_near_zero,
the ``depth`` of depth_error) are passed whole: a list or ``{start, stop, num}``.

The normalized spec is a plain dict in a fixed key order (the query's signature order, not the
order the user wrote), with numbers as the type the key takes (``precision = 16`` and ``16.0`` are
one spec) and grids expanded: its hash names the sweep's cache, so any change that could change a
number gives a new hash.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradlab._validate import describe, suggest
from gradlab.queries._common import FRAME_BYTES

__all__ = ["QUERIES", "Axis", "Spec", "load_spec", "source_fingerprint"]

#: Types a key takes: a scalar kind (a list of them is an axis) or a whole-sequence kind.
_SCALAR = {"int", "float", "str", "bool", "clamp"}
_WHOLE = {"grid", "ints", "strs"}

_DESCRIBE = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "clamp": "a pair [lo, hi] or false (no clamp)",
    "grid": "a list of numbers or a table {start, stop, num}",
    "ints": "an integer or a list of integers",
    "strs": "a string or a list of strings",
}


@dataclass(frozen=True)
class _Query:
    """A sweepable query: its keyword arguments (name -> type), which are required, how it takes seeds."""

    args: dict[str, str]
    required: tuple[str, ...] = ()
    int_seed: bool = False  # the query takes an int seed (derived from the point's seed tuple)
    one_activation: bool = False  # the query takes one activation: each is run in turn


#: The queries a sweep can run, with their keyword arguments in signature order.
QUERIES: dict[str, _Query] = {
    "gradient_error": _Query({"x": "grid", "method": "str", "samples": "int"}, required=("x",)),
    "error_near_zero": _Query({
        "width": "grid", "reference": "str", "statistic": "str", "points": "int", "method": "str", "samples": "int",
    }),
    "product_error_stats": _Query(
        {"inputs": "grid", "weights": "grid", "window": "float", "repeats": "int"}, required=("inputs", "weights"),
    ),
    "depth_error": _Query(
        {"depth": "ints", "width": "int", "samples": "int", "batch": "int", "noisy_weights": "bool"}, int_seed=True,
    ),
    "train_noisy": _Query(
        {"depth": "int", "hidden": "int", "epochs": "int", "batch": "int", "lr": "float"},
        int_seed=True, one_activation=True,
    ),
    # The paper's training experiment in PyTorch (gradlab.nn): every control of one seed inside a point, paired.
    "train_analog": _Query(
        {"data": "str", "model": "str", "depth": "int", "width": "int", "controls": "strs", "epochs": "int",
         "batch": "int", "lr": "float", "dropout": "float"},
        int_seed=True, one_activation=True,
    ),
    # The companion experiments (gradlab.experiments.runs): one network per seed, evaluated over whole lists.
    "train_modes": _Query(
        {"model": "str", "train": "strs", "eval_noise": "grid", "train_noise": "float", "noise_range": "str",
         "qat_bits": "int", "warmup": "int", "depth": "int", "hidden": "int", "epochs": "int", "batch": "int",
         "lr": "float"},
        int_seed=True, one_activation=True,
    ),
    "bitflip_faults": _Query(
        {"model": "str", "clipping": "strs", "ber": "grid", "patterns": "int", "where": "strs", "word": "str",
         "form": "str", "fault_thresholds": "bool", "proact_epochs": "int", "proact_images": "int", "depth": "int",
         "hidden": "int", "epochs": "int", "batch": "int", "lr": "float"},
        int_seed=True, one_activation=True,
    ),
}

#: Chain kinds: kind -> its keyword arguments (those of :func:`gradlab.analog`).
CHAINS: dict[str, dict[str, str]] = {
    "analog": {"leakage": "float", "precision": "float", "noise": "str", "clamp": "clamp", "compat": "str"},
    "none": {},  # queries whose perturbation is set by their own arguments (train_modes, bitflip_faults)
}

_TOP = ("query", "activations", "seed", "replicates", "chain")

#: Largest spec file read (bytes): a spec is a few lines; a device or a huge file is not one.
MAX_SPEC_BYTES = 1 << 20
#: Deepest nesting of tables and lists a spec may hold (the deepest valid one has 3: [chain] clamp = [[lo, hi]]).
MAX_DEPTH = 8
#: Memory one grid point's table holds at the least (a small DataFrame's own objects), for the grid's budget.
POINT_BYTES = 16 << 10


@dataclass(frozen=True)
class Axis:
    """One swept key: where it goes ('chain', 'query', or 'replicate': only the seed) and its values."""

    name: str
    where: str
    values: tuple


@dataclass(frozen=True)
class Spec:
    """A checked, normalized sweep spec."""

    query: str
    activations: tuple[str, ...]
    seed: int
    fixed: dict  # query keyword arguments that are not swept
    chain_kind: str
    chain_fixed: dict
    axes: tuple[Axis, ...]  # chain axes first, then query axes, each in signature order
    normalized: dict

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a.values) for a in self.axes)

    @property
    def points(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.axes else 1

    @functools.cached_property
    def hash(self) -> str:
        """16 hex digits of SHA-256 over the normalized spec, the gradlab version and its source code.

        The source is in the key because a finished point is only as true as the code that computed
        it: after an edit (or an upgrade without a version bump) a sweep computes its points again.
        """
        import gradlab

        text = json.dumps([gradlab.__version__, source_fingerprint(), self.normalized], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def point(self, index: tuple[int, ...]) -> dict:
        """The axis values at ``index``: {axis name: value}."""
        return {a.name: a.values[i] for a, i in zip(self.axes, index)}


@functools.lru_cache(maxsize=1)
def source_fingerprint() -> str:
    """SHA-256 of every Python file of the installed gradlab package (paths and contents), once per process."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _refuse(message: str):
    raise ValueError(f"sweep spec: {message}")


def _budget(what: str, nbytes: float) -> None:
    """Refuse, as a spec error, a grid whose table alone would not fit the memory budget."""
    from gradlab._budget import check_memory

    try:
        check_memory(what, nbytes)
    except ValueError as exc:
        _refuse(str(exc))


def _depth(value, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of dicts and lists, walked without recursion and stopping past ``limit``."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            break
        if isinstance(item, dict):
            todo.extend((v, level + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend((v, level + 1) for v in item)
    return deepest


def _check_keys(where: str, given, allowed) -> None:
    for key in given:
        if key not in allowed:
            _refuse(f"unknown key {key!r}{where}{suggest(str(key), allowed)}; allowed: {', '.join(allowed)}")


def _scalar(key: str, kind: str, value):
    """``value`` as the scalar ``kind`` takes, or a refusal naming the key."""
    ok = {
        "int": isinstance(value, (int, np.integer)) and not isinstance(value, bool),
        "float": isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "clamp": value is False or (isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)),
    }[kind]
    if not ok:
        _refuse(f"{key} must be {_DESCRIBE[kind]} (or a list of them: an axis), got {value!r}")
    if kind == "float":
        if isinstance(value, int) and abs(value) > 10**300:  # float() would raise OverflowError
            _refuse(f"{key} must be a finite number (at most about 1.8e308), got {describe(value)}")
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "clamp":
        if value is not False and any(isinstance(v, int) and abs(v) > 10**300 for v in value):
            _refuse(f"{key} must be a pair of finite numbers [lo, hi] or false, got {describe(value[0])}, "
                    f"{describe(value[1])}")
        return False if value is False else [float(value[0]), float(value[1])]
    return value


def _is_axis(kind: str, value) -> bool:
    if kind == "clamp":  # a pair of numbers is one clamp; a list of pairs (or false) is an axis
        return isinstance(value, (list, tuple)) and any(v is False or isinstance(v, (list, tuple)) for v in value)
    return isinstance(value, (list, tuple))


def _grid(key: str, value) -> list[float]:
    if isinstance(value, dict):
        _check_keys(f" in {key}", value, ("start", "stop", "num"))
        missing = [k for k in ("start", "stop", "num") if k not in value]
        if missing:
            _refuse(f"{key} needs start, stop and num; missing {', '.join(missing)}")
        start, stop = _scalar(f"{key}.start", "float", value["start"]), _scalar(f"{key}.stop", "float", value["stop"])
        num = _scalar(f"{key}.num", "int", value["num"])
        if num < 1:
            _refuse(f"{key}.num must be >= 1, got {num}")
        _budget(f"{key}.num = {num}", float(min(num, 10**30)) * FRAME_BYTES)
        return np.linspace(start, stop, num).tolist()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        _refuse(f"{key} must be {_DESCRIBE['grid']}, got {value!r}")
    if not value:
        _refuse(f"{key} is an empty list; give at least one number")
    return [_scalar(key, "float", v) for v in value]


def _strs(key: str, value) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        _refuse(f"{key} must be {_DESCRIBE['strs']} (at least one), got {value!r}")
    return [_scalar(key, "str", v) for v in items]


def _ints(key: str, value) -> list[int]:
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        _refuse(f"{key} is an empty list; give at least one integer")
    return [_scalar(key, "int", v) for v in items]


def _args(where: str, given: dict, types: dict[str, str]) -> tuple[dict, list[Axis]]:
    """(fixed values, axes) of the keys in ``given``, in the order of ``types``."""
    fixed, axes = {}, []
    for key, kind in types.items():
        if key not in given:
            continue
        value = given[key]
        if kind == "grid":
            fixed[key] = _grid(key, value)
        elif kind == "ints":
            fixed[key] = _ints(key, value)
        elif kind == "strs":
            fixed[key] = _strs(key, value)
        elif _is_axis(kind, value):
            if not value:
                _refuse(f"{key} is an empty list; an axis needs at least one value")
            axes.append(Axis(key, where, tuple(_scalar(key, kind, v) for v in value)))
        else:
            fixed[key] = _scalar(key, kind, value)
    return fixed, axes


def _read(spec) -> dict:
    if isinstance(spec, dict):
        raw = spec
    elif isinstance(spec, (str, os.PathLike)):
        raw = _read_file(spec)
    else:
        raise ValueError(f"spec must be a dict or the path of a TOML file, got {type(spec).__name__}")
    if _depth(raw) > MAX_DEPTH:
        _refuse(f"tables and lists are nested more than {MAX_DEPTH} deep; a spec needs at most 3")
    return raw


def _read_file(spec) -> dict:
    """A TOML spec file: a regular file of at most MAX_SPEC_BYTES (a device or a FIFO is never read)."""
    import stat

    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ImportError("reading a TOML spec on Python 3.10 needs tomli (pip install tomli)") from None
    name = os.fspath(spec)
    shown = repr(name) if len(name) <= 200 else f"{name[:200]!r}..."
    if isinstance(name, bytes) or "\0" in name:
        raise ValueError(f"sweep spec path must be a text path without null bytes, got {shown}")
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO opens without waiting
    except FileNotFoundError:
        raise ValueError(f"sweep spec {shown} does not exist") from None
    except OSError as exc:
        raise ValueError(f"sweep spec {shown} cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"sweep spec {shown} is not a regular file; give the path of a TOML file")
        data = fh.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise ValueError(f"sweep spec {shown} is larger than {MAX_SPEC_BYTES >> 10} KiB; a spec is a few lines")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a byte-order mark (as some Windows editors write) is not part of the TOML text
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"sweep spec {shown} is not valid TOML: it is not UTF-8 text") from None
    except RecursionError:
        raise ValueError(f"sweep spec {shown}: tables and lists are nested too deeply; a spec needs at most 3") \
            from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sweep spec {shown} is not valid TOML: {exc}") from None


def load_spec(spec) -> Spec:
    """Read and check a spec (a dict or a TOML path): every key, type and axis, and the values the
    activations and chains take, before any work.  Errors are ValueErrors naming the key."""
    raw = _read(spec)
    if "query" not in raw:
        _refuse(f"the key 'query' is missing; it names one of {', '.join(map(repr, QUERIES))}")
    name = raw["query"]
    if not isinstance(name, str) or name not in QUERIES:
        hint = suggest(name, QUERIES) if isinstance(name, str) else ""
        _refuse(f"query must be one of {', '.join(map(repr, QUERIES))}, got {name!r}{hint}")
    q = QUERIES[name]
    _check_keys(f" for query {name!r}", raw, [*_TOP, *q.args])
    for key in ("activations", *q.required):
        if key not in raw:
            _refuse(f"the key {key!r} is missing; query {name!r} needs it")
    acts = raw["activations"]
    acts = [acts] if isinstance(acts, str) else acts
    if not isinstance(acts, (list, tuple)) or not all(isinstance(a, str) for a in acts):
        _refuse(f"activations must be a name or a list of names and expressions, got {acts!r}")
    if not acts:
        _refuse("activations is an empty list; give at least one activation")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        _refuse(f"seed must be an integer >= 0, got {seed!r}")
    fixed, query_axes = _args("query", raw, q.args)

    chain = raw.get("chain", {})
    if not isinstance(chain, dict):
        _refuse(f"chain must be a table ([chain] with kind = 'analog' and its arguments), got {chain!r}")
    kind = chain.get("kind", "analog")
    if kind not in CHAINS:
        _refuse(f"chain.kind must be one of {', '.join(map(repr, CHAINS))}, got {kind!r}")
    _check_keys(" in [chain]", chain, ["kind", *CHAINS[kind]])
    chain_fixed, chain_axes = _args("chain", chain, CHAINS[kind])

    # Replicates: an axis of its own whose index enters every point's seed, (seed, ..., r).
    replicates = raw.get("replicates", 1)
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        _refuse(f"replicates must be an integer >= 1 (independent seeds per point), got {replicates!r}")
    # The grid's size before its points exist: 9e7 points or 10**9 replicates are refused, not built.
    shape = [len(a.values) for a in (*chain_axes, *query_axes)] + [min(replicates, 10**30)]
    n_points = float(np.prod(np.array(shape, dtype=float)))
    _budget(f"a grid of {n_points:.3g} points (axes {' x '.join(map(str, shape))} with replicates)",
            n_points * POINT_BYTES)
    rep_axes = [Axis("replicate", "replicate", tuple(range(replicates)))] if replicates > 1 else []
    axes = (*chain_axes, *query_axes, *rep_axes)
    seen = [a.name for a in axes]
    normalized = {
        "query": name, "activations": [a.strip() for a in acts], "seed": seed, "args": fixed,
        "chain": {"kind": kind, **chain_fixed}, "axes": [[a.name, a.where, list(a.values)] for a in axes],
    }
    out = Spec(name, tuple(normalized["activations"]), seed, fixed, kind, chain_fixed, axes, normalized)
    if len(set(seen)) != len(seen):  # not possible with today's keys; a guard for new chain kinds
        _refuse(f"an axis name appears twice: {seen}")
    _check_values(out)
    return out


def _check_values(spec: Spec) -> None:
    """Build every activation and every chain of the grid (cheap): a bad value fails here, not mid-sweep."""
    from gradlab.activations import activation
    from gradlab.conventions import CLIPPING, FLIP_SITES, FLIP_WORDS, TRAIN_MODES
    from gradlab.queries import METHODS, STATISTICS

    for text in spec.activations:
        try:
            activation(text)
        except (ValueError, TypeError) as exc:
            _refuse(f"activations: {exc}")
    choices = {"method": METHODS, "statistic": STATISTICS, "train": TRAIN_MODES, "clipping": CLIPPING,
               "where": FLIP_SITES, "word": tuple(FLIP_WORDS)}
    for key, allowed in choices.items():
        values = spec.fixed.get(key, [])
        values = list(values) if isinstance(values, list) else [values]
        values += [v for a in spec.axes if a.name == key for v in a.values]
        for v in values:
            if v not in allowed:
                _refuse(f"{key} must be one of {', '.join(map(repr, allowed))}, got {v!r}{suggest(v, allowed)}")
    chain_axes = [a for a in spec.axes if a.where == "chain"]
    for combo in np.ndindex(*(len(a.values) for a in chain_axes)):
        values = {a.name: a.values[i] for a, i in zip(chain_axes, combo)}
        try:
            make_chain(spec, values)
        except (ValueError, TypeError) as exc:
            _refuse(f"[chain] {values or ''}: {exc}")


def make_chain(spec: Spec, values: dict):
    """The chain of one grid point, given the values of its chain axes."""
    import gradlab as gl

    if spec.chain_kind == "none":
        return None
    kwargs = {**spec.chain_fixed, **values}
    if "clamp" in kwargs:
        kwargs["clamp"] = None if kwargs["clamp"] is False else tuple(kwargs["clamp"])
    return gl.analog(**kwargs)
