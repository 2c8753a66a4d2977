"""The companion experiments: training modes, layer-output noise, ProAct thresholds, bit flips, grids."""
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")  # the bundled digits (lab extra, also in the test extra)

import gradlab as gl  # noqa: E402
from gradlab.engines import hardening as H  # noqa: E402
from gradlab.engines.training import load_digits_split  # noqa: E402

FIT = dict(depth=2, hidden=32, epochs=10, batch=64, lr=3e-3, train_noise=0.1, qat_precision=16)


@pytest.fixture(scope="module")
def relu():
    return gl.activation("relu")


@pytest.fixture(scope="module")
def clean_net(relu):
    return H.fit(relu, "clean", seed=3, **FIT)


def _round(v, p):  # the paper's rule, written out: sign(v) ceil(|v p| - 1/2) / p
    return np.sign(v) * np.ceil(np.abs(v * p) - 0.5) / p


def test_qat_forward_is_quantized_and_backward_straight_through(relu):
    p = 4.0
    w1 = np.array([[0.30, -0.61], [0.12, 0.77]])
    w2 = np.array([[0.52, -0.20], [-0.38, 0.91]])
    b1, b2 = np.array([0.05, -0.13]), np.array([0.0, 0.07])
    net = H.Net([w1.copy(), w2.copy()], [b1.copy(), b2.copy()], relu, "qat", p, seed=0)
    x, y = np.array([[0.9, 0.2], [0.1, 0.6], [0.5, 0.5]]), np.array([0, 1, 1])
    loss, gw, gb = H.gradients(net, x, y, eta=0.0, seed=(0,))
    # By hand: weights, biases and pre-activations on the grid k/4; f' at the rounded z; quantizers as identity.
    q1, q2, c1, c2 = _round(w1, p), _round(w2, p), _round(b1, p), _round(b2, p)
    z = _round(x @ q1 + c1, p)
    h = np.maximum(z, 0)
    logits = h @ q2 + c2
    e = np.exp(logits - logits.max(1, keepdims=True))
    prob = e / e.sum(1, keepdims=True)
    assert loss == pytest.approx(-np.log(prob[np.arange(3), y]).mean(), rel=1e-12)
    delta = prob.copy()
    delta[np.arange(3), y] -= 1
    delta /= 3
    np.testing.assert_allclose(gw[1], h.T @ delta, rtol=1e-12)
    np.testing.assert_allclose(gb[1], delta.sum(0), rtol=1e-12)
    delta1 = (delta @ q2.T) * (z > 0)
    np.testing.assert_allclose(gw[0], x.T @ delta1, rtol=1e-12)
    np.testing.assert_allclose(gb[0], delta1.sum(0), rtol=1e-12)
    assert not np.allclose(q1, w1)  # the rounding did something, and the float weights are kept
    np.testing.assert_array_equal(net.weights[0], w1)


def test_layer_noise_scales_with_the_range_and_is_fresh_each_step_yet_repeatable():
    z = np.linspace(-2, 3, 4001).reshape(1, -1)
    a, b = H.layer_noise(z, 0.1, (7, 0, 1, 0)), H.layer_noise(z, 0.1, (7, 0, 2, 0))
    assert not np.array_equal(a, b)  # step 1 and step 2 draw different numbers
    np.testing.assert_array_equal(a, H.layer_noise(z, 0.1, (7, 0, 1, 0)))  # same seed, same numbers
    # eta * max|z| = 0.3: the spread of the noise, within sampling error (4001 draws)
    assert np.std(a - z) == pytest.approx(0.3, rel=0.05)
    np.testing.assert_array_equal(H.layer_noise(z, 0.0, (1,)), z)


def test_noisy_training_repeats_exactly_and_differs_from_clean(relu, clean_net):
    one = H.fit(relu, "noisy", seed=3, **FIT)
    two = H.fit(relu, "noisy", seed=3, **FIT)
    for w1, w2, w0 in zip(one.weights, two.weights, clean_net.weights):
        np.testing.assert_array_equal(w1, w2)
        assert not np.array_equal(w1, w0)


