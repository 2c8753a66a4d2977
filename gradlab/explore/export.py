"""The lesson as one self-contained HTML page to hand out (``gradlab explore --export html --out FILE``).

A static page cannot run the Numba kernels or the Python behind the controls, so the handout has
none: each section shows its text, its question and its figures and numbers at the section's
starting settings, and says plainly that the answer is checked in the live lesson
(``gradlab explore --lesson``).  Figures are inlined as base64 PNG and the style sheet is in the
page: it needs no network and no other file.  marimo's own ``marimo export html`` loads its
front end from a CDN, which is why it is not used here.
"""
from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from gradlab import __version__, plots
from gradlab._io import write_atomically
from gradlab.explore import model
from gradlab.explore import plots as xplots
from gradlab.explore.lessons import SECTIONS, Section

__all__ = ["lesson_html", "write_lesson_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
.note{background:#fff6e0;border-left:4px solid #E69F00;padding:.6em 1em}
.question{background:#eef5fb;border-left:4px solid #0072B2;padding:.6em 1em}
.numbers{color:#444;font-size:.92em}.results{margin-top:2.5em;border-top:1px dashed #bbb;padding-top:.5em}
@media print{.results{break-before:page}}h3{font-size:1.05em}
img{max-width:100%;height:auto}code{background:#f3f3f3;padding:0 .2em}
"""


def _img(fig, alt: str) -> str:
    data = base64.b64encode(xplots.figure_png(fig, tight=True)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _markdown(text: str) -> str:
    """The few Markdown marks the lesson texts use: **bold** and `code`."""
    out = html.escape(text)
    parts = out.split("**")
    out = "".join(f"<strong>{p}</strong>" if k % 2 else p for k, p in enumerate(parts))
    parts = out.split("`")
    return "".join(f"<code>{p}</code>" if k % 2 else p for k, p in enumerate(parts))


def _section(section: Section) -> str:
    st = section.start
    numbers = model.live_numbers(st)
    figures = [_img(plots.plot_quantized_family(model.curves(st), f"{st.activation.label}: clean and quantized",
                                                points=["noisy + quantized"]), "f and f' clean and quantized")]
    if section.key in ("window", "gsd"):
        figures.append(_img(plots.plot_gradient_error(model.error_curve(st), model.empty_errors(),
                                                      f"gradient error e(x) on |x| <= {xplots.window_text(st.window)}",
                                                      floor=1e-8),
                            "gradient error e(x)"))
    results = ""
    if section.key == "depth":
        # The depth experiment's figure answers the question: it comes after it, on a page of its own in print.
        results = ('<div class="results"><h3>The experiment\'s results (after you have answered)</h3>'
                   + _img(plots.plot_depth_error(model.depth_view(st), f"{st.activation.label} and GELU"),
                          "gradient error against depth") + "</div>")
    ratio = numbers["ratio"]
    line = (f"At these settings: GSD {numbers['gsd']:.3g}, smoothness {numbers['smoothness']}, effective "
            f"precision {numbers['effective_precision']:.3g} bits at P = {st.precision:g}"
            + (f", error near zero (|x| <= {xplots.window_text(st.window)}) {ratio:.3g} times GELU's"
               if ratio == ratio else "")
            + ".")
    return (f"<h2>{html.escape(section.title)}</h2>\n<p>{_markdown(section.text)}</p>\n"
            f"{''.join(figures)}\n<p class=\"numbers\">{html.escape(line)}</p>\n"
            f"<p class=\"question\"><strong>Question.</strong> {html.escape(section.question)}<br>"
            "<em>Answer it in the live lesson, which checks it: <code>gradlab explore --lesson</code>.</em></p>"
            f"{results}")


def lesson_html() -> str:
    """The whole handout as one HTML string (figures inlined)."""
    body = "\n".join(_section(s) for s in SECTIONS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gradlab lesson: why smoothness matters</title>
<meta name="generator" content="gradlab {__version__}"><style>{_CSS}</style></head><body>
<h1>Why activation smoothness matters on noisy, quantized hardware</h1>
<p class="note"><strong>This is a static copy of the lesson.</strong> Its controls need a running Python
kernel (gradlab's Numba kernels cannot run in a saved page), so it has none: each section shows its figures
at its starting settings. Install gradlab with its explore extra (<code>pip install 'gradlab[explore]'</code>, or
<code>pip install -e '.[explore]'</code> in a source checkout) and run
<code>gradlab explore --lesson</code> to move the controls and have your answers checked.</p>
{body}
</body></html>
"""


def write_lesson_html(path: str | os.PathLike) -> Path:
    """Write :func:`lesson_html` to ``path`` atomically; returns the path."""
    target = Path(path)
    page = lesson_html()
    write_atomically(target, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return target
