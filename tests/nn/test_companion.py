"""The companion experiments on the torch lab: bounded QAT, the noise range, training modes, the queries."""
import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")  # the bundled digits

import gradlab as gl  # noqa: E402
from gradlab.conventions import TRAIN_MODES  # noqa: E402
from gradlab.nn import (  # noqa: E402
    AnalogChain,
    BoundedQuantize,
    Draws,
    RangeGaussian,
    bounded_quantize,
    calibrate,
    hidden_blocks,
    noise_scale,
    noisy_accuracy,
    set_chains,
    train_mode,
)
from gradlab.nn.companion import _rebuilt  # noqa: E402

FIT = dict(depth=2, hidden=32, epochs=6, batch=64, lr=3e-3, train_noise=0.1, qat_bits=4)


@pytest.fixture(scope="module")
def relu():
    return gl.activation("relu")


@pytest.fixture(scope="module")
def clean_net(relu):
    return train_mode(relu, "clean", seed=3, **FIT)


# --- bounded QAT -------------------------------------------------------------------------------------------------

def test_bounded_quantizer_clips_outside_its_range_and_has_2_to_the_bits_levels():
    for bits in (2, 4, 6, 8):
        q = BoundedQuantize(bits, -1.5, 2.5)
        v = torch.linspace(-5, 5, 200_001, dtype=torch.float64)
        out = bounded_quantize(v, q)
        levels = torch.unique(out)
        assert len(levels) == 2**bits
        np.testing.assert_allclose(levels.numpy(), -1.5 + np.arange(2**bits) * 4 / (2**bits - 1), atol=1e-12)
        assert torch.all(out[v <= -1.5] == -1.5) and torch.all(out[v >= 2.5] == 2.5)  # clipped to the range
        inside = (v > -1.5) & (v < 2.5)
        assert float((out - v)[inside].abs().max()) <= q.step / 2 + 1e-12  # the nearest level
    with pytest.raises(ValueError, match="BoundedQuantize: bits must be an integer in"):
        BoundedQuantize(0, -1, 1)
    with pytest.raises(ValueError, match="lo must be < hi"):
        BoundedQuantize(4, 1.0, 1.0)


def test_bounded_quantizer_gradient_is_straight_through_inside_and_zero_outside_by_hand():
    q = BoundedQuantize(2, -1.0, 1.0)  # levels -1, -1/3, 1/3, 1
    v = torch.tensor([-1.5, -0.9, 0.2, 0.7, 1.2], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    out = AnalogChain([q], (0, 3))(v, Draws(0))  # a layer's outputs
    # By hand: k = floor((clip(v) + 1) / (2/3) + 1/2): 0, 0, 2, 3, 3
    np.testing.assert_allclose(out.detach().numpy(), [-1, -1, 1 / 3, 1, 1], atol=1e-15)
    (out * w).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [0, 2, 3, 4, 0])  # dL/dv = w inside [-1, 1], 0 outside
    p = v.detach().clone().requires_grad_(True)
    (AnalogChain([q], (0, 1), straight_through=True)(p, Draws(0)) * w).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), w.numpy())  # on a parameter: straight through everywhere


def test_qat_calibrates_its_ranges_after_the_warmup_and_holds_them(relu):
    qat = train_mode(relu, "qat", seed=4, **{**FIT, "epochs": 4}, warmup=2)
    warm = train_mode(relu, "clean", seed=4, **{**FIT, "epochs": 2})  # the same first two epochs
    expected = calibrate(warm.net, warm.data.x_train)
    assert qat.ranges == expected
    blocks = hidden_blocks(qat.net)
    for b, r in zip(blocks, expected["outputs"]):
        assert b.output_chain.stages == (BoundedQuantize(4, -r, r),)  # constant: bits and range
    # The forward pass sees each layer's weights on its 16 levels, within the calibrated range.
    layer = blocks[0].layer
    seen = layer.chains.weight_chain(layer.weight, qat.net.analog.draws).detach()
    assert len(torch.unique(seen)) <= 16 and float(seen.abs().max()) <= expected["weights"][0] + 1e-6
    assert noisy_accuracy(qat) > 0.85


