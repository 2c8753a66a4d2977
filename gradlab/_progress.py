"""One progress report for long runs (the figure set, sweeps): items done out of a total, on stderr.

On a terminal it is one line redrawn in place; in a log (stderr not a terminal) it writes a line
per item, or per tenth of the items when there are 20 or more, so a log stays short.  The estimate
of the time left counts only the items computed in this run (a resumed sweep loads the others).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable

__all__ = ["Progress", "duration"]


def duration(seconds: float) -> str:
    """A time span for people: 12.3 s, 4.5 min, 1.2 h."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """``total`` items (``unit``: 'points', 'figures'), ``done`` of them finished before this run.

    ``report``: True (a bar on stderr), False (silent), or a callable ``report(done, total)``, called
    now and after each :meth:`update`.
    """

    #: Characters of the bar.
    WIDTH = 20

    def __init__(self, total: int, unit: str, *, done: int = 0, report: bool | Callable[[int, int], object] = True):
        self.total, self.unit, self.done, self.report = total, unit, done, report
        self.computed, self.start, self.shown = 0, time.perf_counter(), -1
        self._step = max(1, total // 10) if total >= 20 else 1
        self._open = False  # a terminal line is drawn and not yet ended
        self._show("")

    def update(self, n: int = 1, note: str = "") -> None:
        """``n`` more items finished; ``note`` (e.g. the item's name and time) ends the line."""
        self.done += n
        self.computed += n
        self._show(note)

    def working_on(self, label: str) -> None:
        """Say what is being done now (on a terminal; a log gets the finished items only)."""
        if self.report is True and sys.stderr.isatty():
            print(f"\r{self.line(label + ' ...')}\033[K", end="", file=sys.stderr, flush=True)
            self._open = True

    def message(self, text: str) -> None:
        """A line of its own (a skipped item, say), below the bar."""
        if self.report is True:
            self._end_line()
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        """End the bar's line, so what follows starts on its own."""
        if self.report is True:
            self._end_line()

    def line(self, note: str = "") -> str:
        """The report as text: bar, count, time so far, time left, note."""
        elapsed = time.perf_counter() - self.start
        filled = self.WIDTH * self.done // self.total if self.total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        text = f"[{bar}] {self.done}/{self.total} {self.unit}, {duration(elapsed)}"
        if self.computed and self.done < self.total:
            text += f", about {duration(elapsed / self.computed * (self.total - self.done))} left"
        return f"{text}: {note}" if note else text

    def _show(self, note: str) -> None:
        if callable(self.report):
            self.report(self.done, self.total)
            return
        if not self.report:
            return
        if sys.stderr.isatty():
            print(f"\r{self.line(note)}\033[K", end="", file=sys.stderr, flush=True)
            self._open = True
        elif self.done // self._step > self.shown or self.done == self.total:
            self.shown = self.done // self._step
            print(self.line(note), file=sys.stderr, flush=True)

    def _end_line(self) -> None:
        if self._open:
            print(file=sys.stderr, flush=True)
            self._open = False
