"""Running a sweep: grid points in order on this machine, or in batches on Dask; every finished point cached.

Why a result does not depend on where or when it ran: the point with index tuple p (one index per
axis) runs its query with the seed (spec seed, *p); depth_error and train_noisy take an integer
seed, and get the 63-bit hash of that tuple (from :func:`gradlab.perturbations.chain.seed_of`).  No
random number depends on a worker, a batch or the order of completion, and the table is assembled
from the points in index order.

Why a sweep survives interruption: each finished point is written atomically, as it completes, to
``<cache>/<spec hash>/<point hash>.point.json``; a rerun loads those and computes the rest.  The spec hash
covers the normalized spec and the gradlab version, so a changed spec never meets stale points.
Point files (:mod:`gradlab.sweeps.store`) are typed JSON that comes back exactly (float bits, dtypes,
column order) and cannot run code; each names its spec, point and gradlab version and carries a
checksum, and one that does not match is discarded and computed again, with a warning.

Two paths: without a client, points run one after another in this process (the Numba kernels of
each query already use every core); with a Dask client, points go out in batches (about four per
worker thread), so a sweep of many small points is not dominated by scheduling.  Workers compile
nothing twice: kernels live in the on-disk cache ``$GRADLAB_CACHE_DIR``, which local workers inherit.
"""
from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from gradlab._io import cache_home
from gradlab._progress import Progress
from gradlab.sweeps.spec import QUERIES, Spec, load_spec, make_chain
from gradlab.sweeps.store import PointStore

__all__ = ["CONNECT_TIMEOUT", "cache_root", "check_client", "check_points", "run_point", "sweep"]

#: Batches per Dask worker thread: enough to balance uneven points, few enough to keep overhead small.
BATCHES_PER_THREAD = 4


def cache_root() -> Path:
    """Where sweeps keep their finished points: ``sweeps/`` in :func:`gradlab._io.cache_home`."""
    return cache_home() / "sweeps"


@functools.lru_cache(maxsize=64)
def _activation(text: str):
    from gradlab.activations import activation

    return activation(text)


def _cell(value):
    """An axis value as a table cell: a clamp pair reads (lo, hi), no clamp reads none."""
    if value is False:
        return "none"
    if isinstance(value, list):
        return f"({value[0]!r}, {value[1]!r})"
    return value


def check_points(spec: Spec) -> None:
    """Check every point's arguments and budget with the query's own checks, before any point runs.

    Each point's query is called inside :func:`gradlab.queries._common.check_only`, which stops it
    where its work would begin.  Replicates differ only in their seeds: the first stands for all.
    """
    from gradlab.queries._common import ArgumentsChecked, check_only

    reps = [i for i, a in enumerate(spec.axes) if a.where == "replicate"]
    shape = [1 if i in reps else n for i, n in enumerate(spec.shape)]
    with check_only():
        for index in np.ndindex(*shape):
            try:
                run_point(spec, index)
            except ArgumentsChecked:
                continue
            except (ValueError, TypeError) as exc:
                point = {k: _cell(v) for k, v in spec.point(index).items() if k != "replicate"}
                where = f" at the point {point}" if point else ""
                raise ValueError(f"sweep spec: {spec.query}{where}: {exc}") from None
            raise AssertionError(f"{spec.query} ran without checking its arguments first")  # a query to fix


