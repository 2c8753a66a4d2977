"""gradlab.nn held to AnalogVNN 1.0.8, the stack of the paper's code (skipped without torch or analogvnn).

The same small network is built twice: from AnalogVNN's Clamp / ReducePrecision / GaussianNoise
and PseudoParameter (one weight model, Clamp -> ReducePrecision -> GaussianNoise, on every
parameter, as the paper's ``WeightModel``), trained through AnalogVNN's own graph backward; and
from gradlab's layers (``paper_fcn`` with ``gl.analog(..., compat='analogvnn')``). Both run in
float64 (AnalogVNN's float32 constants, its 1/precision included, keep their float32 values, as
``compat='analogvnn'`` does). With noise, the noise AnalogVNN's GaussianNoise modules add is
recorded with forward hooks and replayed in gradlab's network by ``ReplayDraws``, keyed by
gradlab's sites. Two versions of the paper's code are covered:

- its final ``src/run_conv.py``: ``torch.nn.Linear``, no activation after the classifier
  (gradlab's default);
- its earlier ``src/nn/ConvModel.py``: AnalogVNN's own ``Linear`` (whose backward reads the
  parametrized weight again, so the input gradient sees a fresh weight draw) and the activation
  after the logits too (``Placement.paper(chain, redraw_backward=True)``, ``logit_activation=True``).

The activation is the ReLU <-> GELU interpolation at i = 0.5 with its backward written by hand, as
the paper's ``ReLUGeLUInterpolation`` does (f' at its own input; ReLU'(0) = 0, SPEC section 7).
Dropout is 0 in both networks (their masks come from different generators).
"""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("analogvnn")

from analogvnn.fn.reduce_precision import reduce_precision  # noqa: E402
from analogvnn.nn.activation.Activation import Activation  # noqa: E402
from analogvnn.nn.Linear import Linear as AvnnLinear  # noqa: E402
from analogvnn.nn.module.FullSequential import FullSequential  # noqa: E402
from analogvnn.nn.noise.GaussianNoise import GaussianNoise  # noqa: E402
from analogvnn.nn.normalize.Clamp import Clamp  # noqa: E402
from analogvnn.nn.precision.ReducePrecision import ReducePrecision  # noqa: E402
from analogvnn.parameter.PseudoParameter import PseudoParameter  # noqa: E402
from torch import nn  # noqa: E402

import gradlab as gl  # noqa: E402
from gradlab import nn as gnn  # noqa: E402
from gradlab.nn.layers import SITES  # noqa: E402

P, LEAKAGE, MIX = 8, 0.5, 0.5
SIZES = [12, 8, 6, 4]  # every weight and bias shape distinct: a weight-model draw is known by its shape
TOL = 1e-8
VERSIONS = {"run_conv": dict(linear=nn.Linear, logits=False), "ConvModel": dict(linear=AvnnLinear, logits=True)}


class ReluGeluInterpolation(Activation):
    """relu + i (gelu - relu) as an AnalogVNN layer, its backward by hand: f' at the layer's own input."""

    def __init__(self, i: float):
        super().__init__()
        self.i = float(i)

    def forward(self, x):
        relu = torch.clamp_min(x, 0.0)
        return relu + self.i * (0.5 * x * (1 + torch.erf(x / math.sqrt(2))) - relu)

    def backward(self, grad_output):
        x = self.inputs
        d_gelu = 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        d_relu = (x > 0).to(x.dtype)  # ReLU'(0) = 0
        return grad_output * (d_relu + self.i * (d_gelu - d_relu))


