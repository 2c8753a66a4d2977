"""The smoothness explorer, a marimo app: ``gradlab explore`` (or ``marimo run`` on this file).

A thin view: every number and curve comes from :mod:`gradlab.explore.model`, every figure from
gradlab's plotting layer.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="gradlab explorer")


@app.cell
def _():
    import dataclasses
    import math

    import marimo as mo

    from gradlab import plots
    from gradlab.conventions import KINK_CHOICES, ROUNDING
    from gradlab.explore import model
    from gradlab.explore import plots as xplots

    return KINK_CHOICES, ROUNDING, dataclasses, math, mo, model, plots, xplots


@app.cell
def _(KINK_CHOICES, ROUNDING, mo, model):
    family = mo.ui.dropdown(list(model.FAMILIES), value="relu_gelu", label="activation")
    i = mo.ui.slider(0, 1, 0.05, value=0.0, label="interpolation i", show_value=True)
    s = mo.ui.slider(0.5, 5, 0.25, value=1.0, label="GELU scale s", show_value=True)
    lam = mo.ui.slider(0.05, 1, 0.05, value=0.5, label="clip threshold λ", show_value=True)
    k = mo.ui.slider(1, 100, 1, value=20, label="sharpness k", show_value=True)
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
    window = mo.ui.slider(steps=list(model.WINDOWS), value=1 / 16, label="window |x| <= w", show_value=True)
    x0 = mo.ui.slider(-0.25, 0.25, 0.0005, value=0.0, label="x (for x~)", show_value=True,
                      include_input=True)
    # The layout cell reaches the controls through this dict, so it re-runs only when the choices
    # that change the layout move, not on every slider step (which would redraw a slider mid-drag).
    widgets = {"i": i, "s": s, "lam": lam, "k": k, "expression": expression, "kink": kink,
               "leakage": leakage, "log_scale": log_scale, "precision": precision, "rounding": rounding,
               "clamp": clamp, "window": window, "x0": x0}
    return (clamp, expression, family, i, k, kink, lam, leakage, log_scale, noise, noise_by, precision,
            rounding, s, widgets, window, x0)


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
    controls = mo.vstack([
        mo.vstack([mo.md("**Activation**"), family, _w["kink"], *_shown], gap=0.4),
        mo.vstack([mo.md("**Hardware**"), _w["precision"], _w["rounding"], _w["clamp"], *_noise], gap=0.4),
        mo.vstack([mo.md("**View**"), _w["window"], _w["x0"]], gap=0.4),
    ], gap=0.8)
    return (controls,)


@app.cell
def _(clamp, expression, family, i, k, kink, lam, leakage, log_scale, mo, model, noise, noise_by, precision,
      rounding, s):
    # The window and x are left out on purpose: each view cell takes the one it needs, so moving
    # x redraws only the view of x~, and moving the window leaves that view alone.
    try:
        settings = model.Settings(
            family=family.value, i=i.value, s=s.value, lam=lam.value, k=k.value, expression=expression.value,
            kink=kink.value, noise=noise.value, leakage=leakage.value,
            scale=10.0**log_scale.value if noise_by.value == "scale" else None,
            precision=precision.value, rounding=rounding.value, clamp=clamp.value,
        )
        act = settings.activation
        chain = settings.chain
        problem = None
    except (ValueError, TypeError) as exc:  # ExpressionError is a ValueError: the parser says what is wrong
        settings = act = chain = None
        problem = mo.callout(mo.Html(model.problem_html(exc)), kind="danger")
    return act, chain, problem, settings


@app.cell
def _(act, chain, dataclasses, math, mo, model, problem, settings, window, xplots):
    def _cell(key, label, value, note=""):
        return (f'<div class="gl-stat"><div class="gl-label">{label}</div>'
                f'<div class="gl-value" id="gl-{key}" data-value="{value}">{value}</div>'
                f'<div class="gl-note">{note}</div></div>')

    def _num(v, digits=4):
        return "n/a" if isinstance(v, float) and math.isnan(v) else f"{v:.{digits}g}"

    live = numbers = None
    if problem is None:
        _st = dataclasses.replace(settings, window=window.value)
        numbers = model.live_numbers(_st)
        _w = _st.window
        _wtext = xplots.window_text(_w)
        _stats = "".join([
            _cell("gsd", "gradient step discontinuity", _num(numbers["gsd"]), "|f'(0+) - f'(0-)|"),
            _cell("smoothness", "smoothness", numbers["smoothness"], "C0: kink; Cinf: smooth"),
            _cell("ep", "effective precision", _num(numbers["effective_precision"], 3) + " bits",
                  f"log2 1/|f'(1/P) - f'(0)|, P = {_st.precision:g}"),
            _cell("enz", "error near zero", _num(numbers["error_near_zero"]), f"mean e(x) over |x| <= {_wtext}"),
            _cell("ratio", "ratio to GELU", _num(numbers["ratio"], 3), f"GELU: {_num(numbers['reference_error'])}"),
        ])
        _style = ("<style>.gl-stats{display:flex;gap:1.2em;flex-wrap:wrap}.gl-stat{min-width:9em}"
                  ".gl-label{font-size:0.8em;color:#555}.gl-value{font-size:1.5em;font-weight:600}"
                  ".gl-note{font-size:0.75em;color:#777}</style>")
        _note = (mo.callout(mo.Html(model.page_text(numbers["exact_note"])), kind="warn") if numbers["exact_note"]
                 else mo.md(""))
        live = mo.vstack([
            mo.Html(f"<b>{model.page_text(act.label)}</b> under <code>{model.page_text(repr(chain))}</code>"),
            mo.Html(f'{_style}<div class="gl-stats" id="gl-numbers">{_stats}</div>'),
            _note,
        ])
    return live, numbers


@app.cell
def _(dataclasses, mo, model, plots, problem, settings, window, xplots):
    curves_view = None
    if problem is None:
        _panels = model.curves(dataclasses.replace(settings, window=window.value))
        _fig = plots.plot_quantized_family(
            _panels, f"{settings.activation.label}: f and f', clean and as the hardware sees them",
            points=["noisy + quantized"])
        curves_view = mo.image(xplots.figure_png(_fig), alt="f and f' clean and quantized", width="100%")
    return (curves_view,)


@app.cell
def _(dataclasses, mo, model, problem, settings, x0, xplots):
    levels_view = None
    if problem is None:
        try:
            _levels, _e = model.level_view(dataclasses.replace(settings, x0=x0.value))
            _fig = xplots.plot_levels(_levels, x0.value, _e, settings.activation.label)
            levels_view = mo.image(xplots.figure_png(_fig), alt="distribution of x~", width="100%")
        except model.ExactUnsupported as _exc:
            levels_view = mo.callout(mo.Html(model.page_text(f"No exact law of x~ here: {_exc}")), kind="warn")
    return (levels_view,)


@app.cell
def _(mo):
    run_mc = mo.ui.run_button(label="add Monte Carlo points (20,000 samples at 21 inputs)")
    run_depth = mo.ui.run_button(label="run the depth experiment (random MLPs, Monte Carlo)")
    return run_depth, run_mc


@app.cell
def _(dataclasses, mo, model, plots, problem, run_mc, settings, window, xplots):
    error_view = None
    if problem is None:
        _st = dataclasses.replace(settings, window=window.value)
        try:
            _exact = model.error_curve(_st)
            _why = ""
        except model.ExactUnsupported as _exc:
            _exact = model.empty_errors()
            _why = str(_exc)
        if run_mc.value:
            with mo.status.progress_bar(total=21, title="Monte Carlo", subtitle="one input at a time",
                                        remove_on_exit=True) as _bar:
                _mc = model.mc_points(_st, progress=lambda done, total: _bar.update())
        else:
            _mc = model.empty_errors()
        _title = f"gradient error e(x) on |x| <= {xplots.window_text(_st.window)}"
        _fig = plots.plot_gradient_error(_exact, _mc, _title, floor=1e-8)
        _parts = [mo.image(xplots.figure_png(_fig), alt="gradient error e(x)", width="100%"), run_mc]
        if _why:
            _parts.insert(0, mo.callout(mo.Html(model.page_text(
                f"No exact curve: {_why}. Press the button for Monte Carlo.")), kind="warn"))
        error_view = mo.vstack(_parts)
    return (error_view,)


@app.cell
def _(mo, model, plots, problem, run_depth, settings, xplots):
    depth_view = None
    if problem is None and run_depth.value:
        _depths = (1, 2, 4, 8)
        with mo.status.progress_bar(total=len(_depths), title="Depth experiment", remove_on_exit=True) as _bar:
            _depth = model.depth_view(settings, depths=_depths, progress=lambda done, total: _bar.update())
        _fig = plots.plot_depth_error(_depth, f"{settings.activation.label} and GELU through depth")
        depth_view = mo.vstack([mo.image(xplots.figure_png(_fig, tight=True), alt="gradient error against depth",
                                         width="100%"), run_depth])
    elif problem is None:
        depth_view = mo.vstack([mo.md("**Depth**: random MLPs run clean and under the chain (Monte Carlo, "
                                      "about a second)."), run_depth])
    return (depth_view,)


@app.cell
def _(controls, curves_view, depth_view, error_view, levels_view, live, mo, problem):
    _views = (problem if problem is not None else
              mo.vstack([live, mo.hstack([curves_view, levels_view], widths=[3, 2]),
                         mo.hstack([error_view, depth_view], widths=[1, 1])]))
    mo.vstack([
        mo.md("# gradlab explorer: how smoothness decides the gradient error on noisy, quantized hardware"),
        mo.hstack([controls, _views], widths=[1.5, 4], gap=1.5, align="start"),
    ])
    return


if __name__ == "__main__":
    app.run()
