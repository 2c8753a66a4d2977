"""The committed layer_diagnostics rows: complete, in agreement with the prediction, and reproducible on this CPU."""
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("mlxtend")

from gradlab.diagnostics.study import diagnose_paper_networks  # noqa: E402
from gradlab.figures import LAYER_DIAGNOSTICS, layer_diagnostics_path  # noqa: E402


@pytest.fixture(scope="module")
def committed():
    return pd.read_csv(layer_diagnostics_path(), keep_default_na=True)


def test_every_activation_layer_of_both_networks_agrees_with_the_prediction(committed):
    z = committed[committed["metric"] == "z"]
    counts = z.groupby(["network", "activation"]).size().to_dict()
    assert counts == {("ConvNet", "gelu"): 8, ("ConvNet", "relu"): 8, ("FCN", "gelu"): 2, ("FCN", "relu"): 2}
    assert (z["value"].abs() <= 4).all()
    cos = committed[(committed["metric"] == "cosine_exact") & (committed["kind"] == "parameters")]
    assert cos["value"].between(0, 1).all()
    # the finding the figure shows: ReLU's gradient error turns the gradient further from the exact-f' one
    first = cos.groupby(["network", "activation"])["value"].first().unstack()
    assert (first["relu"] < first["gelu"] - 0.1).all()


def test_the_fcn_rows_train_again_to_the_same_numbers(committed):
    again = diagnose_paper_networks(["relu"], networks=["FCN"], **{k: v for k, v in LAYER_DIAGNOSTICS.items()
                                                                   if k != "activations"})
    mine = committed[(committed["network"] == "FCN") & (committed["activation"] == "relu")].reset_index(drop=True)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), mine, check_dtype=False, rtol=1e-12, atol=1e-15)