@pytest.mark.parametrize("mode", H.MODES)
def test_every_mode_reaches_clean_accuracy_without_noise_or_faults(relu, mode):
    net = H.fit(relu, mode, seed=1, **FIT)
    assert H.evaluate(net) > 0.9
    assert H.evaluate(net, ber=0.0, where="activations") == H.evaluate(net)


def test_proact_thresholds_are_the_activation_maxima_on_the_training_data(clean_net):
    x = load_digits_split(clean_net.seed)[0]
    h1 = np.maximum(x @ clean_net.weights[0] + clean_net.biases[0], 0)
    h2 = np.maximum(h1 @ clean_net.weights[1] + clean_net.biases[1], 0)
    layer, neuron, hybrid = (H.thresholds(clean_net, r) for r in ("layer", "neuron", "hybrid"))
    assert [float(t) for t in layer] == [h1.max(), h2.max()]
    np.testing.assert_array_equal(neuron[0], h1.max(0))
    np.testing.assert_array_equal(neuron[1], h2.max(0))
    assert float(hybrid[0]) == h1.max()  # per layer, except per neuron in the last hidden layer
    np.testing.assert_array_equal(hybrid[1], h2.max(0))
    assert H.thresholds(clean_net, "none") is None and [float(t) for t in H.thresholds(clean_net, "relu6")] == [6, 6]


def test_a_large_exponent_flip_breaks_the_unclipped_network_not_the_clipped_one(clean_net):
    x = load_digits_split(clean_net.seed)[0]
    h1 = np.maximum(x @ clean_net.weights[0] + clean_net.biases[0], 0)
    # Flip bit 30 (the exponent's top bit) of a positive weight from the busiest pixel into a live neuron.
    pixel = int(x.mean(0).argmax())
    live = np.flatnonzero((clean_net.weights[0][pixel] > 0) & (h1.mean(0) > 0))
    neuron = int(live[0])
    word = np.array([clean_net.weights[0][pixel, neuron]], dtype=np.float32).view(np.uint32) ^ np.uint32(1 << 30)
    broken = H.Net([w.copy() for w in clean_net.weights], clean_net.biases, clean_net.act, "clean", 1.0, clean_net.seed)
    broken.weights[0][pixel, neuron] = float(word.view(np.float32)[0])
    assert broken.weights[0][pixel, neuron] > 1e30
    clean = H.evaluate(clean_net)
    unclipped = H.evaluate(broken)
    assert unclipped < 0.5 < clean  # one weight takes the whole network down
    # Clipped, the neuron saturates: at its own maximum (neuron-wise thresholds) it barely matters; at
    # the layer's maximum (layer-wise, and the hybrid's first layer), above most neurons' values, more.
    assert H.evaluate(broken, clip=H.thresholds(clean_net, "neuron")) > clean - 0.05
    for rule in ("layer", "hybrid", "relu6"):
        assert H.evaluate(broken, clip=H.thresholds(clean_net, rule)) > unclipped + 0.2


def test_bit_flips_in_weights_and_activations_hurt_more_as_the_rate_grows(clean_net):
    for where in ("weights", "activations"):
        accs = [H.evaluate(clean_net, ber=b, where=where, seed=(4,)) for b in (0.0, 1e-4, 3e-3)]
        assert accs[0] == H.evaluate(clean_net) and accs[2] < accs[0] - 0.05
        assert accs == [H.evaluate(clean_net, ber=b, where=where, seed=(4,)) for b in (0.0, 1e-4, 3e-3)]


