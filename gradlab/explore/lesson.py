"""The guided lesson, a marimo app: ``gradlab explore --lesson``.

Five sections (their texts, questions and checks in :mod:`gradlab.explore.lessons`); each has its
own controls, and the page checks the answer as the controls move.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="gradlab lesson")


@app.cell
def _():
    import dataclasses

    import marimo as mo

    from gradlab import plots
    from gradlab.explore import lessons, model
    from gradlab.explore import plots as xplots

    S = {s.key: s for s in lessons.SECTIONS}

    def verdict(check):
        """The page's answer to the student: a green tick or an amber cross, and why."""
        return mo.callout(mo.Html(f"{check.mark} {model.page_text(check.message)}"),
                          kind="success" if check.ok else "warn")

    def figure(fig, alt, tight=False):
        return mo.image(xplots.figure_png(fig, tight=tight), alt=alt, width="85%")

    def header(section):
        return mo.md(f"## {section.title}\n\n{section.text}\n\n**Question.** {section.question}")

    mo.md("# Why activation smoothness matters on noisy, quantized hardware\n\n"
          "Five short steps. Each ends with a question: move its controls until the page says ✓.")
    return S, dataclasses, figure, header, lessons, mo, model, plots, verdict, xplots


@app.cell
def _(S, mo):
    kink_expr = mo.ui.text(value=S["kink"].start.expression, label="f(x) =", full_width=True)
    return (kink_expr,)


@app.cell
def _(S, dataclasses, figure, header, kink_expr, lessons, mo, model, plots, verdict):
    _st = dataclasses.replace(S["kink"].start, expression=kink_expr.value)
    try:
        _act = _st.activation
        _body = [figure(plots.plot_quantized_family(model.curves(_st), f"{_act.label}: f and f'",
                                                             points=["noisy + quantized"]), "f and f'"),
                 mo.md(f"smoothness **{_act.smoothness}**; kinks: "
                       + (", ".join(f"x = {float(k.x):g} (f' jumps by {float(k.jump_df):g})" for k in _act.kinks())
                          or "none")),
                 verdict(lessons.check_kink(_act))]
    except (ValueError, TypeError) as _exc:  # the parser's ExpressionError says what is not allowed
        _body = [mo.callout(mo.Html(model.problem_html(_exc)), kind="danger")]
    mo.vstack([header(S["kink"]), kink_expr, *_body])
    return


@app.cell
def _(S, mo, model):
    q_s = mo.ui.slider(0.5, 5, 0.25, value=S["quantization"].start.s, label="GELU scale s", show_value=True)
    q_p = mo.ui.slider(steps=list(model.PRECISIONS), value=S["quantization"].start.precision,
                       label="precision P (levels per unit)", show_value=True)
    return q_p, q_s


@app.cell
def _(S, dataclasses, figure, header, lessons, mo, model, plots, q_p, q_s, verdict):
    _st = dataclasses.replace(S["quantization"].start, s=q_s.value, precision=q_p.value)
    _bits = model.effective_precision_bits(_st.activation, _st.precision)
    mo.vstack([
        header(S["quantization"]), mo.hstack([q_s, q_p]),
        figure(plots.plot_quantized_family(model.curves(_st), f"{_st.activation.label}, P = {_st.precision:g}"),
               "GELU clean and quantized"),
        mo.md(f"effective precision near 0: **{_bits:.2f} bits**"),
        verdict(lessons.check_precision(_bits)),
    ])
    return


@app.cell
def _(S, mo, model):
    w_window = mo.ui.slider(steps=list(model.WINDOWS), value=S["window"].start.window, label="window |x| <= w",
                            show_value=True)
    w_leak = mo.ui.slider(0.01, 0.99, 0.01, value=S["window"].start.leakage, label="leakage", show_value=True)
    return w_leak, w_window


@app.cell
def _(S, dataclasses, figure, header, lessons, mo, model, plots, verdict, w_leak, w_window, xplots):
    _st = dataclasses.replace(S["window"].start, window=w_window.value, leakage=w_leak.value)
    _n = model.live_numbers(_st)
    mo.vstack([
        header(S["window"]), mo.hstack([w_window, w_leak]),
        figure(plots.plot_gradient_error(model.error_curve(_st), model.empty_errors(),
                                         f"e(x) on |x| <= {xplots.window_text(_st.window)}", floor=1e-8),
               "gradient error of ReLU and GELU"),
        mo.md(f"error near zero: ReLU **{_n['error_near_zero']:.4g}**, GELU **{_n['reference_error']:.4g}**; "
              f"ratio **{_n['ratio']:.1f}**"),
        verdict(lessons.check_ratio(_n["ratio"])),
    ])
    return


@app.cell
def _(S, mo):
    g_i = mo.ui.slider(0, 1, 0.05, value=S["gsd"].start.i, label="interpolation i", show_value=True)
    return (g_i,)


@app.cell
def _(S, dataclasses, figure, g_i, header, lessons, mo, model, plots, verdict, xplots):
    _st = dataclasses.replace(S["gsd"].start, i=g_i.value)
    _n = model.live_numbers(_st)
    mo.vstack([
        header(S["gsd"]), g_i,
        figure(plots.plot_quantized_family(model.curves(_st), _st.activation.label,
                                           points=["noisy + quantized"]), "interpolant f and f'"),
        mo.md(f"GSD **{_n['gsd']:.3g}**; error near zero (|x| <= {xplots.window_text(_st.window)}) "
              f"**{_n['ratio']:.2f}** times GELU's"),
        verdict(lessons.check_gsd(_n["gsd"])),
    ])
    return


@app.cell
def _(mo):
    d_answer = mo.ui.radio({"ReLU": "relu", "GELU": "gelu"}, label="larger error at the deepest layer:")
    d_run = mo.ui.run_button(label="run the experiment (Monte Carlo, about a second)")
    return d_answer, d_run


@app.cell
def _(S, d_run, mo, model):
    depth_result = None
    if d_run.value:
        _depths = (1, 2, 4, 8)
        with mo.status.progress_bar(total=len(_depths), title="random MLPs, depth by depth",
                                    remove_on_exit=True) as _bar:
            depth_result = model.depth_view(S["depth"].start, depths=_depths,
                                            progress=lambda done, total: _bar.update())
    return (depth_result,)


@app.cell
def _(S, d_answer, d_run, depth_result, figure, header, lessons, mo, plots, verdict):
    _plot = (figure(plots.plot_depth_error(depth_result, "ReLU and GELU through depth"), "error against depth",
                    tight=True)
             if depth_result is not None else mo.md(""))
    mo.vstack([header(S["depth"]), mo.hstack([d_answer, d_run]), _plot,
               verdict(lessons.check_depth(d_answer.value, depth_result))])
    return


if __name__ == "__main__":
    app.run()
