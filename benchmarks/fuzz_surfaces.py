"""Fuzz the sweep specs, the sweep cache and the command line (the surfaces fuzz_api.py does not reach).

Run: python benchmarks/fuzz_surfaces.py [--specs 600] [--tampers 40] [--cli 600] [--seed 0] [--seconds 900]

Three families of trials, each in a temporary directory removed at the end (and $GRADLAB_CACHE_DIR
pointed into it, so the user's caches are left alone):

- specs: a valid small spec of every sweepable query with one key replaced by an odd value (NaN,
  10**400, strings, booleans, nested tables, lists with a bad later point, huge grids and
  replicates), an unknown key, or a key dropped; half of them written as TOML (some with a
  byte-order mark, truncated, nested 1,000 deep, binary garbage) and run from the file.  Passes
  when the sweep answers or refuses with ValueError/TypeError, within the alarm, before any point
  when it refuses (the progress callback must not have been called).
- tampers: a small sweep stored in a cache, one or two point files replaced (another point's file,
  a pickle that would create a sentinel file, truncated, empty, garbage, a FIFO, a directory), then
  resumed: the table must be byte-identical to an uncached run, no code may run, and the next
  resume must find every point stored (nothing recomputed twice).
- cli: random argv for list, show, error, audit, sweep and cache (figures and explore only with
  --help or bad options) with odd option values, run in-process: exit 0, 1 (audit's bug verdict)
  or 2, and on 2 one line on stderr (gradlab's; argparse adds its usage above its own), never a
  traceback; nothing written outside the temporary directory.

Any other outcome is a finding, printed with its input.  Exit status 1 if there is any.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import pickle
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

ODD = [float("nan"), float("inf"), -1, 0, 1, 2.5, 10**400, 1e308, 1e-320, -0.0, True, False, "abc", "", "0.1",
       None, [], [1, 0], [1000, 10**12], {}, {"a": 1}, [[0.1]], "relu", 2**63, "\0", "x\ud800"]

BASES = {
    "gradient_error": {"activations": ["relu", "gelu"], "x": [0.0, 0.1], "method": "exact",
                       "chain": {"leakage": [0.1, 0.5]}},
    "gradient_error_mc": {"activations": "relu", "x": {"start": -0.1, "stop": 0.1, "num": 3}, "method": "mc",
                          "samples": [200, 400], "chain": {"precision": [16, 64]}},
    "error_near_zero": {"activations": "relu", "points": [5, 7], "method": "exact", "chain": {}},
    "product_error_stats": {"activations": "relu", "inputs": [0.1, 0.3], "weights": [0.2], "repeats": 1,
                            "chain": {}},
    "depth_error": {"activations": "relu", "depth": [1, 2], "width": [2, 4], "samples": 2, "batch": 2, "chain": {}},
}


class Timeout(Exception):
    pass


def _short(value, limit: int = 240) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _spec(rng: random.Random) -> dict:
    name = rng.choice(list(BASES))
    spec = {"query": name.removesuffix("_mc"), **{k: v for k, v in BASES[name].items()}}
    spec["chain"] = dict(spec["chain"])
    action = rng.random()
    keys = [k for k in spec if k != "query"]
    if action < 0.55:
        spec[rng.choice(keys)] = rng.choice(ODD)
    elif action < 0.7:
        spec["chain"][rng.choice(["leakage", "precision", "clamp", "kind", "sigma"])] = rng.choice(ODD)
    elif action < 0.8:
        spec[rng.choice(["samplez", "replicates", "seed", "query"])] = rng.choice(ODD + [10**9, 3])
    elif action < 0.9:
        del spec[rng.choice(keys)]
    else:  # a bad value at a later point of an axis, or a grid over the budget
        spec[rng.choice(keys)] = rng.choice([[1000, 1], [4, 0], [11, 4], [1, 10**12], [2, 10**9]])
    return spec


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value).replace("inf", "inf").replace("nan", "nan")
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape", "backslashreplace").decode("ascii").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"None"'


def _spec_file(spec: dict, rng: random.Random, where: Path) -> Path:
    chain = spec.get("chain")
    lines = [f"{k} = {_toml(v)}" for k, v in spec.items() if v is not None and (k != "chain" or
                                                                                not isinstance(chain, dict))]
    if isinstance(chain, dict):
        lines.append("[chain]")
        lines += [f"{k} = {_toml(v)}" for k, v in chain.items() if v is not None]
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    r = rng.random()
    if r < 0.1:
        data = b"\xef\xbb\xbf" + data
    elif r < 0.15:
        data = data[: rng.randrange(len(data))]
    elif r < 0.18:
        data = b'query = "gradient_error"\nx = ' + b"[" * 1000 + b"0" + b"]" * 1000 + b"\n"
    elif r < 0.2:
        data = bytes(rng.randrange(256) for _ in range(200))
    path = where / f"spec{rng.randrange(10**9)}.toml"
    path.write_bytes(data)
    return path


def run_specs(n: int, rng, gl, tmp: Path, alarm: int, deadline: float, findings: list, counts: Counter) -> int:
    done = 0
    for _ in range(n):
        if time.perf_counter() > deadline:
            break
        spec = _spec(rng)
        target = _spec_file(spec, rng, tmp) if rng.random() < 0.5 else spec
        cache = tmp / f"c{rng.randrange(10**9)}"
        calls: list = []
        signal.alarm(alarm)
        try:
            gl.sweep(target, cache=cache, progress=lambda *a, calls=calls: calls.append(a))
            counts["spec answered"] += 1
        except (ValueError, TypeError):
            counts["spec refused"] += 1
            if len(calls) > 1:  # the first call (0 done) comes before the first point
                findings.append(f"spec refused after {len(calls) - 1} point(s) ran: {_short(spec)}")
        except Timeout:
            if len(calls) > 1:  # points were running and reported: long work under way, not a hang
                counts["spec still running at the alarm, with progress"] += 1
            else:
                findings.append(f"spec timeout ({alarm} s) before any point: {_short(spec)}")
        except Exception:  # noqa: BLE001 - a finding
            findings.append(f"spec crash: {_short(spec)}\n{traceback.format_exc(limit=-3)}")
        finally:
            signal.alarm(0)
            shutil.rmtree(cache, ignore_errors=True)
            if isinstance(target, Path):
                target.unlink(missing_ok=True)
        done += 1
    return done


class _Payload:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


TAMPER_SPEC = {"query": "gradient_error", "activations": ["relu", "gelu"], "x": [0.0, 0.05], "method": "mc",
               "samples": 300, "chain": {"leakage": [0.1, 0.5], "precision": [16, 64]}}


def run_tampers(n: int, rng, gl, tmp: Path, alarm: int, deadline: float, findings: list, counts: Counter) -> int:
    truth = gl.sweep(TAMPER_SPEC, cache=False, progress=False).to_csv(index=False)
    marker = tmp / "payload-ran"
    done = 0
    for _ in range(n):
        if time.perf_counter() > deadline:
            break
        cache = tmp / f"t{rng.randrange(10**9)}"
        gl.sweep(TAMPER_SPEC, cache=cache, progress=False)
        [spec_dir] = [p for p in cache.iterdir() if p.is_dir()]
        points = sorted(p for p in spec_dir.iterdir() if p.name != "spec.json")
        stored = {p: p.read_bytes() for p in points}  # read before any is made a FIFO (reading one would block)
        kinds = []
        for victim in rng.sample(points, rng.randint(1, 2)):
            kind = rng.choice(["other", "pickle", "truncated", "empty", "garbage", "fifo", "directory"])
            kinds.append(kind)
            data = stored[victim]
            victim.unlink()
            if kind == "other":
                victim.write_bytes(next(stored[p] for p in points if p != victim))
            elif kind == "pickle":
                victim.write_bytes(pickle.dumps(_Payload(marker)))
            elif kind == "truncated":
                victim.write_bytes(data[: rng.randrange(max(1, len(data)))])
            elif kind == "empty":
                victim.write_bytes(b"")
            elif kind == "garbage":
                victim.write_bytes(bytes(rng.randrange(256) for _ in range(len(data))))
            elif kind == "fifo":
                os.mkfifo(victim)
            else:
                victim.mkdir()
        signal.alarm(alarm)
        try:
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                got = gl.sweep(TAMPER_SPEC, cache=cache, progress=False).to_csv(index=False)
                seen: list = []
                again = gl.sweep(TAMPER_SPEC, cache=cache,
                                 progress=lambda d, t, seen=seen: seen.append(d)).to_csv(index=False)
            if got != truth or again != truth:
                findings.append(f"tamper {kinds}: the resumed table differs from an uncached run")
            elif seen and seen[0] != len(points) and not {"fifo", "directory"} & set(kinds):
                findings.append(f"tamper {kinds}: the next resume recomputed {len(points) - seen[0]} point(s) again")
            counts["tamper recomputed"] += 1
        except Timeout:
            findings.append(f"tamper {kinds}: the resume did not return within {alarm} s")
        except Exception:  # noqa: BLE001 - a finding
            findings.append(f"tamper {kinds}: crash\n{traceback.format_exc(limit=-3)}")
        finally:
            signal.alarm(0)
        if marker.exists():
            findings.append(f"tamper {kinds}: CODE RAN from a planted pickle")
            marker.rmdir()
        shutil.rmtree(cache, ignore_errors=True)
        done += 1
    return done


def _argv(rng: random.Random, tmp: Path, spec_path: Path) -> list[str]:
    odd = ["nan", "inf", "-1", "0", "1e400", "10**400", "abc", "", "0:1:1000000000", "1:0:3", "-0.1:0.1:5",
           "0:1:0", "a:b:c", "0:1", "\0", "x\ud800", str(tmp / "o.csv"), str(tmp / "o.parquet"), str(tmp / "o.txt"),
           "/dev/full", str(tmp / "missing" / "o.csv"), "py:this:s", "this:s", "py:no_such_module:f", "relu",
           "where(atan(x) > 1e-300, x, 0)", "x*((1e-300)**64)**64", "relu_gelu", "i=0.2", "i=2", "--help"]
    good = {"--x": "-0.5:0.5:5", "--leakage": "0.5", "--precision": "64", "--samples": "200", "--seed": "1",
            "--method": rng.choice(["exact", "mc", "auto"]), "--out": str(tmp / rng.choice(["o.csv", "p.parquet"])),
            "--kink": rng.choice(["left", "right", "autograd"]), "--derivative": "py:numpy:sign",
            "--dtype": rng.choice(["float32", "float16"])}

    def value(option: str, choices: list[str]) -> str:
        return good[option] if option in good and rng.random() < 0.6 else rng.choice(choices)  # reach the work too

    command = rng.choice(["list", "show", "error", "audit", "sweep", "cache", "figures", "explore", "bogus"])
    argv = [command]
    if command == "show":
        argv += [rng.choice(["relu", "gelu", "relu_gelu", "x*a; a=2", "abs(x)", *odd[20:]])]
        argv += rng.sample(["i=0.2", "i=0.9", "a=2", "kink=left", "i=nan"], rng.randint(0, 2))
        if rng.random() < 0.3:
            argv += ["--kink", rng.choice(["left", "right", "paper", *odd[:6]])]
    elif command == "error":
        argv += rng.sample(["relu", "gelu", "relu_gelu(i=0.5)", "x*a; a=2", "silu", *odd[:8]], rng.randint(1, 2))
        for opt in rng.sample(["--x", "--leakage", "--precision", "--samples", "--seed", "--method", "--out",
                               "--kink"], rng.randint(0, 3)):
            argv += [opt, value(opt, odd)]
    elif command == "audit":
        argv += [rng.choice(["relu", "gelu", "py:numpy:tanh"]) if rng.random() < 0.7 else rng.choice(odd[:10])]
        options = ["--x", "--dtype", "--kink", "--leakage", "--precision", "--out"]
        chosen = (["--derivative"] if rng.random() < 0.7 else []) + rng.sample(options, rng.randint(0, 2))
        for opt in chosen:
            argv += [opt, value(opt, ["py:numpy:sign", "float16", "float32", *odd])]
        if rng.random() < 0.5:
            argv += ["--no-impact"]
    elif command == "sweep":
        argv += [rng.choice([str(spec_path), "/dev/zero", str(tmp), str(tmp / "none.toml"), *odd[:8]])]
        argv += ["--out", rng.choice([str(tmp / "s.csv"), str(tmp / "s.txt"), "/dev/full", *odd[:4]])]
        if rng.random() < 0.5:
            argv += [rng.choice(["--no-cache", "--workers", "--scheduler"])]
            if argv[-1] != "--no-cache":
                argv += [rng.choice(["0", "-1", "abc", "tcp://"])]
    elif command == "cache":  # clear rarely: every kernel is compiled again after it
        argv += [rng.choice(["info", "bogus", "clear" if rng.random() < 0.1 else "info", *odd[:4]])]
    elif command in ("figures", "explore"):
        argv += rng.choice([["--help"], ["--only", "nosuchfigure"], ["--format", "bmp"], ["--port", "abc"],
                            ["--list"] if command == "figures" else ["--port", "-1"]])
    if rng.random() < 0.05:
        argv.insert(rng.randrange(len(argv) + 1), rng.choice(odd))
    return argv


def run_cli(n: int, rng, main, tmp: Path, alarm: int, deadline: float, findings: list, counts: Counter) -> int:
    spec_path = tmp / "cli-spec.toml"
    spec_path.write_text('query = "gradient_error"\nactivations = "relu"\nx = [0.0, 0.5]\nmethod = "exact"\n')
    home = os.getcwd()
    before = set(os.listdir(home))
    work = tmp / "cwd"  # relative --out paths land here, inside the temporary directory
    work.mkdir()
    os.chdir(work)
    done = 0
    for _ in range(n):
        if time.perf_counter() > deadline:
            break
        argv = _argv(rng, tmp, spec_path)
        out, err = io.StringIO(), io.StringIO()
        signal.alarm(alarm)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:  # argparse: --help (0), a usage error (2)
                    code = exc.code if isinstance(exc.code, int) else 2
            lines = err.getvalue().strip().splitlines()
            if code not in (0, 1, 2):
                findings.append(f"cli exit {code}: {argv!r}\n{err.getvalue()[-500:]}")
            elif "Traceback" in err.getvalue():
                findings.append(f"cli traceback: {argv!r}\n{err.getvalue()[-800:]}")
            elif code == 2 and not (lines and lines[-1].startswith("gradlab")):
                findings.append(f"cli refusal without its one line: {argv!r}\n{err.getvalue()[-500:]}")
            elif code == 2 and "usage:" not in err.getvalue() and len([x for x in lines if "warning" not in x]) > 1:
                findings.append(f"cli refusal in {len(lines)} lines: {argv!r}\n{err.getvalue()[-500:]}")
            counts[f"cli {argv[0]} exit {code}"] += 1
        except Timeout:
            findings.append(f"cli timeout ({alarm} s): {argv!r}")
        except Exception:  # noqa: BLE001 - escaped main: a finding
            findings.append(f"cli crash: {_short(argv)}\n{traceback.format_exc(limit=-3)}")
        finally:
            signal.alarm(0)
        written = set(os.listdir(home)) - before
        if written:
            findings.append(f"cli wrote {sorted(written)} outside its temporary directory: {argv!r}")
            before |= written
        done += 1
    os.chdir(home)
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=600)
    parser.add_argument("--tampers", type=int, default=40)
    parser.add_argument("--cli", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=900, help="stop starting trials after this long")
    parser.add_argument("--alarm", type=int, default=60, help="seconds before one trial counts as a timeout")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gradlab-fuzz-surfaces-"))
    os.environ["GRADLAB_CACHE_DIR"] = str(tmp / "cache")
    os.environ["GRADLAB_MEMORY_BUDGET"] = "2G"
    os.environ["GRADLAB_SAMPLE_BUDGET"] = "1e8"
    import gradlab as gl
    from gradlab.cli import main as cli_main

    def alarm(signum, frame):
        raise Timeout

    signal.signal(signal.SIGALRM, alarm)
    rng = random.Random(args.seed)
    findings: list[str] = []
    counts: Counter[str] = Counter()
    load = os.getloadavg()
    start = time.perf_counter()
    deadline = start + args.seconds
    tried = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the cache's own warnings are the expected outcome of tampering
            t = time.perf_counter()
            tried["specs"] = (run_specs(args.specs, rng, gl, tmp, args.alarm, deadline, findings, counts),
                              time.perf_counter() - t)
            t = time.perf_counter()
            tried["tampers"] = (run_tampers(args.tampers, rng, gl, tmp, args.alarm, deadline, findings, counts),
                                time.perf_counter() - t)
            t = time.perf_counter()
            tried["cli"] = (run_cli(args.cli, rng, cli_main, tmp, args.alarm, deadline, findings, counts),
                            time.perf_counter() - t)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - start
    print(f"seed {args.seed}: " + ", ".join(f"{k} {n} in {s:.0f} s" for k, (n, s) in tried.items())
          + f"; {elapsed:.0f} s in all; load average {load[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    print(f"outcomes: {dict(sorted(counts.items()))}; findings: {len(findings)}")
    for f in findings[:30]:
        print(f)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
