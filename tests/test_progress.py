"""The one progress report (figures, sweeps): its lines, its arithmetic, terminal and log modes."""
import io
import sys

import pytest

from gradlab import _progress
from gradlab._progress import Progress, duration


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(_progress.time, "perf_counter", fake)
    return fake


def test_durations():
    assert [duration(s) for s in (0.04, 119.9, 150, 7199, 7200, 9000)] == [
        "0.0 s", "119.9 s", "2.5 min", "120.0 min", "2.0 h", "2.5 h"]


def test_a_log_gets_one_line_per_item_with_the_time_left(clock, capsys):
    bar = Progress(10, "points", done=2)  # two points resumed from the cache: not in the estimate
    clock.now += 4.0
    bar.update(2, "a")
    clock.now += 2.0
    bar.update(1)
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "[####................] 2/10 points, 0.0 s",
        # 2 computed in 4 s, 6 to go: 12 s.
        "[########............] 4/10 points, 4.0 s, about 12.0 s left: a",
        "[##########..........] 5/10 points, 6.0 s, about 10.0 s left",
    ]


def test_a_long_log_gets_a_line_per_tenth(clock, capsys):
    bar = Progress(30, "figures")
    for _ in range(30):
        bar.update(1)
    counts = [int(line.split("] ")[1].split("/")[0]) for line in capsys.readouterr().err.splitlines()]
    assert counts == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]


def test_a_terminal_gets_one_line_redrawn(clock, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    bar = Progress(2, "figures")
    bar.working_on("activations")
    clock.now += 1.5
    bar.update(1, "activations 1.5 s")
    bar.message("  skipped training: no sklearn")
    bar.update(1)
    bar.close()
    text = err.getvalue()
    assert text.count("\r") == 4 and text.endswith("2/2 figures, 1.5 s\x1b[K\n")
    assert "1/2 figures, 1.5 s, about 1.5 s left: activations 1.5 s\x1b[K\n  skipped training: no sklearn\n" in text


def test_a_callable_gets_done_and_total_and_false_is_silent(capsys):
    seen = []
    bar = Progress(3, "points", done=1, report=lambda d, t: seen.append((d, t)))
    bar.update(2)
    bar.close()
    quiet = Progress(3, "points", report=False)
    quiet.update(3)
    quiet.message("x")
    quiet.close()
    assert seen == [(1, 3), (3, 3)] and capsys.readouterr().err == ""
