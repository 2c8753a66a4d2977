"""Latency of ``gradlab explore`` in a real browser: from a control's key press to every view redrawn.

Serves the explorer (or, with ``--lesson``, the lesson) on loopback, opens it in headless Chromium
through selenium and moves each control by key presses (arrow keys on a slider's thumb or a
focused dropdown), 20 moves per control.  A script in the page stamps the key press
(``keydown``, ``performance.now()``) and, for each view (header, live numbers, the three plots;
in the lesson, each section), the last time it changed: a DOM mutation inside it, an image in it
loaded, or a draw call on a canvas in it.  A move is over when every view the control feeds has
changed and nothing has changed for ``QUIET_MS``; its latency is the last change of any view
minus the key press: what a student waits for until the page shows the new state everywhere.
Also: ten presses 40 ms apart, from the first press until the page settles on the last value.

Reported per control: median and worst over the 20 moves (ms), and the first view's median; the
median (and count) of the moves to a value met for the first time, computed, and of those to a
value met again, from the page's caches; the machine's load average before and after.

Run: python benchmarks/bench_explore_browser.py [--lesson] [--moves 20] [--window 1600x1100] [--only TEXT]
(results: benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

#: Nothing changed in the page for this long: the move is over.
QUIET_MS = 500
#: A view the move leaves as it was (the front end does not redraw an identical output) is waited for this long.
SPARE_MS = 3000
#: A move that has not settled by then is reported as this long (and flagged).
MOVE_TIMEOUT_S = 20

# The page-side recorder.  Views are found by what contains the changed node (closest) or what the
# added node contains (querySelector), so a view re-created by the front end is still recognized.
# The selectors after the first in each list are those of the explorer before it named its views.
RECORDER = r"""
if (!window.__gl) {
  const VIEWS = arguments[0];
  const gl = window.__gl = {t0: null, last: {}, any: null};
  // closest() across shadow roots: marimo draws a chart inside its renderer's shadow root.
  const closestDeep = (el, sel) => {
    while (el) {
      const hit = el.closest(sel);
      if (hit) return hit;
      const root = el.getRootNode();
      el = root && root.host ? root.host : null;
    }
    return null;
  };
  // The views' ids first; the older selectors only where no id matched.
  const inView = (el, within) => {
    for (const pass of [0, 1]) {
      const hit = [];
      for (const [name, sels] of Object.entries(VIEWS)) {
        for (const sel of (pass === 0 ? sels.slice(0, 1) : sels.slice(1))) {
          try { if (closestDeep(el, sel) || (!within && el.querySelector(sel))) { hit.push(name); break; } }
          catch (e) {}
        }
      }
      if (hit.length) return hit;
    }
    return [];
  };
  // within: the changed node is inside a view; a new subtree also counts for every view it holds
  // (an attribute of an ancestor, such as marimo's mark of a stale output, does not).
  const mark = (el, within) => {
    if (gl.t0 === null || !el) return;
    const now = performance.now();
    gl.any = now;
    gl.anyEver = now;  // not reset by a key press: the end of a burst of presses
    for (const v of inView(el, within)) gl.last[v] = now;
  };
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (r.type !== 'childList') mark(el, true);
      for (const n of r.addedNodes) mark(n.nodeType === 1 ? n : n.parentElement, n.nodeType !== 1);
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  document.addEventListener('load', (e) => mark(e.target, true), true);
  const canvasViews = new WeakMap();
  for (const op of ['fill', 'stroke', 'fillText', 'drawImage', 'fillRect']) {
    const orig = CanvasRenderingContext2D.prototype[op];
    CanvasRenderingContext2D.prototype[op] = function (...args) {
      if (gl.t0 !== null) {
        // a draw call is frequent: the canvas's views are looked up once
        if (!canvasViews.has(this.canvas)) canvasViews.set(this.canvas, inView(this.canvas, true));
        const now = performance.now();
        for (const v of canvasViews.get(this.canvas)) gl.last[v] = now;
      }
      return orig.apply(this, args);
    };
  }
  // The kernel's messages: key press to the last one is marimo's share (request, cells, transfer),
  // the last one to the last draw the browser's.
  gl.ws = [];
  const sockets = new Set();
  const watch = () => {
    for (const ws of (window.__glSockets || [])) {
      if (sockets.has(ws)) continue;
      sockets.add(ws);
      ws.addEventListener('message', () => { if (gl.t0 !== null) gl.ws.push(performance.now()); });
    }
  };
  watch();
  setInterval(watch, 500);
  window.addEventListener('keydown', () => { gl.t0 = performance.now(); gl.last = {}; gl.any = null; gl.ws = []; },
                          true);
}
"""

# Before the page's own scripts: keep every WebSocket the page opens, so the recorder can stamp its messages.
SOCKETS = r"""
window.__glSockets = [];
const Native = window.WebSocket;
window.WebSocket = function (...args) { const ws = new Native(...args); window.__glSockets.push(ws); return ws; };
window.WebSocket.prototype = Native.prototype;
Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
"""

#: The explorer's views: id-named containers, then (for the explorer before issue 22) its images' alt texts.
EXPLORER_VIEWS = {
    "header": ["#gl-header", "b:has(~ #gl-numbers)", "code:has(~ #gl-numbers)"],
    "numbers": ["#gl-numbers"],
    "curves": ["#gl-curves", "img[alt^='f and f']"],
    "levels": ["#gl-levels", "img[alt^='distribution of x~']"],
    "error": ["#gl-error", "img[alt^='gradient error e(x)']"],
}
ALL = ("header", "numbers", "curves", "levels", "error")
#: control label -> (key, presses per move pattern, the views the move must change).
EXPLORER_CONTROLS = {
    "interpolation i": ("slider", ["ARROW_RIGHT"] * 10 + ["ARROW_LEFT"] * 10, ALL),
    "precision P": ("slider", ["ARROW_LEFT"] * 8 + ["ARROW_RIGHT"] * 10 + ["ARROW_LEFT"] * 2, ALL),
    "leakage": ("slider", ["ARROW_RIGHT"] * 10 + ["ARROW_LEFT"] * 10, ALL),
    "f' at a kink": ("dropdown", ["ARROW_DOWN"] * 4 + ["ARROW_UP"] * 4 + ["ARROW_DOWN"] * 4 + ["ARROW_UP"] * 4
                     + ["ARROW_DOWN"] * 4, ("numbers", "curves", "levels", "error")),
    "window w//window |x|": ("slider", ["ARROW_LEFT"] * 6 + ["ARROW_RIGHT"] * 10 + ["ARROW_LEFT"] * 4,
                             ("numbers", "curves", "error")),
    "input x//x (for x~)": ("slider", ["ARROW_RIGHT"] * 20, ("levels",)),
}
LESSON_VIEWS = {
    "kink": ["#gl-lesson-kink", ".output-area:has(h2[id^='1-'])"],
    "quantization": ["#gl-lesson-quantization", ".output-area:has(h2[id^='2-'])"],
    "window": ["#gl-lesson-window", ".output-area:has(h2[id^='3-'])"],
    "gsd": ["#gl-lesson-gsd", ".output-area:has(h2[id^='4-'])"],
}
LESSON_CONTROLS = {
    "GELU scale s": ("slider", ["ARROW_LEFT"] * 10 + ["ARROW_RIGHT"] * 10, ("quantization",)),
    "precision P (levels per unit)": ("slider", ["ARROW_RIGHT"] * 6 + ["ARROW_LEFT"] * 10 + ["ARROW_RIGHT"] * 4,
                                      ("quantization",)),
    "window |x|": ("slider", ["ARROW_LEFT"] * 6 + ["ARROW_RIGHT"] * 10 + ["ARROW_LEFT"] * 4, ("window",)),
    "leakage": ("slider", ["ARROW_RIGHT"] * 10 + ["ARROW_LEFT"] * 10, ("window",)),
    "interpolation i": ("slider", ["ARROW_RIGHT"] * 10 + ["ARROW_LEFT"] * 10, ("gsd",)),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(lesson: bool):
    port = _free_port()
    cmd = [sys.executable, "-m", "gradlab.cli", "explore", "--port", str(port), "--no-browser"]
    proc = subprocess.Popen(cmd + (["--lesson"] if lesson else []), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        found: list[str] = []

        def read():
            for line in proc.stdout:
                if "serving on " in line and not found:
                    found.append(line.split("serving on ", 1)[1].strip())

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + 90
        while not found and time.monotonic() < deadline:
            time.sleep(0.1)
        if not found:
            raise SystemExit("gradlab explore printed no address")
        for _ in range(300):
            try:
                with urllib.request.urlopen(found[0], timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield found[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)


@contextlib.contextmanager
def chromium(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gradlab-bench-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def control_element(driver, kind: str, label: str):
    """The element that takes the keys: a slider's thumb or a dropdown's select (both in shadow roots)."""
    from selenium.webdriver.common.by import By

    tag = "marimo-slider" if kind == "slider" else "marimo-dropdown"
    labels = label.split("//")  # the label, then what it was before issue 22
    host = next(e for e in driver.find_elements(By.CSS_SELECTOR, tag)
                if any(name in (e.get_attribute("data-label") or "") for name in labels))
    inner = host.shadow_root.find_element(By.CSS_SELECTOR, "[role=slider]" if kind == "slider" else "select")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", host)
    return inner


def one_move(driver, element, key: str, expected) -> tuple[float, float, float, bool]:
    """(last change, first change, last kernel message) in ms after the key press, and whether every
    expected view changed."""
    from selenium.webdriver.common.keys import Keys

    # Focus it first, by script: selenium does not always move the focus into a shadow root, and the
    # keys then go to whichever control had it.
    driver.execute_script("arguments[0].focus()", element)
    element.send_keys(getattr(Keys, key))
    deadline = time.monotonic() + MOVE_TIMEOUT_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
        st = driver.execute_script("const g = window.__gl; return [g.t0, g.last, g.ws, performance.now()];")
        t0, last, ws, now = st
        if t0 is None:
            continue
        if last and now - max(last.values()) > (QUIET_MS if all(v in last for v in expected) else SPARE_MS):
            done = max(last.values())
            kernel = max([w for w in ws if w <= done], default=float("nan"))
            return done - t0, min(last.values()) - t0, kernel - t0, all(v in last for v in expected)
    return MOVE_TIMEOUT_S * 1e3, float("nan"), float("nan"), False


def burst(driver, element, key: str, expected, presses: int = 10, gap_s: float = 0.04) -> float:
    """Ten presses ``gap_s`` apart: ms from the first press until the page settles (the last view changed)."""
    from selenium.webdriver.common.keys import Keys

    first = None
    driver.execute_script("arguments[0].focus(); window.__gl.anyEver = null", element)
    for _ in range(presses):
        element.send_keys(getattr(Keys, key))
        if first is None:
            first = driver.execute_script("return window.__gl.t0")
        time.sleep(gap_s)
    # The last change of any view since the first press (the last presses may meet the slider's end
    # and change nothing), once nothing has changed for QUIET_MS.
    deadline = time.monotonic() + MOVE_TIMEOUT_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
        last, now = driver.execute_script("return [window.__gl.anyEver, performance.now()]")
        if last is not None and now - last > QUIET_MS:
            return last - first
    return float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lesson", action="store_true")
    p.add_argument("--moves", type=int, default=20)
    p.add_argument("--window", default="1600x1100")
    p.add_argument("--screenshot", help="save a screenshot of the page at the end (PNG)")
    p.add_argument("--only", action="append", default=[], metavar="TEXT",
                   help="measure only the controls whose label contains TEXT (repeatable)")
    args = p.parse_args()
    width, height = (int(v) for v in args.window.split("x"))
    views, controls = (LESSON_VIEWS, LESSON_CONTROLS) if args.lesson else (EXPLORER_VIEWS, EXPLORER_CONTROLS)
    from selenium.webdriver.common.by import By

    load_before = os.getloadavg()
    with serve(args.lesson) as url, chromium(width, height) as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SOCKETS})
        driver.get(url)
        ready = "#gl-numbers" if not args.lesson else "marimo-slider"
        for _ in range(600):
            if driver.find_elements(By.CSS_SELECTOR, ready):
                break
            time.sleep(0.2)
        time.sleep(12.0)  # the first outputs settle, and the page prepares the default sliders' values
        driver.execute_script(RECORDER, views)
        print(f"{'lesson' if args.lesson else 'explorer'} at {width}x{height}; {args.moves} moves per control; "
              f"ms from the key press to the last view redrawn", flush=True)
        print(f"{'control':<24}{'median':>8}{'worst':>8}{'best':>8}{'first view':>12}{'last message':>14}"
              f"{'10 presses settle':>19}{'new value':>12}{'met again':>12}", flush=True)
        for label, (kind, keys, expected) in controls.items():
            if args.only and not any(text in label for text in args.only):
                continue
            element = control_element(driver, kind, label)
            time.sleep(0.3)
            lasts, firsts, kernels, unsettled = [], [], [], 0
            # A value met for the first time is computed; one met again comes from the page's caches.
            attribute = "aria-valuenow" if kind == "slider" else "value"
            seen, fresh = {element.get_attribute(attribute)}, []
            for key in keys[: args.moves]:
                last, first, kernel, ok = one_move(driver, element, key, expected)
                fresh.append(element.get_attribute(attribute) not in seen)
                seen.add(element.get_attribute(attribute))
                lasts.append(last)
                firsts.append(first)
                kernels.append(kernel)
                unsettled += not ok
            settle = float("nan")
            if kind == "slider":  # ten presses on, then ten back (a dropdown has too few choices)
                # towards the end with more room: presses against an end move nothing
                now, low, high = (float(element.get_attribute(f"aria-value{a}")) for a in ("now", "min", "max"))
                there = "ARROW_RIGHT" if high - now >= now - low else "ARROW_LEFT"
                settle = burst(driver, element, there, expected)
                burst(driver, element, "ARROW_LEFT" if there == "ARROW_RIGHT" else "ARROW_RIGHT", expected)
            flag = f"  ({unsettled} moves left a view as it was, or did not settle)" if unsettled else ""
            new = [t for t, f in zip(lasts, fresh, strict=True) if f]
            again = [t for t, f in zip(lasts, fresh, strict=True) if not f]
            split = "".join(f"{statistics.median(v) if v else float('nan'):8.0f}{len(v):4d}" for v in (new, again))
            print(f"{label.split('//')[0]:<24}{statistics.median(lasts):8.0f}{max(lasts):8.0f}{min(lasts):8.0f}"
                  f"{statistics.median(firsts):12.0f}{statistics.median(kernels):14.0f}{settle:19.0f}{split}{flag}",
                  flush=True)
        if args.screenshot:
            driver.execute_script("window.scrollTo(0, 0)")
            driver.save_screenshot(args.screenshot)
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min): before {', '.join(f'{v:.2f}' for v in load_before)}; "
          f"after {', '.join(f'{v:.2f}' for v in load_after)}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
