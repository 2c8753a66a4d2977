"""The guided lesson, a marimo app: ``gradlab explore --lesson``.

Five sections (their texts, questions and checks in :mod:`gradlab.explore.lessons`); each has its
own controls, and the page checks the answer as the controls move.  As in the explorer, the
figures that follow a control are Vega-Lite charts the browser draws (:mod:`gradlab.explore.charts`),
each computed once per setting; the depth experiment runs on its button in a background thread,
with a busy cue, so the other sections answer meanwhile.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="gradlab lesson")


@app.cell
def _():
    import dataclasses
    import functools

    import marimo as mo

    from gradlab import plots
    from gradlab.explore import charts, heap, lessons, model
    from gradlab.explore import plots as xplots

    heap.freeze()  # the modules' objects live as long as the page: out of the full collections' way
    S = {s.key: s for s in lessons.SECTIONS}

    def verdict(check):
        """The page's answer to the student: a green tick or an amber cross, and why."""
        return mo.callout(mo.Html(f"{check.mark} {model.page_text(check.message)}"),
                          kind="success" if check.ok else "warn")

    def figure(fig, alt, tight=False):
        return mo.image(xplots.figure_png(fig, tight=tight), alt=alt, width="85%")

    def header(section):
        return mo.md(f"## {section.title}\n\n{section.text}\n\n**Question.** {section.question}")

    def section_view(key, *parts):
        """A section's output, named ``#gl-lesson-<key>`` (the benchmark and the tests find it so)."""
        return mo.Html(f'<div id="gl-lesson-{key}">{mo.vstack(list(parts)).text}</div>')

    # One computation per setting (Settings is frozen: it is the key), as in the explorer.
    @functools.lru_cache(maxsize=256)
    def curves_of(st, title, noisy=True):
        points = int(min(801, max(201, 8 * st.window * st.precision + 1)))
        return charts.curves_chart(model.curves(st, points=points), title,
                                   points=["noisy + quantized"] if noisy else ())

    @functools.lru_cache(maxsize=256)
    def numbers_of(st):
        return model.live_numbers(st)

    @functools.lru_cache(maxsize=256)
    def errors_of(st):
        return charts.error_chart(model.error_curve(st), model.empty_errors(),
                                  f"e(x) on |x| <= {xplots.window_text(st.window)}", st.window)

    mo.md("# Why activation smoothness matters on noisy, quantized hardware\n\n"
          "Five short steps. Each ends with a question: move its controls until the page says ✓.")
    return (S, curves_of, dataclasses, errors_of, figure, header, heap, lessons, mo, model, numbers_of, plots,
            section_view, verdict, xplots)


@app.cell
def _(heap, mo, model):
    # The sliders' values met for the first time cost their activation's symbolic analysis: build
    # those of sections 2 and 4 in the background while the student reads section 1.
    def _prepare():
        stop = mo.current_thread
        model.prepare("gelu", {"s": model.slider_values(0.5, 5, 0.25)}, stop=lambda: stop().should_exit)
        model.prepare("relu_gelu", {"i": model.slider_values(0, 1, 0.05)}, stop=lambda: stop().should_exit)
        heap.freeze()  # the prepared activations live in their cache

    mo.Thread(target=_prepare, daemon=True).start()
    return


@app.cell
def _(S, mo):
    kink_expr = mo.ui.text(value=S["kink"].start.expression, label="f(x) =", full_width=True)
    return (kink_expr,)


@app.cell
def _(S, curves_of, dataclasses, header, kink_expr, lessons, mo, model, section_view, verdict):
    _st = dataclasses.replace(S["kink"].start, expression=kink_expr.value)
    try:
        _act = _st.activation
        _body = [mo.as_html(curves_of(_st, f"{_act.label}: f and f'")),
                 mo.md(f"smoothness **{_act.smoothness}**; kinks: "
                       + (", ".join(f"x = {float(k.x):g} (f' jumps by {float(k.jump_df):g})" for k in _act.kinks())
                          or "none")),
                 verdict(lessons.check_kink(_act))]
    except (ValueError, TypeError) as _exc:  # the parser's ExpressionError says what is not allowed
        _body = [mo.callout(mo.Html(model.problem_html(_exc)), kind="danger")]
    section_view("kink", header(S["kink"]), kink_expr, *_body)
    return


@app.cell
def _(S, mo, model):
    q_s = mo.ui.slider(0.5, 5, 0.25, value=S["quantization"].start.s, label="GELU scale s", show_value=True)
    q_p = mo.ui.slider(steps=list(model.PRECISIONS), value=S["quantization"].start.precision,
                       label="precision P (levels per unit)", show_value=True)
    return q_p, q_s