# --- the noise range ---------------------------------------------------------------------------------------------

def _scales_by_batch(trained, noise_range: str, batch: int) -> torch.Tensor:
    """Each test sample's noise sd at each unit of the first hidden layer, the split scored in batches of ``batch``."""
    net = _rebuilt(trained)
    data = trained.data
    scales = calibrate(net, data.x_train.double())["outputs"] if noise_range == "calibrated" else None
    set_chains(net, eta=0.1, noise_range=noise_range, scales=scales)
    block = hidden_blocks(net)[0]
    (stage,) = block.output_chain.stages
    seen = []
    hook = block.layer.register_forward_hook(lambda m, a, z: seen.append(noise_scale(stage, z).expand_as(z)))
    x = data.x_test.double()
    with torch.no_grad():
        for s in range(0, len(x), batch):
            net(x[s : s + batch])
    hook.remove()
    return torch.cat(seen)


@pytest.mark.parametrize("noise_range", ["sample", "calibrated"])
def test_the_noise_scale_is_the_same_in_batches_of_1_64_and_the_whole_split(clean_net, noise_range):
    one, many, whole = (_scales_by_batch(clean_net, noise_range, b) for b in (1, 64, 450))
    assert torch.equal(one, many) and torch.equal(one, whole)
    assert float(one.min()) > 0


def test_the_batch_range_is_the_named_variant_whose_scale_grows_with_the_batch(clean_net):
    one, whole = _scales_by_batch(clean_net, "batch", 1), _scales_by_batch(clean_net, "batch", 450)
    assert float(whole.min()) == float(whole.max()) > float(one.mean()) * 1.2  # one maximum over 450 samples
    assert torch.equal(_scales_by_batch(clean_net, "sample", 1), one)  # a batch of one: the two agree


def test_range_noise_has_its_scale_and_fresh_repeatable_draws():
    z = torch.linspace(-2, 3, 8002, dtype=torch.float64).reshape(2, -1)
    chain = AnalogChain([RangeGaussian(0.1)], (0, 3))
    a, b = chain(z, Draws(7, step=1)), chain(z, Draws(7, step=2))
    assert not torch.equal(a, b) and torch.equal(a, chain(z, Draws(7, step=1)))
    # per sample: row 0 spans [-2, 0.5] (max|z| = 2), row 1 [0.5, 3] (max|z| = 3)
    assert float((a - z)[0].std()) == pytest.approx(0.2, rel=0.05)
    assert float((a - z)[1].std()) == pytest.approx(0.3, rel=0.05)
    fixed = AnalogChain([RangeGaussian(0.1, "calibrated", 5.0)], (0, 3))(z, Draws(1))
    assert float((fixed - z).std()) == pytest.approx(0.5, rel=0.05)
    assert torch.equal(AnalogChain([RangeGaussian(0.0)], (0,))(z, Draws(1)), z)
    with pytest.raises(ValueError, match="eta must be a finite number >= 0"):
        RangeGaussian(-0.1)
    with pytest.raises(ValueError, match="range='calibrated' needs scale"):
        RangeGaussian(0.1, "calibrated")
    with pytest.raises(ValueError, match="range must be one of 'sample', 'calibrated', 'batch'"):
        RangeGaussian(0.1, "layer")


# --- training modes ----------------------------------------------------------------------------------------------

def test_noisy_training_repeats_exactly_and_differs_from_clean(relu, clean_net):
    one = train_mode(relu, "noisy", seed=3, **FIT)
    two = train_mode(relu, "noisy", seed=3, **FIT)
    for key, w0 in clean_net.net.state_dict().items():
        assert torch.equal(one.net.state_dict()[key], two.net.state_dict()[key])
        assert not torch.equal(one.net.state_dict()[key], w0)


@pytest.mark.parametrize("mode", TRAIN_MODES)
def test_every_mode_reaches_clean_accuracy_without_noise(relu, mode):
    net = train_mode(relu, mode, seed=1, **FIT)
    assert noisy_accuracy(net) > 0.88