@pytest.fixture(autouse=True)
def _seeded():
    """AnalogVNN's noise comes from torch's global generator: seeded here, the caller's state restored after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        yield


def _noise():
    return GaussianNoise(leakage=LEAKAGE, precision=P)


def analogvnn_fcn(gradlab_net, *, noise: bool, linear, logits: bool):
    """The paper's FCN in AnalogVNN with gradlab_net's initial weights; returns (net, weight model, layer index of
    every input-side and output-side GaussianNoise)."""
    modules, sites = [], {}
    n_layers = len(SIZES) - 1
    for k, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        modules += [Clamp(), ReducePrecision(precision=P)]
        if noise:
            modules.append(_noise())
            sites[modules[-1]] = (k, SITES["inputs"], 2)  # after Clamp and Quantize
        modules.append(linear(n_in, n_out))
        if noise:
            modules.append(_noise())
            sites[modules[-1]] = (k, SITES["outputs"], 0)  # gl.analog's order: the noise first
        modules += [Clamp(), ReducePrecision(precision=P)]
        if k < n_layers - 1 or logits:
            modules.append(ReluGeluInterpolation(MIX))
    net = FullSequential()
    net.add_sequence(*modules)
    weight_model = FullSequential()
    weight_model.add_sequence(Clamp(), ReducePrecision(precision=P), *([_noise()] if noise else []))
    weight_model.eval()
    theirs = [m for m in modules if isinstance(m, (nn.Linear, AvnnLinear))]
    ours = [m for m in gradlab_net.modules() if isinstance(m, gnn.AnalogLinear)]
    with torch.no_grad():
        for a, g in zip(theirs, ours):
            a.weight.copy_(g.weight)
            a.bias.copy_(g.bias)
    PseudoParameter.parametrize_module(net, transformation=weight_model)
    net.loss_function = nn.CrossEntropyLoss()
    net.compile()
    weight_model.compile()
    return net.double(), weight_model, sites, theirs


def gradlab_fcn(*, noise: bool, redraw: bool, logits: bool):
    chain = gl.analog(LEAKAGE, P, compat="analogvnn") if noise else gl.analog(precision=P, noise="none",
                                                                              compat="analogvnn")
    placement = gnn.Placement.paper(chain, redraw_backward=redraw)
    return gnn.paper_fcn(SIZES, f"relu_gelu(i={MIX})", placement=placement, dropout=0.0, logit_activation=logits,
                         seed=3).double()


class Recorder:
    """Forward hooks: the noise each GaussianNoise adds (output - input), per module and, for the weight model,
    per call in order."""

    def __init__(self, net, weight_model, sites):
        self.sites, self.by_module, self.weight_calls, self.handles = sites, {}, [], []
        for m in sites:
            self.handles.append(m.register_forward_hook(self._module_hook))
        for m in weight_model.modules():
            if isinstance(m, GaussianNoise):
                self.handles.append(m.register_forward_hook(self._weight_hook))
        self.clamp_inputs, self.activation_inputs = [], []
        for m in net.modules():
            if isinstance(m, Clamp):
                self.handles.append(m.register_forward_hook(lambda _m, i, o: self.clamp_inputs.append(i[0].detach())))
            if isinstance(m, ReluGeluInterpolation):
                self.handles.append(m.register_forward_hook(
                    lambda _m, i, o: self.activation_inputs.append(i[0].detach())))

    def _module_hook(self, module, inputs, output):
        self.by_module[module] = (output - inputs[0]).detach().clone()

    def _weight_hook(self, module, inputs, output):
        self.weight_calls.append((output - inputs[0]).detach().clone())

    def take_weight_calls(self):
        calls, self.weight_calls = self.weight_calls, []
        return calls

    def close(self):
        for h in self.handles:
            h.remove()


def _by_shape(calls, shape):
    return [c for c in calls if tuple(c.shape) == tuple(shape)]


def _replay(rec, theirs, forward_calls, backward_calls, *, avnn_linear: bool):
    """gradlab's sites -> the noise AnalogVNN added there. AnalogVNN 1.0.8's Linear reads a parameter through
    BackwardModule.__getattr__, whose hasattr() and getattr() each run the weight model: every read draws twice and
    the second draw is the one used (forward: bias read twice, weight once; backward: weight twice, bias once)."""
    noise = {rec.sites[m]: v for m, v in rec.by_module.items()}
    for k, lin in enumerate(theirs):
        w_shape, b_shape = lin.weight.shape, lin.bias.shape
        fw, fb = _by_shape(forward_calls, w_shape), _by_shape(forward_calls, b_shape)
        assert (len(fw), len(fb)) == ((2, 4) if avnn_linear else (1, 1))
        noise[(k, SITES["weights"], 2)], noise[(k, SITES["bias"], 2)] = fw[-1], fb[-1]
        bw = _by_shape(backward_calls, w_shape)
        if avnn_linear:
            assert (len(bw), len(_by_shape(backward_calls, b_shape))) == (4, 2)
            noise[(k, SITES["weights_backward"], 2)] = bw[1]
        else:
            assert not backward_calls  # torch's Linear: autograd keeps the forward pass's weight
    return noise


def _data(seed=0, n=16):
    g = torch.Generator().manual_seed(seed)
    x = 3 * torch.rand(n, SIZES[0], generator=g, dtype=torch.float64) - 1.5
    flat = x.view(-1)
    flat[::7] = (torch.arange(flat[::7].numel(), dtype=torch.float64) % 17 - 8 + 0.5) / P  # exact rounding ties
    flat[3::11] = 1.0  # the clamp's edge: its gradient passes there
    y = torch.randint(0, SIZES[-1], (n,), generator=g)
    return x, y


def _diff(a, b):
    return float((a.detach() - b.detach()).abs().max())


@pytest.mark.parametrize("noise", [False, True], ids=["noise-off", "shared-draw"])
@pytest.mark.parametrize("version", list(VERSIONS))
def test_one_training_step_matches_analogvnn(version, noise):
    spec = VERSIONS[version]
    avnn_linear = spec["linear"] is AvnnLinear
    ours = gradlab_fcn(noise=noise, redraw=avnn_linear, logits=spec["logits"])
    theirs, weight_model, sites, their_linears = analogvnn_fcn(ours, noise=noise, linear=spec["linear"],
                                                              logits=spec["logits"])
    rec = Recorder(theirs, weight_model, sites)
    x, y = _data()
    theirs.train()
    out_theirs = theirs(x.clone())
    forward_calls = rec.take_weight_calls()
    loss_theirs, _ = theirs.loss(out_theirs, y)
    theirs.backward()
    backward_calls = rec.take_weight_calls()

    # The step exercised what it should: clamps acting, ties, and activation inputs exactly at the kink.
    assert any(bool((c.abs() > 1).any()) for c in rec.clamp_inputs)
    assert sum(int((a == 0).sum()) for a in rec.activation_inputs) > 0

    if noise:
        ours.analog.draws = gnn.ReplayDraws(_replay(rec, their_linears, forward_calls, backward_calls,
                                                    avnn_linear=avnn_linear))
    ours.train()
    out_ours = ours(x.clone())
    loss_ours = nn.functional.cross_entropy(out_ours, y)
    loss_ours.backward()

    diffs = {"logits": _diff(out_ours, out_theirs), "loss": abs(float(loss_ours) - float(loss_theirs))}
    our_linears = [m for m in ours.modules() if isinstance(m, gnn.AnalogLinear)]
    for k, (a, g) in enumerate(zip(their_linears, our_linears)):
        pa, pb = a.parametrizations.weight.original, a.parametrizations.bias.original
        assert pa.grad is not None and g.weight.grad is not None
        diffs[f"dW{k}"] = _diff(g.weight.grad, pa.grad)
        diffs[f"db{k}"] = _diff(g.bias.grad, pb.grad)
    print(version, "noise" if noise else "no noise", {k: f"{v:.1e}" for k, v in diffs.items()})
    assert max(diffs.values()) <= TOL, diffs
    assert float(out_theirs.abs().max()) <= 1.0  # the logits pass the output chain's clamp
    rec.close()


@pytest.mark.parametrize("version", list(VERSIONS))
def test_eval_mode_keeps_the_noise_and_matches(version):
    spec = VERSIONS[version]
    ours = gradlab_fcn(noise=True, redraw=spec["linear"] is AvnnLinear, logits=spec["logits"])
    theirs, weight_model, sites, their_linears = analogvnn_fcn(ours, noise=True, linear=spec["linear"],
                                                              logits=spec["logits"])
    rec = Recorder(theirs, weight_model, sites)
    x, _ = _data(seed=1)
    theirs.eval()
    with torch.no_grad():
        out_theirs = theirs(x.clone())
    calls = rec.take_weight_calls()
    noise = {rec.sites[m]: v for m, v in rec.by_module.items()}
    for k, lin in enumerate(their_linears):
        noise[(k, SITES["weights"], 2)] = _by_shape(calls, lin.weight.shape)[-1]
        noise[(k, SITES["bias"], 2)] = _by_shape(calls, lin.bias.shape)[-1]
    ours.analog.draws = gnn.ReplayDraws(noise)
    ours.eval()
    with torch.no_grad():
        out_ours = ours(x.clone())
        ours.analog.noisy = False
        clean = ours(x.clone())
    assert _diff(out_ours, out_theirs) <= TOL
    assert _diff(clean, out_theirs) > 1e-3  # noise stays on at test time in both
    rec.close()


def test_an_adam_step_from_the_same_gradients_lands_on_the_same_weights():
    ours = gradlab_fcn(noise=False, redraw=False, logits=False)
    theirs, *_, their_linears = analogvnn_fcn(ours, noise=False, linear=nn.Linear, logits=False)
    theirs.optimizer = torch.optim.Adam(theirs.parameters(), lr=1e-3)  # as run_conv.py: every parameter
    mine = torch.optim.Adam(ours.parameters(), lr=1e-3)
    x, y = _data()
    for _ in range(3):
        theirs.train()
        theirs.optimizer.zero_grad()
        loss, _ = theirs.loss(theirs(x.clone()), y)
        theirs.backward()
        theirs.optimizer.step()
        mine.zero_grad()
        nn.functional.cross_entropy(ours(x.clone()), y).backward()
        mine.step()
    our_linears = [m for m in ours.modules() if isinstance(m, gnn.AnalogLinear)]
    for a, g in zip(their_linears, our_linears):
        assert _diff(a.parametrizations.weight.original, g.weight) <= TOL
        assert _diff(a.parametrizations.bias.original, g.bias) <= TOL


def _values(p: int, dtype):
    rng = np.random.default_rng(p)
    k = np.arange(-3 * p, 3 * p + 1)
    parts = [rng.normal(0, 1.5, 4000), (k + 0.5) / p, k / p, np.nextafter((k + 0.5) / p, np.inf),
             np.nextafter((k + 0.5) / p, -np.inf), [0.0, -0.0, 1e-300, -1e-300, 1e6, -1e6, 0.49 / p, -0.49 / p]]
    return torch.from_numpy(np.concatenate(parts)).to(dtype)


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit for bit, the sign of zero aside (AnalogVNN's sign(v) * ceil(...) gives -0.0 where |v| P < 1/2, v > 0)."""
    a, b = a + 0.0, b + 0.0  # -0.0 + 0.0 is +0.0
    view = torch.int64 if a.dtype == torch.float64 else torch.int32
    return a.dtype == b.dtype and torch.equal(a.view(view), b.view(view))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("p", [4, 8, 15, 16, 100, 255, 256])
