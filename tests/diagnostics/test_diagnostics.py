"""Per-layer diagnostics held against gradlab's exact prediction, noise-free limits, planted faults, bad input."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mlxtend")

from torch import nn  # noqa: E402

import gradlab as gl  # noqa: E402
from gradlab import nn as gnn  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def mnist_batches():
    data = gnn.load_dataset("mnist5k")
    return [(data.x_train[i : i + 64], data.y_train[i : i + 64]) for i in range(0, 384, 64)]


def _user_mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 12), nn.GELU(), nn.Linear(12, 4))


def _toy_batches(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(32, 20, generator=g), torch.randint(0, 4, (32,), generator=g)) for _ in range(n)]


def _wide(report):
    return report.pivot(index=["step", "layer"], columns="metric", values="value")


@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_paper_fcn_under_the_papers_chain_agrees_with_the_exact_prediction(mnist_batches, act):
    net = gnn.paper_fcn([784, 128, 64, 10], act, gl.analog(0.5, 16), seed=1)
    pred = gl.predict_layer_error(net, mnist_batches)
    assert list(pred["layer"]) == ["layers.1", "layers.3"]
    assert list(pred["units"]) == [384 * 128, 384 * 64]
    assert (pred["method"] == "exact").all() and (pred["predicted_stderr"] == 0).all()
    assert pred["agrees"].all(), pred[["layer", "measured", "measured_stderr", "predicted", "z"]]
    assert (pred["measured_stderr"] > 0).all() and (pred["measured_stderr"] < 0.05 * pred["predicted"]).all()
    # SPEC's regime: a few percent of the units see a wrong derivative under this chain
    assert pred["predicted"].between(0.01, 0.06).all()
    assert pred.attrs["prediction_seconds"] < 1.0


def test_a_clamp_free_quantizer_agrees_too_with_and_without_noise(mnist_batches):
    for chain in (gl.chain(gl.Gaussian(0.03), gl.Quantize(8)), gl.chain(gl.Quantize(8))):
        net = gnn.paper_fcn([784, 64, 32, 10], "relu", chain, seed=2)
        pred = gl.predict_layer_error(net, mnist_batches[:3])
        assert pred["agrees"].all(), (chain, pred[["measured", "predicted", "z"]])
        if len(chain) == 1:  # deterministic: measured and predicted are one number to rounding
            assert np.allclose(pred["measured"], pred["predicted"], rtol=1e-12, atol=0)
            assert (pred["measured"] > 0.005).all()


def test_the_wrong_chain_is_reported_as_disagreeing(mnist_batches):
    net = gnn.paper_fcn([784, 128, 64, 10], "relu", gl.analog(0.5, 16), seed=1)
    pred = gl.predict_layer_error(net, mnist_batches, chain=gl.analog(0.5, 64))
    assert not pred["agrees"].any() and (pred["z"].abs() > 4).all()
    assert pred["note"].str.contains("not the chain given").all()


def test_with_the_noise_off_every_metric_is_exactly_clean():
    amodel = gnn.analogize(_user_mlp(), gl.chain(gl.Gaussian(0.0)))
    report = gl.gradient_diagnostics(amodel, _toy_batches(), steps=3)
    wide = _wide(report)
    acts = wide.xs("2", level="layer"), wide.xs("4", level="layer")
    for rows in acts:
        assert (rows["grad_error"] == 0).all() and (rows["kink_crossing"] == 0).all()
        assert (rows["local_cosine"] == 1).all() and (rows["local_rel_norm"] == 0).all()
        assert rows["clamp_fraction"].isna().all()  # no Clamp in this chain
    params = report[report["kind"].isin(["parameters", "model"]) & report["metric"].str.startswith("cosine")]
    assert set(params["layer"]) == {"1", "3", "5", "(all)"} and (params["value"] == 1.0).all()
    assert (report[report["metric"].str.startswith("rel_norm")]["value"] == 0).all()
    loss = wide.xs("(all)", level="layer")
    assert (loss["loss"] == loss["loss_clean"]).all()


def test_a_planted_wrong_derivative_shows_in_its_own_layers_local_cosine_only():
    amodel = gnn.analogize(_user_mlp(), gl.chain(gl.Gaussian(0.0)))
    gelu = amodel.model[4].activation
    gelu.derivative = lambda at: -gnn.activations.numpy_apply(gelu.act.df, at)  # faulty hardware: f' negated
    report = gl.gradient_diagnostics(amodel, _toy_batches(), steps=2)
    wide = _wide(report)
    relu_rows, gelu_rows = wide.xs("2", level="layer"), wide.xs("4", level="layer")
    assert (relu_rows["local_cosine"] == 1).all() and (relu_rows["grad_error"] == 0).all()
    assert np.allclose(gelu_rows["local_cosine"], -1.0) and np.allclose(gelu_rows["local_rel_norm"], 2.0)
    assert (gelu_rows["grad_error"] > 0.5).all()  # 2 |f'(x)| on average
    # the parameters: the last layer sees no activation's derivative, the ones below the fault do
    cos = wide["cosine_exact"]
    assert (cos.xs("5", level="layer") == 1).all()
    assert (cos.xs("3", level="layer") < 0).all() and (cos.xs("1", level="layer") < 0.9).all()


def test_metrics_by_hand_on_a_deterministic_chain():
    # Quantize(2): x~ = round(2x)/2, so ReLU's derivative is wrong exactly where 0 < x <= 1/4 (x~ = 0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 200), nn.ReLU(), nn.Linear(200, 2))
    amodel = gnn.analogize(model, gl.chain(gl.Clamp(-0.5, 0.5), gl.Quantize(2)), placement="outputs",
                           logit_chain=False)
    x, y = torch.randn(16, 3), torch.randint(0, 2, (16,))
    report = gl.gradient_diagnostics(amodel, (x, y))
    z = model[0](x).detach().double()
    wrong = ((z > 0) & (z <= 0.25)).double()
    row = _wide(report).xs("1", level="layer").iloc[0]
    assert row["grad_error"] == pytest.approx(float(wrong.mean()), abs=1e-12)
    assert row["kink_crossing"] == pytest.approx(float(wrong.mean()), abs=1e-12)
    assert row["clamp_fraction"] == pytest.approx(float((z.abs() > 0.5).double().mean()), abs=1e-12)
    se = report.set_index(["layer", "metric"]).loc[("1", "grad_error"), "stderr"]
    p = float(wrong.mean())
    assert se == pytest.approx(math.sqrt(p * (1 - p) / (wrong.numel() - 1)), rel=1e-9)


def test_hooks_and_state_are_restored_and_training_steps_only_with_an_optimizer():
    amodel = gnn.analogize(_user_mlp(), gl.analog(0.5, 16))
    amodel.analog.draws.step = 41
    before = [p.clone() for p in amodel.parameters()]
    gl.gradient_diagnostics(amodel, _toy_batches(), steps=2)
    assert all(torch.equal(a, b) for a, b in zip(before, amodel.parameters()))
    assert all(getattr(m, "probe", None) is None for m in amodel.modules())
    assert amodel.analog.noisy and not amodel.analog.clean_gradient and amodel.analog.draws.step == 41
    opt = torch.optim.SGD(amodel.parameters(), lr=0.1)
    report = gl.gradient_diagnostics(amodel, _toy_batches(), steps=4, optimizer=opt)
    assert not all(torch.equal(a, b) for a, b in zip(before, amodel.parameters()))
    losses = report[report["metric"] == "loss"]["value"].to_numpy()
    assert losses.shape == (4,) and np.isfinite(losses).all()


def test_batchnorm_statistics_see_the_perturbed_pass_only():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4))
    amodel = gnn.analogize(model, gl.analog(0.5, 16))
    twin = gnn.analogize(model, gl.analog(0.5, 16))
    batch = _toy_batches(1)[0]
    gl.gradient_diagnostics(amodel, batch)
    twin.analog.draws.step = 0
    twin(batch[0])
    assert torch.equal(amodel.model[1].running_mean, twin.model[1].running_mean)
    assert int(amodel.model[1].num_batches_tracked) == 1


def test_prediction_falls_back_to_monte_carlo_and_says_so():
    shot = gl.chain(gl.Poisson(scale=5.0, precision=10.0))
    amodel = gnn.analogize(_user_mlp(), shot, placement="outputs", logit_chain=False)
    pred = gl.predict_layer_error(amodel, _toy_batches(4))
    assert (pred["method"] == "monte carlo").all() and (pred["predicted_stderr"] > 0).all()
    assert pred["agrees"].all(), pred[["measured", "predicted", "z"]]
    ranged = gnn.analogize(_user_mlp(), [gnn.RangeGaussian(0.1)], placement="outputs", logit_chain=False)
    none = gl.predict_layer_error(ranged, _toy_batches(1))
    assert (none["method"] == "none").all() and none["predicted"].isna().all()
    assert none["note"].str.contains("RangeGaussian").all()


def test_bad_input_is_refused_with_the_reason():
    amodel = gnn.analogize(_user_mlp(), gl.analog(0.5, 16))
    with pytest.raises(ValueError, match=r"batch 0: the model or the loss refused inputs of shape \(4, 7\)"):
        gl.gradient_diagnostics(amodel, (torch.randn(4, 7), torch.zeros(4, dtype=torch.long)))
    with pytest.raises(ValueError, match="must be an analog network"):
        gl.gradient_diagnostics(_user_mlp(), _toy_batches())
    with pytest.raises(TypeError, match=r"batches must be an \(inputs, targets\) pair"):
        gl.gradient_diagnostics(amodel, torch.randn(4, 20))
    with pytest.raises(ValueError, match="steps must be"):
        gl.gradient_diagnostics(amodel, _toy_batches(), steps=0)
    with pytest.raises(ValueError, match="ran out after 2 batches"):
        gl.gradient_diagnostics(amodel, iter(_toy_batches(2)), steps=3)
    with pytest.raises(TypeError, match="chain must be a gl.Chain"):
        gl.predict_layer_error(amodel, _toy_batches(), chain="relu")
    assert all(getattr(m, "probe", None) is None for m in amodel.modules())  # a failed run left no probe


def test_expected_error_interpolates_within_a_hair_of_the_exact_engine_and_keeps_the_jump_at_the_kink():
    from gradlab.diagnostics import expected_error

    x = np.concatenate([np.linspace(-0.4, 0.4, 4001), [1e-9, -1e-9]])
    chain = gl.analog(0.5, 8)
    for name in ("relu", "gelu"):
        act = gl.activation(name)
        e, se, method = expected_error(act, chain, x)
        frame = gl.gradient_error([name], chain, x, method="exact")
        exact = frame.set_index("x")["mean_abs_error"].loc[x].to_numpy()
        assert method == "exact" and se == 0
        assert np.max(np.abs(e - exact)) < 3e-4 * exact.max()
    relu = expected_error(gl.activation("relu"), chain, np.array([-1e-9, 0.0, 1e-9]))[0]
    assert relu[2] - relu[1] > 0.4  # e jumps at the kink, where f'(x) does; no interpolation across it
    tiny = gl.chain(gl.Gaussian(1e-7), gl.Quantize(16))  # a grid would be finer than the inputs: per input
    e, _, _ = expected_error(gl.activation("relu"), tiny, x[:50])
    frame = gl.gradient_error(["relu"], tiny, x[:50], method="exact").set_index("x")
    assert np.allclose(e, frame["mean_abs_error"].loc[x[:50]], atol=1e-15)


def test_an_activation_the_forward_pass_does_not_reach_is_reported_not_a_crash():
    class Skipping(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.used, self.unused, self.out = nn.Linear(20, 8), nn.ReLU(), nn.GELU(), nn.Linear(8, 4)

        def forward(self, x):
            return self.out(self.used(self.fc(x)))

    amodel = gnn.analogize(Skipping(), gl.analog(0.5, 16))
    report = gl.gradient_diagnostics(amodel, _toy_batches(1))
    unused = report[report["layer"] == "unused"]
    assert len(unused) == 5 and unused["value"].isna().all()
    assert report[(report["layer"] == "used") & (report["metric"] == "grad_error")]["value"].notna().all()
    pred = gl.predict_layer_error(amodel, _toy_batches(2)).set_index("layer")
    assert pred.loc["unused", "units"] == 0 and "no input reached" in pred.loc["unused", "note"]
    assert pred.loc["used", "agrees"]
