"""The smoothness explorer, a marimo app: ``gradlab explore`` (or ``marimo run`` on this file).

A thin view: every number and curve comes from :mod:`gradlab.explore.model`; the live views are
Vega-Lite charts the browser draws (:mod:`gradlab.explore.charts`), the depth figure is gradlab's
matplotlib one.

Speed (issue 22, ``benchmarks/bench_explore_browser.py``): each view is its own cell's output and
takes only the controls it needs (x feeds the law of x~ alone, the window leaves it alone), so a
move sends and redraws only the views it changed, the first while the kernel computes the next;
the controls sit in marimo's sidebar, a cell a slider's move does not re-run; each view is
computed once per setting (cached on the settings: a revisited value costs nothing), and the
browser draws the charts.  Monte Carlo and the depth experiment run on their buttons in a
background thread that reports its progress through state, so a slider moved meanwhile is
answered at once.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="gradlab explorer")


@app.cell
def _():
    import dataclasses
    import functools
    import math
    import time

    import marimo as mo

    from gradlab import plots
    from gradlab.conventions import KINK_CHOICES, ROUNDING
    from gradlab.explore import charts, heap, model
    from gradlab.explore import plots as xplots

    class Cancelled(Exception):
        """A background run whose cell re-ran (the settings moved): its result is no longer wanted."""

    # One computation per setting: revisiting a value (a slider moved back and forth) costs nothing.
    # Settings is frozen, so it is the key; the charts keep their JSON, built once.
    @functools.lru_cache(maxsize=256)
    def numbers_of(st):
        return model.live_numbers(st)

    @functools.lru_cache(maxsize=256)
    def curves_of(st):
        # Four points per quantization step (257 at P = 256 on the default window), 201 to 801: the
        # browser's drawing time grows with the points, and the staircase needs no more.
        _points = int(min(801, max(201, 8 * st.window * st.precision + 1)))
        # The clean curve in grey under the hardware's two (two panels, not three: the browser draws
        # fewer axes), and no grid: what the student reads is the staircase against the curve.
        return charts.curves_chart(model.curves(st, points=_points), f"{st.activation.label}: f and f', clean and "
                                   "as the hardware sees them", points=["noisy + quantized"], width=270,
                                   reference="clean", grid=False)

    @functools.lru_cache(maxsize=256)
    def levels_of(st):
        levels, e = model.level_view(st)
        return charts.levels_chart(levels, st.x0, e, st.activation.label, width=250)

    @functools.lru_cache(maxsize=256)
    def exact_errors_of(st):
        return model.error_curve(st)

    def error_chart(st, mc):
        try:
            exact = exact_errors_of(st)
        except model.ExactUnsupported:  # said once, above the views
            exact = model.empty_errors()
        return charts.error_chart(exact, mc, f"gradient error e(x) on |x| <= {xplots.window_text(st.window)}",
                                  st.window, width=300, note="no exact curve (see the notice above)")

    # Without Monte Carlo points the chart is the setting's alone: built once (its JSON too).
    @functools.lru_cache(maxsize=256)
    def exact_error_chart(st):
        return error_chart(st, model.empty_errors())

    def in_background(key, set_state, total, work):
        """``work(progress)`` in a marimo thread, reported through ``set_state``: key, done and total while it
        runs, then its frame or its error; it stops at its next progress when its cell re-runs (the settings
        moved), so the busy cue shows at once and the other views answer meanwhile."""
        set_state({"key": key, "done": 0, "total": total})

        def run():
            me = mo.current_thread()

            def progress(done, total):
                if me.should_exit:
                    raise Cancelled
                set_state({"key": key, "done": done, "total": total})

            try:
                frame = work(progress)
            except Cancelled:
                return
            except Exception as exc:  # shown on the page: a thread has no cell to raise into
                set_state({"key": key, "error": f"{type(exc).__name__}: {exc}"})
                return
            set_state({"key": key, "frame": frame})

        mo.Thread(target=run, daemon=True).start()

    # The last settings the page could show: a partial expression (x**) keeps the views they drew.
    memory = {}
    get_problem, set_problem = mo.state(None)
    heap.freeze()  # the modules' objects live as long as the page: out of the full collections' way
    return (KINK_CHOICES, ROUNDING, curves_of, dataclasses, error_chart, exact_error_chart, get_problem, heap,
            in_background, levels_of, math, memory, mo, model, numbers_of, plots, set_problem, time, xplots)


@app.cell
def _(KINK_CHOICES, ROUNDING, mo, model):
    # The activation's sliders, (start, stop, step): the values each sends are prepared in advance.
    ranges = {"i": (0, 1, 0.05), "s": (0.5, 5, 0.25), "lam": (0.05, 1, 0.05), "k": (1, 100, 1)}
    family = mo.ui.dropdown(list(model.FAMILIES), value="relu_gelu", label="activation")
    i = mo.ui.slider(*ranges["i"], value=0.0, label="interpolation i", show_value=True)
    s = mo.ui.slider(*ranges["s"], value=1.0, label="GELU scale s", show_value=True)
    lam = mo.ui.slider(*ranges["lam"], value=0.5, label="clip threshold λ", show_value=True)
    k = mo.ui.slider(*ranges["k"], value=20, label="sharpness k", show_value=True)
    expression = mo.ui.text(value="x*tanh(log(1 + exp(x)))", label="f(x) =", full_width=True)
    kink = mo.ui.dropdown(list(KINK_CHOICES), value="autograd", label="f' at a kink")
    noise = mo.ui.dropdown(list(model.NOISES), value="gaussian", label="noise")
    noise_by = mo.ui.radio(["leakage", "scale"], value="leakage", label="noise set by", inline=True)
    leakage = mo.ui.slider(0.01, 0.99, 0.01, value=0.5, label="leakage", show_value=True)
    log_scale = mo.ui.slider(-4, -0.5, 0.1, value=-2.5, label="log10 scale (σ, width or b)", show_value=True)
    precision = mo.ui.slider(steps=list(model.PRECISIONS), value=256, label="precision P",
                             show_value=True)
    rounding = mo.ui.dropdown(list(ROUNDING), value="half_toward_zero", label="rounding")
    clamp = mo.ui.checkbox(value=True, label="clamp to [-1, 1]")
    window = mo.ui.slider(steps=list(model.WINDOWS), value=1 / 16, label="window w", show_value=True)
    # Short labels, and no input box beside x: either would wrap the label at 1280 px.
    x0 = mo.ui.slider(-0.25, 0.25, 0.0005, value=0.0, label="input x", show_value=True)
    # The controls cell reaches the controls through this dict, so it re-runs only when the choices
    # that change the layout move, not on every slider step (which would redraw a slider mid-drag).
    widgets = {"i": i, "s": s, "lam": lam, "k": k, "expression": expression, "kink": kink,
               "leakage": leakage, "log_scale": log_scale, "precision": precision, "rounding": rounding,
               "clamp": clamp, "window": window, "x0": x0}
    return (clamp, expression, family, i, k, kink, lam, leakage, log_scale, noise, noise_by, precision, ranges,
            rounding, s, widgets, window, x0)


@app.cell
def _(KINK_CHOICES, family, heap, kink, mo, model, ranges, time):
    # A slider value met for the first time costs its activation's symbolic analysis (30-45 ms):
    # build the chosen family's values in the background, nearest the defaults first; a new
    # family or kink convention stops this and starts again.
    _start = model.Settings()
    _values = {p: sorted(model.slider_values(*ranges[p]), key=lambda v, p=p: abs(v - getattr(_start, p)))
               for p in model.FAMILIES[family.value] if p in ranges}

    def _prepare():
        _stop = lambda: mo.current_thread().should_exit  # noqa: E731
        # After a pause: the move that started this (a new family or kink) is drawn first, and a
        # quick run of moves on the kink control does not share the kernel's time with this thread.
        for _ in range(20):
            if _stop():
                return
            time.sleep(0.05)
        if family.value != "expression":  # the other kink conventions first: a few, each a move away
            model.prepare_kinks(family.value, [c for c in KINK_CHOICES if c != kink.value], stop=_stop)
        model.prepare(family.value, _values, kink.value, stop=_stop)
        heap.freeze()  # the prepared activations live in their cache

    mo.Thread(target=_prepare, daemon=True).start()
    return


@app.cell
def _(family, mo, model, noise, noise_by, widgets):
    _w = widgets
    _shown = [_w[p] for p in model.FAMILIES[family.value]]
    if family.value == "expression":
        _shown.append(_w["expression"])
    _noise = [noise]
    if noise.value != "none":
        _noise += [noise_by, _w["leakage"] if noise_by.value == "leakage" else _w["log_scale"]]
    # Controls that come and go sit at the end of their own group: marimo's front end can lose an
    # element drawn after a list that changed length (the precision slider vanished that way).
    # The parser's message goes right after the activation group, beside the expression field.
    activation_controls = mo.vstack([mo.md("**Activation**"), family, _w["kink"], *_shown], gap=0.4)
    other_controls = mo.vstack([
        mo.vstack([mo.md("**Hardware**"), _w["precision"], _w["rounding"], _w["clamp"], *_noise], gap=0.4),
        mo.vstack([mo.md("**View**"), _w["window"], _w["x0"]], gap=0.4),
    ], gap=0.8)
    return activation_controls, other_controls


@app.cell
def _(clamp, expression, family, i, k, kink, lam, leakage, log_scale, memory, mo, model, noise, noise_by,
      precision, rounding, s, get_problem, set_problem):
    # The window and x are left out on purpose: each view cell takes the one it needs, so moving
    # x redraws only the view of x~, and moving the window leaves that view alone.
    try:
        _v = model.control_value
        settings = model.Settings(
            family=family.value, i=_v(i.value), s=_v(s.value), lam=_v(lam.value), k=_v(k.value),
            expression=expression.value, kink=kink.value, noise=noise.value, leakage=_v(leakage.value),
            scale=10.0**log_scale.value if noise_by.value == "scale" else None,
            precision=precision.value, rounding=rounding.value, clamp=clamp.value,
        )
        settings.activation, settings.chain  # noqa: B018 - what the controls describe must build
        memory["settings"] = settings
        _problem = None
    except (ValueError, TypeError) as exc:  # ExpressionError is a ValueError: the parser says what is wrong
        # The views keep the last settings that built; the message says what the field holds.
        settings = memory.get("settings")
        _problem = ('<div id="gl-problem">' + mo.callout(mo.Html(
            model.problem_html(exc) + "<br><small>The views still show the last valid settings.</small>"),
            kind="danger").text + "</div>")
    # Through state, and only when it changes: the controls are not sent again at every move.
    # (A cell is not re-run by its own setter, so reading the state here is safe.)
    if _problem != get_problem():
        set_problem(_problem)
    return (settings,)


@app.cell
def _(activation_controls, get_problem, mo, other_controls):
    # The controls stay beside the views in marimo's sidebar, a cell of their own: a slider's move
    # re-sends only the views it changes, not the page.
    _problem = [] if get_problem() is None else [mo.Html(get_problem())]
    _left = mo.vstack([activation_controls, *_problem, other_controls], gap=0.8)
    mo.sidebar(mo.Html(f'<div id="gl-controls">{_left.text}</div>'), width="24rem")
    return


@app.cell
def _(mo):
    # A heading of one line: at 1280 x 800 the controls and the f/f' chart share the screen.
    mo.md("## gradlab explorer: how smoothness decides the gradient error on noisy, quantized hardware")
    return


@app.cell
def _(dataclasses, math, mo, model, numbers_of, settings, window, xplots):
    # Each view is its own cell's output, in the order the kernel computes them: the browser draws
    # one while the kernel computes the next, and a move redraws only the views it changed.
    def _cell(key, label, value, note=""):
        return (f'<div class="gl-stat"><div class="gl-label">{label}</div>'
                f'<div class="gl-value" id="gl-{key}" data-value="{value}">{value}</div>'
                f'<div class="gl-note">{note}</div></div>')

    def _num(v, digits=4):
        return "n/a" if isinstance(v, float) and math.isnan(v) else f"{v:.{digits}g}"

    live = numbers = exact_note = None
    if settings is not None:
        _st = dataclasses.replace(settings, window=window.value)
        numbers = numbers_of(_st)
        _wtext = xplots.window_text(_st.window)
        _stats = "".join([
            _cell("gsd", "gradient step discontinuity", _num(numbers["gsd"]), "|f'(0+) - f'(0-)|"),
            _cell("smoothness", "smoothness", numbers["smoothness"], "C0: kink; Cinf: smooth"),
            _cell("ep", "effective precision", _num(numbers["effective_precision"], 3) + " bits",
                  f"log2 1/|f'(1/P) - f'(0)|, P = {_st.precision:g}"),
            _cell("enz", "error near zero", _num(numbers["error_near_zero"]), f"mean e(x) over |x| <= {_wtext}"),
            _cell("ratio", "ratio to GELU", _num(numbers["ratio"], 3), f"GELU: {_num(numbers['reference_error'])}"),
        ])
        _style = ("<style>.gl-stats{display:flex;gap:1.4em;flex-wrap:wrap;margin:0.3em 0}.gl-stat{min-width:9em}"
                  ".gl-label{font-size:0.9em;color:#555}.gl-value{font-size:1.5em;font-weight:600}"
                  ".gl-note{font-size:0.8em;color:#666}#gl-header code{font-size:0.9em;white-space:normal}"
                  "</style>")
        # One notice for every view the exact engine cannot draw, in the page's own words.
        exact_note = (mo.callout(mo.Html(model.page_text(model.exact_unavailable_text(_st))), kind="warn")
                      if numbers["exact_note"] else None)
        live = mo.Html(
            f'{_style}<div id="gl-header"><b>{model.page_text(_st.activation.label)}</b> under '
            f'<code>{model.page_text(model.chain_text(_st.chain))}</code></div>'
            f'<div class="gl-stats" id="gl-numbers">{_stats}</div>')
    mo.vstack([live, *([exact_note] if exact_note is not None else [])], gap=0.8) if live is not None else None
    return (numbers,)


@app.cell
def _(curves_of, dataclasses, mo, settings, window):
    curves_view = None
    if settings is not None:
        _chart = curves_of(dataclasses.replace(settings, window=window.value))
        curves_view = mo.Html(f'<div id="gl-curves">{mo.as_html(_chart).text}</div>')
    curves_view  # noqa: B018 - the cell shows it
    return


@app.cell
def _(dataclasses, levels_of, mo, model, settings, x0):
    levels_view = None
    if settings is not None:
        try:
            _chart = mo.as_html(levels_of(dataclasses.replace(settings, x0=x0.value))).text
        except model.ExactUnsupported:  # said once, above the views
            _chart = ('<div style="width:320px;height:290px;border:1px dashed #ccc;color:#666;padding:1em">'
                      "The law of x~: not exact for this chain (see the notice above).</div>")
        levels_view = mo.Html(f'<div id="gl-levels">{_chart}</div>')
    return (levels_view,)


@app.cell
def _(mo):
    run_mc = mo.ui.run_button(label="add Monte Carlo points (20,000 samples at 21 inputs)")
    run_depth = mo.ui.run_button(label="run the depth experiment (random MLPs, Monte Carlo)")
    get_mc, set_mc = mo.state({})
    get_depth, set_depth = mo.state({})
    return get_depth, get_mc, run_depth, run_mc, set_depth, set_mc


@app.cell
def _(dataclasses, in_background, model, run_mc, set_mc, settings, window):
    # Monte Carlo on its button, in a background thread: the busy cue shows at once, a slider moved
    # meanwhile is answered at once, and a run whose settings moved stops at its next input.
    if run_mc.value and settings is not None:
        _st = dataclasses.replace(settings, window=window.value)
        in_background(_st, set_mc, 21, lambda progress, st=_st: model.mc_points(st, progress=progress))
    return


@app.cell
def _(dataclasses, error_chart, exact_error_chart, get_mc, mo, model, run_mc, settings, window):
    error_view = None
    if settings is not None:
        _st = dataclasses.replace(settings, window=window.value)
        _run = get_mc()
        _run = _run if _run.get("key") == _st else {}
        _chart = error_chart(_st, _run["frame"]) if "frame" in _run else exact_error_chart(_st)
        if "error" in _run:
            _cue = mo.callout(mo.Html(model.page_text(f"Monte Carlo stopped: {_run['error']}")), kind="danger")
        elif "done" in _run:
            _cue = mo.Html(f'<div id="gl-mc-busy" class="gl-busy">⏳ Monte Carlo running: {_run["done"]} of '
                           f'{_run["total"]} inputs</div>')
        else:
            _cue = mo.Html('<div class="gl-busy"></div>')
        error_view = mo.vstack([mo.Html(f'<div id="gl-error">{mo.as_html(_chart).text}</div>'), run_mc, _cue],
                               gap=0.4)
    return (error_view,)


@app.cell
def _(error_view, levels_view, mo):
    mo.hstack([levels_view, error_view], justify="start", gap=2, wrap=True) if levels_view is not None else None
    return


@app.cell
def _(in_background, model, run_depth, set_depth, settings):
    if run_depth.value and settings is not None:
        _depths = (1, 2, 4, 8)
        in_background(settings, set_depth, len(_depths),
                      lambda progress, st=settings, depths=_depths: model.depth_view(st, depths=depths,
                                                                                     progress=progress))
    return


@app.cell
def _(get_depth, mo, model, plots, run_depth, settings, xplots):
    depth_view = None
    if settings is not None:
        _run = get_depth()
        _run = _run if _run.get("key") == settings else {}
        _intro = mo.md("**Depth**: random MLPs run clean and under the chain (Monte Carlo, about a second).")
        if "frame" in _run:
            _fig = plots.plot_depth_error(_run["frame"], f"{settings.activation.label} and GELU through depth")
            _body = mo.image(xplots.figure_png(_fig, tight=True), alt="gradient error against depth", width="100%")
        elif "error" in _run:
            _body = mo.callout(mo.Html(model.page_text(f"The depth experiment stopped: {_run['error']}")),
                               kind="danger")
        elif "done" in _run:
            _body = mo.Html(f'<div id="gl-depth-busy" class="gl-busy">⏳ depth experiment running: depth '
                            f'{_run["done"]} of {_run["total"]} done</div>')
        else:
            _body = mo.md("")
        depth_view = mo.vstack([_intro, run_depth, _body], gap=0.4)
    depth_view  # noqa: B018 - the cell shows it
    return


if __name__ == "__main__":
    app.run()
