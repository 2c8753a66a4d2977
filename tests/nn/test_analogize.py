"""gnn.analogize: a user's model converted in a copy, what it reports, and that the copy computes what Blocks do."""
import warnings

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import gradlab as gl  # noqa: E402
from gradlab import nn as gnn  # noqa: E402

torch.set_num_threads(1)


def _mlp(seed=0, act=nn.ReLU):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 8), act(), nn.Dropout(0.25), nn.Linear(8, 6), act(),
                         nn.Linear(6, 3))


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}, [type(m) for m in model.modules()]


def test_the_users_model_is_left_unchanged():
    model = _mlp()
    params, kinds = _state(model)
    amodel = gnn.analogize(model, gl.analog(0.5, 16))
    with torch.no_grad():
        amodel.model[1].weight.add_(1.0)  # the copy's weights are its own
    amodel(torch.randn(5, 12)).sum().backward()
    after, kinds_after = _state(model)
    assert kinds_after == kinds and all(type(m) is not gnn.AnalogLinear for m in model.modules())
    assert all(torch.equal(params[k], after[k]) for k in params)
    assert all(p.grad is None for p in model.parameters())


def test_conversion_report_and_a_copy_that_computes_what_the_papers_blocks_compute():
    model = _mlp()
    amodel = gnn.analogize(model, gl.analog(0.5, 16), seed=3)
    frame = amodel.conversion.frame()
    assert frame.set_index("module")["action"].to_dict() == {
        "0": "kept", "1": "converted", "2": "converted", "3": "converted", "4": "converted", "5": "converted",
        "6": "converted"}
    assert frame.set_index("module").loc["2", "to"] == "ChainedActivation(relu)"
    assert amodel.conversion.traced and not amodel.conversion.problems()
    # a deterministic chain (no draws to line up): Linear -> chain -> ReLU computes what the paper's Block does
    chain = gl.chain(gl.Clamp(-1.0, 1.0), gl.Quantize(16))
    amodel = gnn.analogize(model, chain)
    net = gnn.paper_fcn([12, 8, 6, 3], "relu", chain, dropout=0.0, seed=0)
    with torch.no_grad():
        for block, linear in zip([net.layers[1], net.layers[2], net.layers[3]], [model[1], model[4], model[6]]):
            block.layer.weight.copy_(linear.weight)
            block.layer.bias.copy_(linear.bias)
    amodel.eval()  # dropout off (the paper's net has none here)
    x = torch.randn(7, 12)
    ours, theirs = amodel(x), net(x)
    assert torch.equal(ours, theirs)
    ours.square().sum().backward()
    theirs.square().sum().backward()
    assert torch.equal(amodel.model[1].weight.grad, net.layers[1].layer.weight.grad)
    assert torch.equal(amodel.model[6].bias.grad, net.layers[3].layer.bias.grad)
    assert amodel.model[1].weight.grad.abs().sum() > 0


def test_functional_calls_unknown_modules_and_kept_ones_are_reported_and_warned():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.gru = nn.GRU(3, 3)
            self.fc = nn.Linear(4 * 6 * 6, 5)

        def forward(self, x):
            return self.fc(F.relu(self.bn(self.conv(x))).flatten(1))

    with pytest.warns(UserWarning, match=r"gru \(GRU\).*F\.relu"):
        amodel = gnn.analogize(Net(), gl.analog(0.5, 16))
    conv = amodel.conversion
    assert conv.converted == ["conv", "fc"] and conv.unknown == ["gru"]
    assert conv.frame().set_index("module").loc["bn", "action"] == "kept"
    assert [r for r in conv.rows if r[2] == "functional"][0][1] == "F.relu"
    assert isinstance(amodel.model.conv, gnn.AnalogConv2d) and amodel.model.conv.padding == (1, 1)
    assert amodel(torch.randn(2, 1, 6, 6)).shape == (2, 5)


def test_a_model_forward_cannot_trace_is_said_to_be_unchecked():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = nn.Linear(4, 4), nn.GELU()

        def forward(self, x):
            return self.act(self.fc(x)) if x.sum() > 0 else self.fc(x)  # data-dependent: fx cannot trace

    with pytest.warns(UserWarning, match="could not be traced"):
        amodel = gnn.analogize(Branchy(), gl.analog(0.5, 16))
    assert not amodel.conversion.traced and amodel.conversion.converted == ["fc", "act"]


def test_activation_modules_map_to_gradlabs_forms_and_keep_their_parameters():
    model = nn.Sequential(nn.Linear(3, 3), nn.LeakyReLU(0.2), nn.Linear(3, 3), nn.GELU(approximate="tanh"),
                          nn.Linear(3, 3), nn.ELU(0.5), nn.Linear(3, 3), gnn.AnalogActivation("relu_gelu(i=0.25)"))
    amodel = gnn.analogize(model, gl.analog(0.5, 16))
    labels = [m.activation.act.label for m in amodel.modules() if isinstance(m, gnn.ChainedActivation)]
    assert labels == ["leaky_relu(alpha=0.2)", "gelu_tanh", "elu(alpha=0.5)", "relu_gelu(i=0.25)"]
    x = torch.linspace(-3, 3, 11, dtype=torch.float64)
    amodel.analog.noisy = False
    # f is torch's own: the chained activation computes what the module did
    for mine, theirs in zip([m for m in amodel.modules() if isinstance(m, gnn.ChainedActivation)][:3],
                            [nn.LeakyReLU(0.2), nn.GELU(approximate="tanh"), nn.ELU(0.5)]):
        assert torch.allclose(mine(x), theirs(x), atol=1e-12)


def test_a_shared_activation_module_draws_fresh_noise_at_each_call():
    act = nn.ReLU()
    model = nn.Sequential(nn.Linear(4, 4), act, nn.Linear(4, 4), act)
    amodel = gnn.analogize(model, gl.chain(gl.Gaussian(0.5)), placement="outputs", logit_chain=False)
    shared = [m for m in amodel.modules() if isinstance(m, gnn.ChainedActivation)]
    assert len({id(m) for m in shared}) == 1  # still one module
    seen = []
    shared[0].output_chain.register_forward_hook(lambda m, i, o: seen.append((o - i[0]).detach()))
    with torch.no_grad():
        model_in = torch.zeros(1, 4)
        amodel.model[0].weight.zero_(), amodel.model[0].bias.zero_()
        amodel.model[2].weight.zero_(), amodel.model[2].bias.zero_()
        amodel(model_in)
    assert len(seen) == 2 and not torch.equal(seen[0], seen[1])
    first = list(seen)
    seen.clear()
    with torch.no_grad():
        amodel(model_in)  # the same step again: the same two draws
    assert len(seen) == 2 and all(torch.equal(a, b) for a, b in zip(first, seen))


def test_bad_input_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="no Linear, Conv or activation module to convert; found 0 \\(Flatten\\)"):
        gnn.analogize(nn.Sequential(nn.Flatten()), gl.analog(0.5, 16))
    with pytest.raises(ValueError, match="placement must be one of paper, inputs, weights, outputs"):
        gnn.analogize(_mlp(), gl.analog(0.5, 16), placement="everywhere")
    with pytest.raises(ValueError, match="chain= is required"):
        gnn.analogize(_mlp())
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        gnn.analogize("relu", gl.analog(0.5, 16))
    with pytest.raises(ValueError, match="already an analog copy"):
        gnn.analogize(gnn.analogize(_mlp(), gl.analog(0.5, 16)), gl.analog(0.5, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a model with nothing left over warns nothing
        gnn.analogize(_mlp(), gl.analog(0.5, 16))
