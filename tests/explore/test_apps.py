"""The marimo apps run headless without a cell error; the command line serves, refuses and exports."""
import re
import subprocess
import sys

import pytest

import gradlab.cli


def test_explorer_runs_headless_without_a_cell_error():
    pytest.importorskip("marimo", reason="marimo is the optional 'explore' extra")
    from gradlab.explore import explorer
    from gradlab.explore.model import Settings

    outputs, defs = explorer.app.run()  # marimo's own runner raises the first cell error
    # What the page shows, cell by cell: the sidebar, the heading, the numbers, f/f', x~ and e(x),
    # depth; every other cell only computes (a stray value would print at the top of the page).
    shown = [type(o).__name__ for o in outputs if o is not None]
    assert shown == ["sidebar", "_md", "_FlexContainerHtml", "Html", "_FlexContainerHtml", "_FlexContainerHtml"]
    assert defs["get_problem"]() is None and defs["settings"] == Settings()  # the controls start at the defaults
    assert defs["numbers"]["gsd"] == 1.0 and defs["numbers"]["ratio"] == pytest.approx(10.16, abs=0.01)


def test_lesson_runs_headless_without_a_cell_error():
    pytest.importorskip("marimo", reason="marimo is the optional 'explore' extra")
    from gradlab.explore import lesson

    _, defs = lesson.app.run()
    assert defs["depth_result"] is None  # Monte Carlo waits for its button


def test_export_writes_one_self_contained_page(tmp_path):
    out = tmp_path / "lesson.html"
    run = subprocess.run([sys.executable, "-m", "gradlab.cli", "explore", "--export", "html", "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # Nothing it needs lies elsewhere: no address in src, href or url(), every image inlined.
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", page)
    assert "url(" not in page and "<script" not in page
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 7
    for title in ("1. What a kink is", "4. The interpolation knob i", "5. Depth"):
        assert title in page
    assert "static copy" in page and "gradlab explore --lesson" in page  # the page says why it has no controls
    assert page.count('class="question"') == 5
    # A handout must not give the answer away: section 5's depth results come after its question,
    # on a page of their own in print.
    depth = page[page.index("5. Depth"):]
    question, results = depth.index('class="question"'), depth.index('alt="gradient error against depth"')
    assert question < results and depth.index('class="results"') > question
    assert "@media print{.results{break-before:page}}" in page


def test_explore_without_marimo_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "marimo", None)  # find_spec then reports it missing
    assert gradlab.cli.main(["explore", "--no-browser"]) == 2
    err = capsys.readouterr().err
    from gradlab._extras import install_hint

    assert err == ("gradlab explore: the explorer needs marimo (gradlab's explore extra), which is not installed: "
                   f"{install_hint('explore')}\n")


@pytest.mark.parametrize("args, message", [
    (["--export", "html"], "--export html needs --out FILE"),
    (["--out", "x.html"], "--out is where --export writes"),
    (["--export", "html", "--out", "x.pdf"], "--out must end in .html"),
    (["--port", "70000"], "--port must be in 1..65535, got 70000"),
])
def test_explore_refuses_bad_options_in_one_line(args, message, capsys):
    assert gradlab.cli.main(["explore", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_import_gradlab_does_not_import_marimo():
    code = "import sys, gradlab, gradlab.cli; gradlab.cli.build_parser(); print('marimo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_a_taken_port_is_said_before_any_address(capsys):
    pytest.importorskip("marimo", reason="marimo is the optional 'explore' extra")
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert gradlab.cli.main(["explore", "--port", str(port), "--no-browser"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and "serving on" not in err
        assert err.startswith(f"gradlab explore: --port {port}: 127.0.0.1:{port} is taken") and err.count("\n") == 1
        # The server itself says so too, before printing an address (a port taken between the check and the bind).
        run = subprocess.run([sys.executable, "-m", "gradlab.explore.serve", "x.py", "--port", str(port),
                              "--no-browser"], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and "serving on" not in run.stdout
        assert f"--port {port}: 127.0.0.1:{port} is taken" in run.stderr