def run_point(spec: Spec, index: tuple[int, ...]) -> pd.DataFrame:
    """The query's table at one grid point, with the point's axis values as its first columns.

    A query column that repeats an axis (the ``samples`` of gradient_error, the ``width`` of
    depth_error) is dropped where it holds the axis value; where a number differs, it says what
    the row is about and takes the axis column's place (the companion ConvNet's fixed 6 layers
    under a ``depth`` axis that only the MLPs use).
    """
    import gradlab as gl
    from gradlab.perturbations.chain import seed_of

    q = QUERIES[spec.query]
    point = spec.point(index)
    chain = make_chain(spec, {a.name: point[a.name] for a in spec.axes if a.where == "chain"})
    kwargs = {**spec.fixed, **{a.name: point[a.name] for a in spec.axes if a.where == "query"}}
    positional = [kwargs.pop(k) for k in q.required]
    seed = (spec.seed, *index)
    # depth_error and train_noisy take an integer: the tuple's 64-bit hash less its last bit (an int64 column).
    kwargs["seed"] = int(seed_of(seed)) >> 1 if q.int_seed else seed
    acts = [_activation(text) for text in spec.activations]
    query = getattr(gl, spec.query)
    if q.one_activation:
        frame = pd.concat([query(a, chain, *positional, **kwargs) for a in acts], ignore_index=True)
    else:
        frame = query(acts, chain, *positional, **kwargs)
    own = [c for c in point if c in frame.columns and _differs(frame[c], point[c])]
    frame = frame.drop(columns=[c for c in point if c in frame.columns and c not in own])
    for pos, (name, value) in enumerate(point.items()):
        frame.insert(pos, name, frame.pop(name) if name in own else _cell(value))
    return frame


