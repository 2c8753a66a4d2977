"""ProAct on the torch lab: the smooth bound, progressive threshold training, faults in stored words, thresholds too."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")  # the bundled digits
scipy_stats = pytest.importorskip("scipy.stats")

import gradlab as gl  # noqa: E402
from gradlab.nn import (  # noqa: E402
    Clip,
    activation_maxima,
    clip_thresholds,
    evaluate,
    fault_accuracies,
    flip_positions,
    flip_words,
    hidden_blocks,
    memory_bits,
    parameter_faults,
    set_clips,
    stored,
    stored_parameters,
    train_mode,
    train_thresholds,
)
from gradlab.nn.companion import _rebuilt  # noqa: E402

FIT = dict(depth=2, hidden=32, epochs=8, batch=64, lr=3e-3, train_noise=0.0)


@pytest.fixture(scope="module")
def clean_net():
    return train_mode(gl.activation("relu"), "clean", seed=3, **FIT)


def test_the_smooth_bound_is_its_formula_and_goes_to_zero_above_the_threshold():
    lam = 2.0
    h = np.linspace(-1, 12, 1301)
    out = Clip(lam, "smooth")(torch.from_numpy(h)).detach().numpy()
    expected = np.maximum(0.0, h / (1 + np.exp(-20 * (lam - h))))  # max(0, h sigmoid(k (lambda - h))), k = 20
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-300)
    assert np.all(out[h >= lam + 1] < 1e-7) and out[h >= lam + 1].max() == pytest.approx(3 / (1 + np.exp(20)))
    assert out[np.argmin(np.abs(h - 1.0))] == pytest.approx(1.0, rel=1e-8)  # below lambda: the identity
    assert float(Clip(lam)(torch.tensor([np.inf]))[0]) == 0.0  # the limit, not inf * 0
    np.testing.assert_array_equal(Clip(lam, "saturating")(torch.from_numpy(h)).detach().numpy(), np.minimum(h, lam))
    with pytest.raises(ValueError, match="form must be one of 'smooth', 'saturating'"):
        Clip(lam, "hard")


def test_thresholds_start_from_activation_statistics_per_neuron_or_per_layer(clean_net):
    net = _rebuilt(clean_net)
    x = clean_net.data.x_train.double().reshape(-1, 64)
    (w1, b1), (w2, b2) = [(b.layer.weight.detach(), b.layer.bias.detach()) for b in hidden_blocks(net)]
    h1 = torch.relu(x @ w1.T + b1)
    h2 = torch.relu(h1 @ w2.T + b2)
    maxima = activation_maxima(net, clean_net.data.x_train.double())
    torch.testing.assert_close(maxima[0], h1.max(0).values)
    torch.testing.assert_close(maxima[1], h2.max(0).values)
    layer, neuron, hybrid = (clip_thresholds(maxima, r) for r in ("layer", "neuron", "hybrid"))
    assert [t.shape for t in layer] == [(), ()] and float(layer[1]) == pytest.approx(float(h2.max()))
    assert [t.shape for t in neuron] == [(32,), (32,)] and [t.shape for t in hybrid] == [(), (32,)]
    assert clip_thresholds(maxima, "none") is None


def test_convnet_thresholds_are_per_channel_height_width_element():
    net = gl.nn.build_model("convnet", gl.activation("relu"), seed=0)
    maxima = activation_maxima(net, torch.rand(8, 1, 28, 28))
    shapes = [tuple(m.shape) for m in maxima]
    assert shapes[:6] == [(16, 28, 28), (16, 26, 26), (32, 13, 13), (32, 11, 11), (64, 5, 5), (64, 3, 3)]
    assert shapes[6:] == [(128,), (64,)]
    hybrid = clip_thresholds(maxima, "hybrid")
    assert all(t.shape == () for t in hybrid[:-1]) and hybrid[-1].shape == (64,)


def test_progressive_training_lowers_thresholds_within_the_accuracy_tolerance(clean_net):
    net = copy.deepcopy(clean_net.net)
    set_clips(net, clip_thresholds(activation_maxima(net, clean_net.data.x_train), "hybrid"))
    before = [b.clip.threshold.detach().clone() for b in hidden_blocks(net)]
    weights = [p.detach().clone() for n, p in net.named_parameters() if "clip" not in n]
    data = clean_net.data
    start = evaluate(net, data.x_train, data.y_train, noisy=False, step=-1)
    log = train_thresholds(net, data.x_train, data.y_train, tolerance=0.005, epochs=2)
    after = [b.clip.threshold.detach() for b in hidden_blocks(net)]
    assert float(after[0]) < 0.9 * float(before[0])  # the layer-wise threshold came down by over 10%
    assert float(after[1].mean()) < float(before[1].mean())
    assert evaluate(net, data.x_train, data.y_train, noisy=False, step=-1) >= start - 0.005
    assert list(dict.fromkeys(log["layer"])) == [1, 0]  # from the last layer to the first
    assert (log[log["kept"]]["accuracy"] >= start - 0.005).all()
    for w0, (n, p) in zip(weights, ((n, p) for n, p in net.named_parameters() if "clip" not in n)):
        assert torch.equal(w0, p.detach()), n  # the weights stayed frozen


def test_q15_16_words_by_hand():
    v = torch.tensor([1.5, -2.25, 3.0, 0.0, 40000.0], dtype=torch.float64)
    np.testing.assert_array_equal(stored(v, "fixed32").numpy(), [1.5, -2.25, 3.0, 0.0, 32768 - 2.0**-16])
    flipped = flip_words(v, "fixed32", torch.tensor([30, 32 + 31, 64 + 16, 96 + 0]))
    # bit 30 adds 2^14; the sign bit of -2.25 gives 2^15 - 2.25; bit 16 of 3 (0b11.0) leaves 2; bit 0 is 2^-16
    np.testing.assert_array_equal(flipped.numpy()[:4], [16385.5, 32765.75, 2.0, 2.0**-16])
    assert float(flip_words(torch.tensor([1.0]), "float32", torch.tensor([30]))[0]) == np.inf  # 0x3F800000 ^ 2^30


def test_flips_per_pattern_follow_the_binomial_law_and_land_uniformly():
    n_bits, ber, patterns = 50_000, 4e-5, 6000  # 2 flips per pattern on average
    gen = torch.Generator().manual_seed(11)
    draws = [flip_positions(n_bits, ber, gen) for _ in range(patterns)]
    counts = np.array([len(d) for d in draws])
    assert all(len(torch.unique(d)) == len(d) for d in draws)
    top = 7  # bins 0 .. 6 and >= 7
    observed = np.bincount(np.minimum(counts, top), minlength=top + 1)
    p = scipy_stats.binom.pmf(np.arange(top), n_bits, ber)
    expected = patterns * np.append(p, 1 - p.sum())
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert scipy_stats.chi2.sf(chi2, top) > 1e-3, (observed, expected.round(1))
    where = torch.cat(draws).numpy()
    hist = np.bincount(where * 10 // n_bits, minlength=10)
    assert scipy_stats.chisquare(hist).pvalue > 1e-3
    dense = np.array([len(flip_positions(12, 0.75, gen)) for _ in range(3000)])  # the permutation path
    assert abs(dense.mean() - 9.0) < 4 * np.sqrt(12 * 0.75 * 0.25 / 3000)
    assert len(flip_positions(10**6, 0.0, gen)) == 0


def test_a_planted_flip_in_a_threshold_high_bit_breaks_a_neuron_wise_layer_and_a_layer_wise_one_has_no_such_word(
        clean_net):
    base = _rebuilt(clean_net)
    data = clean_net.data
    x, y = data.x_test.double(), data.y_test
    maxima = activation_maxima(base, data.x_train.double())
    h1 = torch.relu(hidden_blocks(base)[0].layer(x.reshape(-1, 64))).detach()
    # A weight fault: bit 29 of W2[j, i] adds 2^13 to it, i a first-layer unit that fires on most images but
    # stays under 1.5, so neuron j's pre-activation reaches thousands, under a threshold raised by 2^14.
    i = int(torch.argmax(((h1 > 0) & (h1 < 1.5)).sum(0)))
    w2 = hidden_blocks(base)[1].layer.weight
    j = int(torch.nonzero(w2[:, i] > 0)[0])  # a positive weight: bit 29 is 0 and the flip adds 2^13
    nets, accs = {}, {}
    for rule in ("neuron", "layer"):
        net = copy.deepcopy(base)
        set_clips(net, [maxima[0].max(), clip_thresholds(maxima, rule)[1]])
        weights, lams = stored_parameters(net, "fixed32")
        nets[rule] = (net, weights, lams)
        accs[rule, "clean"] = evaluate(net, x, y, noisy=False, step=-1)
    offset = sum(p.numel() for p in weights[:2]) * 32  # W2 follows W1 and b1 in the memory
    weight_fault = torch.tensor([offset + (j * w2.shape[1] + i) * 32 + 29])
    # The threshold fault: bit 30 of word j of the second layer's thresholds (word 0 holds the first layer's).
    threshold_fault = torch.tensor([(1 + j) * 32 + 30])
    for rule, (net, weights, lams) in nets.items():
        assert memory_bits(lams, "fixed32") == (1 + (32 if rule == "neuron" else 1)) * 32
        with parameter_faults(weights, "fixed32", weight_fault):
            accs[rule, "weight"] = evaluate(net, x, y, noisy=False, step=-1)  # clipped: the neuron goes to 0
            with parameter_faults(lams, "fixed32", threshold_fault):
                accs[rule, "both"] = evaluate(net, x, y, noisy=False, step=-1)
                hit = [float(b.clip.threshold.reshape(-1)[min(j, b.clip.threshold.numel() - 1)])
                       for b in hidden_blocks(net)]
        assert accs[rule, "weight"] > accs[rule, "clean"] - 0.05
    assert hit[1] < 100  # the layer-wise layer stores one word: the flip at word j hits nothing
    assert accs["neuron", "both"] < 0.5 < accs["neuron", "clean"] - 0.3  # unbounded neuron j takes the network down
    assert accs["layer", "both"] > accs["layer", "clean"] - 0.05  # contained
    # The same flip in the layer-wise layer's own word (word 1) would unbound the whole layer: it is hit less
    # often, not less hard.
    net, weights, lams = nets["layer"]
    with parameter_faults(weights, "fixed32", weight_fault), parameter_faults(lams, "fixed32", torch.tensor([62])):
        assert evaluate(net, x, y, noisy=False, step=-1) < 0.5


def test_fault_accuracies_pair_the_weight_faults_and_fault_the_thresholds(clean_net):
    kw = dict(ber=[0.0, 1e-4], patterns=6, seed=(1,))
    frame = fault_accuracies(clean_net, ["none", "layer", "neuron"], **kw)
    assert list(frame["clipping"]) == ["none", "none", "layer", "layer", "neuron", "neuron"]
    zero = frame[frame["ber"] == 0]
    np.testing.assert_allclose(zero["test_accuracy"], zero["fault_free"], rtol=1e-12)
    assert (zero["flips"] == 0).all() and (zero["accuracy_sd"] < 1e-12).all()
    hit = frame[frame["ber"] > 0].set_index("clipping")
    assert hit.at["none", "threshold_flips"] == 0
    # the same weight faults for every rule: the flips differ only by the thresholds' own
    np.testing.assert_allclose(hit["flips"] - hit["threshold_flips"], hit.at["none", "flips"])
    assert hit.at["neuron", "test_accuracy"] > hit.at["none", "test_accuracy"]
    again = fault_accuracies(clean_net, ["none", "layer", "neuron"], **kw)
    assert frame.equals(again)
    without = fault_accuracies(clean_net, ["neuron"], fault_thresholds=False, **kw)
    assert (without["threshold_flips"] == 0).all()


def test_the_bitflip_query_checks_its_input_and_runs_on_the_fcn():
    frame = gl.bitflip_faults("relu", model="fcn", clipping=["none", "proact"], ber=[0, 1e-5], patterns=2,
                              hidden=32, epochs=1, proact_epochs=1)
    assert set(frame["model"]) == {"fcn"} and list(frame.columns[:12]) == [
        "activation", "model", "depth", "hidden", "epochs", "seed", "clipping", "form", "where", "word", "ber",
        "patterns"]
    with pytest.raises(ValueError, match="word must be one of 'fixed32', 'float32', 'fixed16'"):
        gl.bitflip_faults("relu", word="int8", depth=1, hidden=8, epochs=1)
    with pytest.raises(ValueError, match="form must be one of 'smooth', 'saturating'"):
        gl.bitflip_faults("relu", form="hard", depth=1, hidden=8, epochs=1)
    act = gl.bitflip_faults("relu", clipping=["neuron"], where="activations", ber=[0, 1e-3], patterns=2, depth=1,
                            hidden=8, epochs=1, word="float32", form="saturating")
    assert set(act["where"]) == {"activations"} and set(act["form"]) == {"saturating"}
