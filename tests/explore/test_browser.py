"""A real browser: ``gradlab explore`` served on loopback, driven by headless Chromium through selenium.

Moving the interpolation slider i from 0 to 1 must take the displayed gradient step discontinuity
from 1 to 0 (relu_gelu(i): GSD = 1 - i) and redraw the three charts, and so must a step of the
precision slider; the Monte Carlo button must show a busy cue at once, then add its points; a
typed expression the parser refuses must be refused beside the field, a partial one (``x**``)
must keep the last valid views, and a valid one be analysed.
Skipped only where Chromium, its driver, selenium or marimo are missing, saying which.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
#: Upper bounds on every wait, seconds: the test can fail, never hang.
START_TIMEOUT = 90
UPDATE_TIMEOUT = 45


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _printed_address(proc: subprocess.Popen) -> str:
    """The address (with its token) the server prints first; read on a thread so a silent server cannot hang us."""
    found: list[str] = []

    def read():
        for line in proc.stdout:
            if "serving on " in line:
                found.append(line.split("serving on ", 1)[1].strip())
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    if not found:
        raise AssertionError(f"gradlab explore printed no address within {START_TIMEOUT} s (exit {proc.poll()})")
    return found[0]


def _wait_for_server(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gradlab explore exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"gradlab explore did not answer on {url} within {START_TIMEOUT} s")


def _stop(proc: subprocess.Popen) -> None:
    """End the server and anything it started (its own process group), waiting a bounded time."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def _serve(*options: str):
    """``gradlab explore --port P --no-browser *options`` on a free loopback port; yields its address and token."""
    pytest.importorskip("marimo", reason="marimo (the 'explore' extra) is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradlab.cli", "explore", "--port", str(port), "--no-browser", *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url = _printed_address(proc)
        assert url.startswith(f"http://127.0.0.1:{port}/?access_token="), url
        _wait_for_server(url, proc)
        yield url
    finally:
        _stop(proc)


@pytest.fixture
def server():
    with _serve() as url:
        yield url


@pytest.fixture
def lesson_server():
    with _serve("--lesson") as url:
        yield url


@pytest.fixture
def browser():
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the 'test' extra) is not installed")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gradlab-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1600,1250"):
        opts.add_argument(arg)
    # The driver named explicitly: Selenium Manager must not try to download one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(START_TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, what: str, timeout: float = UPDATE_TIMEOUT):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d))
    except TimeoutException:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def _click(driver, element) -> None:
    """Bring ``element`` to the middle of the window, then click it (a click off-screen is refused)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", element)


def _text(driver, css: str) -> str | None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text.strip() if found else None
    except StaleElementReferenceException:
        return None


def _chart(driver, view: str) -> str | None:
    """A fingerprint of the chart drawn in the view ``#gl-<view>``: its specification's length and hash,
    once the browser has drawn it (a canvas in the renderer's shadow root); None before."""
    return driver.execute_script("""
        const el = document.querySelector('#gl-' + arguments[0] + ' marimo-mime-renderer');
        if (!el || !el.shadowRoot || !el.shadowRoot.querySelector('canvas')) return null;
        const spec = el.getAttribute('data-data') || '';
        let h = 0;
        for (let k = 0; k < spec.length; k++) h = (h * 31 + spec.charCodeAt(k)) | 0;
        return spec.length + ':' + h;""", view)


VIEWS = ("curves", "levels", "error")


def _charts(driver) -> dict[str, str | None]:
    return {v: _chart(driver, v) for v in VIEWS}


def _watch_for(driver, css: str, text: str) -> None:
    """Have the page set ``window.__glSeen`` once an element ``css`` shows ``text``, however briefly."""
    driver.execute_script("""
        const [css, text] = arguments;
        window.__glSeen = false;
        const look = () => {
            const el = document.querySelector(css);
            if (el && el.textContent.includes(text)) { window.__glSeen = true; observer.disconnect(); }
        };
        const observer = new MutationObserver(look);
        observer.observe(document.body, {subtree: true, childList: true, characterData: true});
        look();""", css, text)


def _slider_thumb(driver, label: str):
    """A slider's thumb (marimo draws it in a shadow root); it takes the keyboard (End: the maximum)."""
    from selenium.webdriver.common.by import By

    slider = next(s for s in driver.find_elements(By.CSS_SELECTOR, "marimo-slider")
                  if label in (s.get_attribute("data-label") or ""))
    return slider.shadow_root.find_element(By.CSS_SELECTOR, "[role=slider]")


def _all_changed(driver, before: dict, views=VIEWS) -> bool:
    now = _charts(driver)
    return all(now[v] is not None and now[v] != before[v] for v in views)


def test_moving_i_takes_the_gsd_from_1_to_0(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server)
    _wait(browser, lambda d: _text(d, "#gl-gsd") == "1", "the explorer to show GSD = 1 at i = 0", START_TIMEOUT)
    assert _text(browser, "#gl-smoothness") == "C0"
    _wait(browser, lambda d: None not in _charts(d).values(), "the three charts to be drawn")
    before = _charts(browser)
    before_ratio = _text(browser, "#gl-ratio")
    assert float(before_ratio) > 5  # ReLU near zero: about 10 times GELU at w = 1/16
    header = _text(browser, "#gl-header")
    assert "sigma=0.002896," in header and "precision=256" in header  # sigma with 4 digits, not 19
    browser.save_screenshot(str(tmp_path / "explorer_i0.png"))

    # First control, the i slider: the numbers and every chart follow.
    _slider_thumb(browser, "interpolation i").send_keys(Keys.END)
    _wait(browser, lambda d: _text(d, "#gl-gsd") == "0", "GSD = 0 after moving i to 1")
    assert _text(browser, "#gl-smoothness") == "Cinf"
    _wait(browser, lambda d: _text(d, "#gl-ratio") == "1", "the ratio to GELU to become 1 (i = 1 is GELU)")
    _wait(browser, lambda d: _all_changed(d, before), "the three charts to be redrawn after i moved")
    shot = tmp_path / "explorer_i1.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    # Second control, the precision slider one step down (256 -> 128): the header's chain and every chart.
    before = _charts(browser)
    _slider_thumb(browser, "precision P").send_keys(Keys.ARROW_LEFT)
    _wait(browser, lambda d: "precision=128" in (_text(d, "#gl-header") or ""), "the header to say precision=128")
    _wait(browser, lambda d: _all_changed(d, before), "the three charts to be redrawn after P moved")
    assert _text(browser, "#gl-gsd") == "0"

    # Monte Carlo only on demand, in the background: a busy cue at once, then e(x) with the sampled points.
    before = _charts(browser)
    button = next(b for b in browser.find_elements(By.CSS_SELECTOR, "marimo-button")
                  if "Monte Carlo points" in (b.get_attribute("data-label") or ""))
    # The cue may last less than a poll once the kernels are warm: the page itself notes that it showed.
    _watch_for(browser, "#gl-mc-busy", "Monte Carlo running")
    _click(browser, button.shadow_root.find_element(By.CSS_SELECTOR, "button"))
    _wait(browser, lambda d: d.execute_script("return window.__glSeen"), "the Monte Carlo busy cue", 10)
    _wait(browser, lambda d: _all_changed(d, before, ("error",)), "the Monte Carlo points")
    _wait(browser, lambda d: _text(d, "#gl-mc-busy") is None, "the busy cue to go once the points are drawn")
    assert _text(browser, "#gl-gsd") == "0"  # the live numbers did not move
    assert _charts(browser)["curves"] == before["curves"]  # nor the other views
    browser.save_screenshot(str(tmp_path / "explorer_mc.png"))

    # A typed expression is parsed safely; what the parser refuses is said beside the field, and a
    # partial expression keeps the last valid views.
    field = _expression_field(browser)
    _wait(browser, lambda d: "x*tanh(log(1 + exp(x)))" in (_text(d, "#gl-header") or ""), "the expression's views")
    _wait(browser, lambda d: None not in _charts(d).values(), "the expression's charts")
    field.clear()
    field.send_keys("__import__('os').system('true')", Keys.ENTER)
    _wait(browser, lambda d: "ExpressionError" in d.find_element(By.TAG_NAME, "body").text,
          "the parser's refusal on the page")
    _wait(browser, lambda d: _text(d, "#gl-gsd") is not None, "the views to stay")
    kept = _charts(browser)
    field.clear()
    field.send_keys("x**", Keys.ENTER)
    _wait(browser, lambda d: "x**" in (_text(d, "#gl-problem") or ""), "the parser's message on x**")
    assert "ExpressionError" in _text(browser, "#gl-problem")
    # Beside the field: the message is in the controls' column, and the views are those of before.
    assert browser.execute_script("return !!document.querySelector('#gl-controls #gl-problem')")
    time.sleep(1.0)
    assert _charts(browser) == kept and "x*tanh(log(1 + exp(x)))" in _text(browser, "#gl-header")
    assert _text(browser, "#gl-gsd") == "0"
    browser.save_screenshot(str(tmp_path / "explorer_partial.png"))
    field.clear()
    field.send_keys("max(x, 0)", Keys.ENTER)
    _wait(browser, lambda d: _text(d, "#gl-gsd") == "1", "GSD = 1 for max(x, 0)")
    _wait(browser, lambda d: _text(d, "#gl-problem") is None, "the message to go")
    _wait(browser, lambda d: _all_changed(d, kept, ("curves",)), "the curves of max(x, 0)")
    browser.save_screenshot(str(tmp_path / "explorer_expression.png"))


def _expression_field(driver):
    """Choose the expression family; its text field's input once the page shows it (the controls are
    drawn again when the family changes: an element found while that happens may be the old one)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    family = next(e for e in driver.find_elements(By.CSS_SELECTOR, "marimo-dropdown")
                  if "activation" in (e.get_attribute("data-label") or ""))
    Select(family.shadow_root.find_element(By.CSS_SELECTOR, "select")).select_by_visible_text("expression")

    def ready(d):
        try:
            host = next((e for e in d.find_elements(By.CSS_SELECTOR, "marimo-text")
                         if "f(x) =" in (e.get_attribute("data-label") or "")), None)
            field = host.shadow_root.find_element(By.CSS_SELECTOR, "input") if host is not None else None
            return field if field is not None and field.is_displayed() and field.is_enabled() else None
        except StaleElementReferenceException:
            return None

    _wait(driver, ready, "the expression field")
    time.sleep(0.5)  # the controls drawn again settle
    return _wait(driver, ready, "the expression field, settled")


def test_a_script_typed_as_an_expression_shows_as_text_and_runs_nothing(server, browser):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server)
    _wait(browser, lambda d: _text(d, "#gl-gsd") == "1", "the explorer to start", START_TIMEOUT)
    title = browser.title
    field = _expression_field(browser)
    for typed in ("x+<img src=x onerror=alert(1)>", "x+<img src=y onerror=\"document.title='ran'\">",
                  "__import__ + <script>document.title='ran'</script>"):
        field.clear()
        field.send_keys(typed, Keys.ENTER)
        tail = typed.split("+")[-1].strip()[:12]
        _wait(browser, lambda d, tail=tail: "ExpressionError" in d.find_element(By.TAG_NAME, "body").text
              and tail in d.find_element(By.TAG_NAME, "body").text,
              f"the refusal of {typed!r}, with the typed text shown as text")
        time.sleep(1.0)  # an image error handler would have run by now
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - raises when no alert is open
        assert browser.title == title, f"{typed!r} ran: the title became {browser.title!r}"
        # No element was made from the typed text, anywhere in the page (shadow roots included).
        made = browser.execute_script("""
            const found = [];
            const walk = (root) => root.querySelectorAll('*').forEach((e) => {
                if ((e.tagName === 'IMG' && /^(x|y)$/.test(e.getAttribute('src') || '')) || e.tagName === 'SCRIPT'
                    && (e.textContent || '').includes("'ran'")) found.push(e.outerHTML);
                if (e.shadowRoot) walk(e.shadowRoot);
            });
            walk(document);
            return found;""")
        assert made == [], f"{typed!r} became page elements: {made}"
        # Markdown is not applied either: __import__ is not made bold (which would drop its underscores).
        assert "__import__" in browser.find_element(By.TAG_NAME, "body").text or "__import__" not in typed


def test_the_lesson_checks_the_answer_as_the_control_moves(lesson_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def body(d) -> str:
        return d.find_element(By.TAG_NAME, "body").text

    browser.get(lesson_server)
    _wait(browser, lambda d: "✗ GSD = 1, not yet below 0.2" in body(d), "section 4's check to refuse i = 0",
          START_TIMEOUT)
    slider = next(s for s in browser.find_elements(By.CSS_SELECTOR, "marimo-slider")
                  if "interpolation i" in (s.get_attribute("data-label") or ""))
    thumb = slider.shadow_root.find_element(By.CSS_SELECTOR, "[role=slider]")
    for _ in range(16):  # i = 0.8: GSD 0.2, still not below 0.2
        thumb.send_keys(Keys.ARROW_RIGHT)
    _wait(browser, lambda d: "✗ GSD = 0.2, not yet below 0.2" in body(d), "the check to refuse i = 0.8")
    thumb.send_keys(Keys.ARROW_RIGHT)  # i = 0.85: GSD 0.15
    _wait(browser, lambda d: "✓ GSD = 0.15 < 0.2" in body(d), "the check to accept i = 0.85")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, 420)", slider)
    browser.save_screenshot(str(tmp_path / "lesson_gsd.png"))

    # Section 5: an answer, then the experiment on its button (with a progress bar); the verdict
    # is read from the run, so it names the deepest layer's numbers.
    radio = next(r for r in browser.find_elements(By.CSS_SELECTOR, "marimo-radio")
                 if "deepest layer" in (r.get_attribute("data-label") or ""))
    relu = next(b for b in radio.shadow_root.find_elements(By.CSS_SELECTOR, "button[role=radio], input")
                if (b.get_attribute("value") or "") == "ReLU")
    _click(browser, relu)
    _wait(browser, lambda d: "choose an answer" not in body(d), "the answer to be taken")
    run = next(b for b in browser.find_elements(By.CSS_SELECTOR, "marimo-button")
               if "run the experiment" in (b.get_attribute("data-label") or ""))
    _click(browser, run.shadow_root.find_element(By.CSS_SELECTOR, "button"))
    _wait(browser, lambda d: "at depth 8 " in body(d), "the depth experiment's verdict")
    browser.save_screenshot(str(tmp_path / "lesson_depth.png"))