def test_fixed_point_words_take_flips_too(clean_net):
    assert H.evaluate(clean_net, ber=0.0, word="fixed16") == H.evaluate(clean_net)
    hit = H.evaluate(clean_net, ber=3e-3, word="fixed16", seed=(2,))
    assert hit < H.evaluate(clean_net) and hit == H.evaluate(clean_net, ber=3e-3, word="fixed16", seed=(2,))
    frame = gl.bitflip_faults("relu", word="fixed16", ber=[1e-3], clipping=["none"], depth=1, hidden=8, epochs=1)
    assert set(frame["word"]) == {"fixed16"}
    with pytest.raises(ValueError, match="word must be one of 'float32', 'fixed16'"):
        gl.bitflip_faults("relu", word="int8", depth=1, hidden=8, epochs=1)


def test_point_runs_repeat_and_check_their_input():
    kw = dict(depth=1, hidden=16, epochs=2, seed=5)
    a = gl.train_modes("relu", eval_noise=[0, 0.1], **kw)
    pd.testing.assert_frame_equal(a, gl.train_modes("relu", eval_noise=[0, 0.1], **kw))
    assert list(a["train"]) == ["clean", "clean", "qat", "qat", "noisy", "noisy"]
    b = gl.bitflip_faults("relu", ber=[0, 1e-3], clipping=["none", "hybrid"], **kw)
    pd.testing.assert_frame_equal(b, gl.bitflip_faults("relu", ber=[0, 1e-3], clipping=["none", "hybrid"], **kw))
    assert len(b) == 2 * 2 * 2 and set(b["where"]) == {"weights", "activations"}
    with pytest.raises(ValueError, match=r"train must be one of 'clean', 'qat', 'noisy', got 'qta'"):
        gl.train_modes("relu", train=["qta"], **kw)
    with pytest.raises(ValueError, match="ber"):
        gl.bitflip_faults("relu", ber=[2.0], **kw)
    with pytest.raises(ValueError, match="clipping must be one of"):
        gl.bitflip_faults("relu", clipping="layers", **kw)
    with pytest.raises(ValueError, match="chain must be None here"):
        gl.train_modes("relu", gl.analog(), **kw)


def test_grids_run_through_the_sweep_and_repeat_byte_for_byte(tmp_path):
    kw = dict(depth=[1], seeds=2, epochs=2, eval_noise=[0.0, 0.3], train=["clean", "noisy"])
    first = gl.noise_tolerance(["relu", "gelu"], cache=tmp_path, **kw)
    again = gl.noise_tolerance(["relu", "gelu"], cache=tmp_path, **kw)  # resumed from the cache
    fresh = gl.noise_tolerance(["relu", "gelu"], cache=False, **kw)
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first, fresh)
    assert len(first) == 2 * 2 * 2 * 2 and {"replicate", "seed", "eval_noise"} <= set(first.columns)
    summary = gl.t_summary(first, ["activation", "train", "eval_noise"])
    assert (summary["seeds"] == 2).all() and (summary["ci_low"] <= summary["mean"]).all()
    with pytest.raises(ValueError, match="clipping must be one of"):
        gl.sweep({"query": "bitflip_faults", "activations": ["relu"], "clipping": ["bogus"], "chain": {"kind": "none"}})


def test_t_summary_against_a_hand_computed_interval():
    frame = pd.DataFrame({"g": ["a"] * 5 + ["b"], "test_accuracy": [0.90, 0.92, 0.94, 0.96, 0.98, 0.5]})
    s = gl.t_summary(frame, ["g"]).set_index("g")
    # mean 0.94, sd 0.0316228, stderr 0.0141421, t(0.975, 4) = 2.7764451
    assert s.loc["a", "mean"] == pytest.approx(0.94)
    assert s.loc["a", "ci_high"] - 0.94 == pytest.approx(2.7764451 * 0.0141421356, rel=1e-6)
    assert s.loc["b", "seeds"] == 1 and np.isnan(s.loc["b", "ci_low"])
    with pytest.raises(ValueError, match="no column 'accuracy'"):
        gl.t_summary(frame, ["g"], value="accuracy")