def _differs(column: pd.Series, value) -> bool:
    """Whether a query's numeric column holds another number than the axis value anywhere."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not pd.api.types.is_numeric_dtype(column):
        return False
    return bool((column.to_numpy(dtype=float) != float(value)).any())


def _numba_threads(client) -> dict[str, int]:
    """Numba threads for a task on each worker: the host's cores shared among the worker threads on it.

    Without this, two workers on two cores run two-thread kernels each, and OpenMP threads that
    spin while they wait for work take the cores from each other (a sweep ran twice as slowly).
    """
    from collections import Counter

    workers = client.scheduler_info()["workers"]
    cores = client.run(os.cpu_count)
    on_host = Counter()
    for w in workers.values():
        on_host[w["host"]] += w["nthreads"]
    return {a: max(1, (cores.get(a) or 1) // on_host[w["host"]]) for a, w in workers.items()}


def _run_batch(spec: Spec, indices: Sequence[tuple[int, ...]], directory: str | None, threads: dict[str, int]):
    """A Dask task: compute (or load) each point, store it as it completes, return [(index, frame)]."""
    from distributed import get_worker

    try:
        n = threads.get(get_worker().address)
    except ValueError:  # called outside a worker
        n = None
    if n is not None:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    store = PointStore(spec, None if directory is None else Path(directory))
    out = []
    for index in indices:
        frame = store.load(index)
        if frame is None:
            frame = run_point(spec, index)
            try:
                store.save(index, frame)
            except OSError:
                pass  # a remote worker without the client's file system: the client stores it
        out.append((index, frame))
    return out


def check_client(client, name: str = "client") -> None:
    """Before any work: a client given as a number of workers or an address needs the sweep extra, and
    an address must answer (a TCP connection within :data:`CONNECT_TIMEOUT` seconds).  ``name`` is the
    option the messages name (``--workers``, ``--scheduler`` on the command line)."""
    if not isinstance(client, (int, str)) or isinstance(client, bool):
        return
    from gradlab._extras import require

    require("sweep", f"{name} {client!r} (a sweep on Dask)")
    if isinstance(client, str):
        import socket

        parsed = urlparse(client if "://" in client else f"tcp://{client}")
        if parsed.scheme not in ("tcp", "tls"):
            return  # inproc://, ucx://: nothing to dial here
        try:
            host, port = parsed.hostname, parsed.port
        except ValueError:
            host, port = None, None
        if not host or port is None:
            raise ValueError(f"{name} must be a scheduler address like tcp://host:8786, got {client!r}")
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise ValueError(f"{name}: no Dask scheduler answers at {client!r} ({why}); start one "
                             "(dask scheduler) or check the address") from None


#: Seconds :func:`check_client` waits for a scheduler's address to accept a connection.
CONNECT_TIMEOUT = 5.0


def _on_dask(client, spec: Spec, todo: list, store: PointStore, bar: Progress, batch: int | None) -> dict:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        from gradlab._extras import missing_extra

        raise ImportError(missing_extra("running a sweep on Dask", "sweep")) from None
    owned = []
    if isinstance(client, int):
        cluster = LocalCluster(n_workers=client, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        owned = [client, cluster]
    elif isinstance(client, str):
        client = Client(client)
        owned = [client]
    futures = []
    try:
        slots = max(1, sum(client.nthreads().values()))
        threads = _numba_threads(client)
        size = batch or max(1, math.ceil(len(todo) / (BATCHES_PER_THREAD * slots)))
        directory = None if store.directory is None else str(store.directory)
        for start in range(0, len(todo), size):
            futures.append(client.submit(_run_batch, spec, todo[start : start + size], directory, threads, pure=False))
        frames = {}
        for future in as_completed(futures):
            done = future.result()
            for index, frame in done:
                store.save(index, frame)
                frames[index] = frame
            bar.update(len(done))
        return frames
    finally:
        if not owned and futures:
            client.cancel(futures)  # interrupted: the user's cluster stops working for us
        for item in owned:
            item.close()


def sweep(
    spec,
    client=None,
    *,
    cache: bool | str | os.PathLike = True,
    progress: bool | Callable[[int, int], object] = True,
    batch: int | None = None,
) -> pd.DataFrame:
    """Run one query over a grid of parameters; one tidy table back.

    Parameters
    ----------
    spec : a dict or the path of a TOML file: ``query`` (gradient_error, error_near_zero,
        product_error_stats, depth_error or train_noisy), ``activations``, ``seed``, the query's
        keyword arguments and a ``[chain]`` table (``kind = "analog"`` and the arguments of
        :func:`gradlab.analog`).  A list where the query takes one value is an axis; axes are
        crossed.  Checked whole before any work: a bad key, type or value is a ValueError naming it,
        and so is a value any point's query would refuse, or a point over the budget.
    client : None (run here, point after point), a ``dask.distributed.Client``, a number of local
        Dask worker processes (a LocalCluster started and closed here), or a scheduler address
        (``"tcp://host:8786"``).  Dask needs the ``sweep`` extra.
    cache : True (``$GRADLAB_CACHE_DIR/sweeps``), a directory, or False (keep nothing).  Finished
        points are stored as they complete; a rerun of the same spec skips them.
    progress : True (points done / total and the time left, on stderr), False, or a callable
        ``progress(done, total)``, called once at the start and after each point (each batch on Dask).
    batch : points per Dask task (default: about four tasks per worker thread).

    Returns
    -------
    DataFrame: the axis columns (chain axes, then query axes, in signature order), then the
    query's own columns; the points in index order (the last axis fastest), each point's rows as
    its query gives them (one per activation and x for gradient_error).  The same bytes whether
    run here, on Dask or resumed: point p uses seed (seed, *p).
    """
    if not (isinstance(progress, (bool, np.bool_)) or callable(progress)):
        raise TypeError(f"progress must be True, False or a callable progress(done, total), got {progress!r}")
    progress = bool(progress) if isinstance(progress, np.bool_) else progress
    s = load_spec(spec)
    check_points(s)
    if client is not None and not (isinstance(client, str) or hasattr(client, "submit")):
        if isinstance(client, bool) or not isinstance(client, int) or client < 1:
            raise ValueError(f"client must be None, a dask Client, a number of workers >= 1 or an address, "
                             f"got {client!r}")
    check_client(client)  # before any work: the extra, the scheduler's address
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise ValueError(f"batch must be an integer >= 1 (points per Dask task), got {batch!r}")
    if cache is False:
        directory = None
    elif cache is True:
        directory = cache_root() / s.hash
    elif isinstance(cache, (str, os.PathLike)):
        directory = Path(cache) / s.hash
    else:
        raise ValueError(f"cache must be True, False or a directory, got {cache!r}")
    store = PointStore(s, directory)
    store.describe()
    indices = list(np.ndindex(*s.shape))
    frames = {}
    for index in indices:
        frame = store.load(index)
        if frame is not None:
            frames[index] = frame
    store.report()
    todo = [index for index in indices if index not in frames]
    bar = Progress(len(indices), "points", done=len(frames), report=progress)
    try:
        if client is None or not todo:
            for index in todo:
                frames[index] = run_point(s, index)
                store.save(index, frames[index])
                bar.update(1)
        else:
            frames.update(_on_dask(client, s, todo, store, bar, batch))
    finally:
        bar.close()
    return pd.concat([frames[index] for index in indices], ignore_index=True)