def test_quantizer_agrees_bit_for_bit_with_reduce_precision(p, dtype):
    v = _values(p, dtype)
    assert torch.get_default_dtype() == torch.float32  # AnalogVNN's 1/precision is then a float32
    theirs = ReducePrecision(precision=p)(v)
    q = gl.Quantize(p, compat="analogvnn")
    assert _same_bits(gnn.quantize(v, q), theirs)
    assert _same_bits(reduce_precision(v, torch.tensor(p), torch.tensor(0.5)), theirs)
    chain = gnn.AnalogChain([q], (0,))
    assert _same_bits(chain(v, gnn.Draws(0)), theirs)
    if dtype == torch.float64:  # gradlab's own kernels, compat='analogvnn'
        assert _same_bits(torch.from_numpy(gl.chain(q).apply(v.numpy())), theirs)


@pytest.mark.parametrize("rounding", ["half_toward_zero", "half_even"])
@pytest.mark.parametrize("p", [4, 8, 15, 16, 100, 255, 256])
def test_quantizer_k_over_p_agrees_with_chain_apply(p, rounding):
    v = _values(p, torch.float64)
    q = gl.Quantize(p, rounding=rounding)
    kernel = torch.from_numpy(gl.chain(q).apply(v.numpy()))
    assert _same_bits(gnn.quantize(v, q), kernel)
    assert _same_bits(gnn.AnalogChain([q], (0,))(v, gnn.Draws(0)), kernel)
