"""The noisy-training lab on the torch lab: the digits MLP, its chain on hidden outputs, train_noisy."""
import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")  # the bundled digits

import gradlab as gl  # noqa: E402
from gradlab.nn import Placement, digits_mlp, hidden_blocks, paper_fcn  # noqa: E402

COLUMNS = ["seed", "hidden", "depth", "chain", "activation", "epoch", "train_loss", "train_accuracy", "test_loss",
           "test_accuracy"]


def _loss(net, x, y):
    return torch.nn.functional.cross_entropy(net(x), y)


def test_training_gradients_match_finite_differences():
    net = digits_mlp(gl.activation("gelu"), 2, 6, Placement(), seed=0).double()
    gen = torch.Generator().manual_seed(0)
    x = torch.rand((5, 1, 8, 8), generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 9, 4])
    _loss(net, x, y).backward()
    h = 1e-6
    blocks = [m for m in net.layers if hasattr(m, "layer")]
    for block, index in [(blocks[0], (1, 2)), (blocks[1], (5, 0)), (blocks[2], (3, 4))]:
        for param, idx in ((block.layer.weight, index), (block.layer.bias, index[:1])):
            with torch.no_grad():
                param[idx] += h
                up = float(_loss(net, x, y))
                param[idx] -= 2 * h
                down = float(_loss(net, x, y))
                param[idx] += h
            assert float(param.grad[idx]) == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def test_the_chain_acts_on_hidden_outputs_only_and_f_prime_at_the_perturbed_value():
    # A 2-2-2 network by hand: z rounded to k/2 (Quantize(2)) before ReLU, the logits left alone.
    net = paper_fcn([2, 2, 2], "relu", placement=Placement(outputs=(gl.Quantize(2),)), dropout=0.0,
                    logit_activation=False, logit_chain=False).double()
    w1, b1 = np.array([[0.8, -0.3], [0.4, 0.9]]), np.array([0.05, 0.3])
    w2, b2 = np.array([[0.7, -0.6], [0.2, 0.5]]), np.array([0.1, 0.0])
    first, last = (m.layer for m in net.layers if hasattr(m, "layer"))
    with torch.no_grad():
        for layer, w, b in ((first, w1, b1), (last, w2, b2)):
            layer.weight.copy_(torch.from_numpy(w.T))
            layer.bias.copy_(torch.from_numpy(b))
    x, y = np.array([[0.9, 0.2], [0.1, 0.6]]), np.array([1, 0])
    logits = net(torch.from_numpy(x))
    z = x @ w1 + b1
    q = np.sign(z) * np.ceil(np.abs(2 * z) - 0.5) / 2
    hidden = np.maximum(q, 0)
    np.testing.assert_allclose(logits.detach().numpy(), hidden @ w2 + b2, rtol=1e-12)  # not rounded
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).backward()
    e = np.exp(hidden @ w2 + b2)
    delta = e / e.sum(1, keepdims=True)
    delta[np.arange(2), y] -= 1
    delta /= 2
    delta1 = (delta @ w2.T) * (q > 0)  # f' at the rounded value, the quantizer straight through
    np.testing.assert_allclose(first.weight.grad.numpy(), (x.T @ delta1).T, rtol=1e-12, atol=1e-15)
    assert ((q > 0) != (z > 0)).any()  # the rounding changed where f' is taken


def test_clean_training_reaches_clean_mlp_accuracy_and_repeats():
    hist = gl.train_noisy("relu", None, depth=2, epochs=10, seed=0)
    assert list(hist.columns) == COLUMNS and list(hist["epoch"]) == list(range(1, 11))
    assert hist["test_accuracy"].iloc[-1] > 0.9
    assert hist["train_loss"].iloc[-1] < hist["train_loss"].iloc[0]
    again = gl.train_noisy("relu", None, depth=2, epochs=10, seed=0)
    pd.testing.assert_frame_equal(hist, again, check_exact=True)


def test_noisy_training_runs_through_the_chain():
    clean = gl.train_noisy("gelu", None, epochs=2, seed=1)
    noisy = gl.train_noisy("gelu", gl.analog(0.5, 16), epochs=2, seed=1)
    assert not clean["test_loss"].equals(noisy["test_loss"])
    assert noisy["chain"].iloc[0] == repr(gl.analog(0.5, 16)) and clean["chain"].iloc[0] == "None"
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        gl.train_noisy("gelu", None, epochs=0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        gl.train_noisy("gelu", None, lr=0)


def test_networks_of_one_seed_start_alike_whatever_the_activation():
    a = digits_mlp(gl.activation("relu"), 2, 16, Placement(), seed=4)
    b = digits_mlp(gl.activation("gelu"), 2, 16, Placement(outputs=(gl.Quantize(4),)), seed=4)
    c = digits_mlp(gl.activation("relu"), 2, 16, Placement(), seed=5)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key])
    assert not torch.equal(a.state_dict()["layers.1.layer.weight"], c.state_dict()["layers.1.layer.weight"])
    assert len(hidden_blocks(a)) == 2 and hidden_blocks(a)[-1].output_chain.stages == ()