@app.cell
def _(S, curves_of, dataclasses, header, lessons, mo, model, q_p, q_s, section_view, verdict):
    _st = dataclasses.replace(S["quantization"].start, s=model.control_value(q_s.value), precision=q_p.value)
    _bits = model.effective_precision_bits(_st.activation, _st.precision)
    section_view(
        "quantization", header(S["quantization"]), mo.hstack([q_s, q_p]),
        mo.as_html(curves_of(_st, f"{_st.activation.label}, P = {_st.precision:g}", noisy=False)),
        mo.md(f"effective precision near 0: **{_bits:.2f} bits**"),
        verdict(lessons.check_precision(_bits)),
    )
    return


@app.cell
def _(S, mo, model):
    w_window = mo.ui.slider(steps=list(model.WINDOWS), value=S["window"].start.window, label="window |x| <= w",
                            show_value=True)
    w_leak = mo.ui.slider(0.01, 0.99, 0.01, value=S["window"].start.leakage, label="leakage", show_value=True)
    return w_leak, w_window


@app.cell
def _(S, dataclasses, errors_of, header, lessons, mo, model, numbers_of, section_view, verdict, w_leak, w_window):
    _st = dataclasses.replace(S["window"].start, window=w_window.value, leakage=model.control_value(w_leak.value))
    _n = numbers_of(_st)
    section_view(
        "window", header(S["window"]), mo.hstack([w_window, w_leak]),
        mo.as_html(errors_of(_st)),
        mo.md(f"error near zero: ReLU **{_n['error_near_zero']:.4g}**, GELU **{_n['reference_error']:.4g}**; "
              f"ratio **{_n['ratio']:.1f}**"),
        verdict(lessons.check_ratio(_n["ratio"])),
    )
    return


@app.cell
def _(S, mo):
    g_i = mo.ui.slider(0, 1, 0.05, value=S["gsd"].start.i, label="interpolation i", show_value=True)
    return (g_i,)


@app.cell
def _(S, curves_of, dataclasses, g_i, header, lessons, mo, model, numbers_of, section_view, verdict, xplots):
    _st = dataclasses.replace(S["gsd"].start, i=model.control_value(g_i.value))
    _n = numbers_of(_st)
    section_view(
        "gsd", header(S["gsd"]), g_i,
        mo.as_html(curves_of(_st, _st.activation.label)),
        mo.md(f"GSD **{_n['gsd']:.3g}**; error near zero (|x| <= {xplots.window_text(_st.window)}) "
              f"**{_n['ratio']:.2f}** times GELU's"),
        verdict(lessons.check_gsd(_n["gsd"])),
    )
    return


@app.cell
def _(mo):
    d_answer = mo.ui.radio({"ReLU": "relu", "GELU": "gelu"}, label="larger error at the deepest layer:")
    d_run = mo.ui.run_button(label="run the experiment (Monte Carlo, about a second)")
    get_depth, set_depth = mo.state({})
    return d_answer, d_run, get_depth, set_depth


@app.cell
def _(S, d_run, mo, model, set_depth):
    # On its button, in a background thread: the busy cue shows at once and the other sections
    # answer meanwhile; progress and the result come back through state.
    if d_run.value:
        _depths = (1, 2, 4, 8)
        set_depth({"done": 0, "total": len(_depths)})

        def _run(depths=_depths):
            try:
                frame = model.depth_view(S["depth"].start, depths=depths,
                                         progress=lambda done, total: set_depth({"done": done, "total": total}))
            except Exception as exc:  # shown on the page: a thread has no cell to raise into
                set_depth({"error": f"{type(exc).__name__}: {exc}"})
                return
            set_depth({"frame": frame})

        mo.Thread(target=_run, daemon=True).start()
    return


@app.cell
def _(get_depth):
    depth_result = get_depth().get("frame")
    return (depth_result,)


@app.cell
def _(S, d_answer, d_run, depth_result, figure, get_depth, header, lessons, mo, model, plots, section_view,
      verdict):
    _state = get_depth()
    if depth_result is not None:
        _plot = figure(plots.plot_depth_error(depth_result, "ReLU and GELU through depth"), "error against depth",
                       tight=True)
    elif "error" in _state:
        _plot = mo.callout(mo.Html(model.page_text(f"The experiment stopped: {_state['error']}")), kind="danger")
    elif "done" in _state:
        _plot = mo.Html(f'<div id="gl-depth-busy">⏳ running: depth {_state["done"]} of {_state["total"]} '
                        "done</div>")
    else:
        _plot = mo.md("")
    section_view("depth", header(S["depth"]), mo.hstack([d_answer, d_run]), _plot,
                 verdict(lessons.check_depth(d_answer.value, depth_result)))
    return


if __name__ == "__main__":
    app.run()