def test_noisy_training_with_a_calibrated_range_recalibrates_each_epoch(relu):
    kw = {**FIT, "noise_range": "calibrated", "seed": 2}
    net, first = train_mode(relu, "noisy", **{**kw, "epochs": 2}), train_mode(relu, "noisy", **{**kw, "epochs": 1})
    # the second epoch's stages hold the ranges of the network after the first (the same first epoch)
    scales = calibrate(first.net, net.data.x_train)["outputs"]
    assert [b.output_chain.stages[0].scale for b in hidden_blocks(net.net)] == scales
    assert scales != calibrate(train_mode(relu, "clean", **{**kw, "epochs": 1}).net, net.data.x_train)["outputs"]


# --- the queries -------------------------------------------------------------------------------------------------

def test_point_runs_repeat_and_check_their_input():
    kw = dict(depth=1, hidden=16, epochs=2, seed=5)
    a = gl.train_modes("relu", eval_noise=[0, 0.1], **kw)
    pd.testing.assert_frame_equal(a, gl.train_modes("relu", eval_noise=[0, 0.1], **kw), check_exact=True)
    assert list(a["train"]) == ["clean", "clean", "qat", "qat", "noisy", "noisy"]
    assert list(a.columns) == ["activation", "model", "depth", "hidden", "epochs", "seed", "train", "qat_bits",
                               "train_noise", "noise_range", "eval_noise", "test_accuracy"]
    with pytest.raises(ValueError, match=r"train must be one of 'clean', 'qat', 'noisy', got 'qta'"):
        gl.train_modes("relu", train=["qta"], **kw)
    with pytest.raises(ValueError, match="noise_range must be one of 'sample', 'calibrated', 'batch', got 'max'"):
        gl.train_modes("relu", noise_range="max", **kw)
    with pytest.raises(ValueError, match="model must be one of 'mlp', 'fcn', 'convnet', got 'vgg'"):
        gl.train_modes("relu", model="vgg", **kw)
    with pytest.raises(ValueError, match="chain must be None here"):
        gl.train_modes("relu", gl.analog(), **kw)


def test_the_mnist_models_train_in_every_mode():
    fcn = gl.train_modes("relu", model="fcn", eval_noise=[0, 0.3], depth=2, hidden=32, epochs=2, seed=1)
    assert set(fcn["model"]) == {"fcn"} and (fcn[fcn["eval_noise"] == 0]["test_accuracy"] > 0.8).all()
    conv = gl.train_modes("relu", model="convnet", train=["qat"], eval_noise=[0], epochs=2, seed=1, warmup=1)
    assert list(conv["depth"]) == [6] and conv["test_accuracy"].iloc[0] > 0.5


def test_grids_run_through_the_sweep_and_repeat_byte_for_byte(tmp_path):
    kw = dict(depth=[1], seeds=2, epochs=2, eval_noise=[0.0, 0.3], train=["clean", "noisy"])
    first = gl.noise_tolerance(["relu", "gelu"], cache=tmp_path, **kw)
    again = gl.noise_tolerance(["relu", "gelu"], cache=tmp_path, **kw)  # resumed from the cache
    fresh = gl.noise_tolerance(["relu", "gelu"], cache=False, **kw)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    pd.testing.assert_frame_equal(first, fresh, check_exact=True)
    assert len(first) == 2 * 2 * 2 * 2 and {"replicate", "seed", "eval_noise", "model"} <= set(first.columns)
    summary = gl.t_summary(first, ["activation", "train", "eval_noise"], bounds=(0, 1))
    assert (summary["seeds"] == 2).all() and (summary["ci_low"] <= summary["mean"]).all()
    assert (summary["ci_low"] >= 0).all() and (summary["ci_high"] <= 1).all()
    flips = dict(depth=[1], seeds=2, epochs=1, ber=[0.0, 1e-4], clipping=["none", "neuron"], patterns=3)
    one = gl.bitflip_resilience("relu", cache=tmp_path, **flips)
    pd.testing.assert_frame_equal(one, gl.bitflip_resilience("relu", cache=tmp_path, **flips), check_exact=True)
    with pytest.raises(ValueError, match="clipping must be one of"):
        gl.sweep({"query": "bitflip_faults", "activations": ["relu"], "clipping": ["bogus"], "chain": {"kind": "none"}})
