"""The full tier's committed rows reproduce on this machine's CPU: one point trained again, compared value for value."""
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("mlxtend")

from gradlab.figures import ANALOG_FULL_SPECS, analog_full_path  # noqa: E402
from gradlab.sweeps.runner import run_point  # noqa: E402
from gradlab.sweeps.spec import load_spec  # noqa: E402


def test_the_committed_full_tier_has_every_point_of_its_specs():
    rows = pd.read_csv(analog_full_path())
    fcn, conv = (load_spec(ANALOG_FULL_SPECS[k]) for k in ("fcn", "convnet"))
    per_point = {"fcn": 5 * 2 * 10, "convnet": 5 * 2 * 5}  # activations x controls x epochs
    assert len(rows) == fcn.points * per_point["fcn"] + conv.points * per_point["convnet"]
    assert sorted(rows["precision"].unique()) == [8, 16, 32] and sorted(rows["depth"].unique()) == [1, 2, 3, 6]
    assert rows["test_accuracy"].between(0, 1).all()


def test_one_committed_point_trains_again_to_the_same_numbers():
    spec = load_spec(ANALOG_FULL_SPECS["fcn"])
    again = run_point(spec, (0, 0, 0))  # P = 8, one hidden layer, the first seed
    rows = pd.read_csv(analog_full_path())
    committed = rows[(rows["model"] == "fcn") & (rows["precision"] == 8) & (rows["depth"] == 1)
                     & (rows["replicate"] == 0)].reset_index(drop=True)
    columns = ["activation", "control", "epoch", "train_loss", "train_accuracy", "test_accuracy",
               "test_accuracy_clean"]
    # Written as CSV with float64's shortest repr, so equal values read back equal.
    pd.testing.assert_frame_equal(again[columns].reset_index(drop=True), committed[columns], check_dtype=False,
                                  rtol=0, atol=0)


def test_the_companion_full_tiers_hold_every_model_seed_and_level():
    from gradlab.figures import BITFLIP_SPECS, NOISE_SPECS, companion_full_path

    noise = pd.read_csv(companion_full_path("noise"))
    expected = 0
    for key, kw in NOISE_SPECS["full"].items():
        modes = len(kw.get("train", ["clean", "qat", "noisy"])) + len(kw.get("qat_bits", [4])) - 1  # a qat per width
        expected += len(kw["activations"]) * kw["seeds"] * modes * 7  # 7 noise levels
        part = noise[(noise["model"] == key.split("/")[0]) & (noise["train_noise"] == kw.get("train_noise", 0.1))]
        cells = part.groupby(["activation", "train", "qat_bits", "eval_noise"]).size()
        assert cells.eq(kw["seeds"]).all(), key
    assert len(noise) == expected
    flips = pd.read_csv(companion_full_path("bitflip"))
    for model, kw in BITFLIP_SPECS["full"].items():
        part = flips[flips["model"] == model]
        rules = kw.get("clipping", ["none", "relu6", "layer", "neuron", "hybrid", "proact"])
        assert sorted(part["clipping"].unique()) == sorted(rules) and (part["patterns"] == kw["patterns"]).all()
        assert len(part) == kw["seeds"] * len(rules) * 6, model  # 6 bit error rates
    for frame in (noise, flips):
        assert frame["test_accuracy"].between(0, 1).all()


def test_one_committed_companion_point_trains_again_to_the_same_numbers():
    import gradlab as gl
    from gradlab.figures import companion_full_path

    rows = pd.read_csv(companion_full_path("noise"))
    committed = rows[(rows["model"] == "mlp") & (rows["activation"] == "relu") & (rows["replicate"] == 0)
                     & (rows["qat_bits"] == 4)].reset_index(drop=True)
    again = gl.train_modes("relu", model="mlp", seed=int(committed["seed"].iloc[0]), epochs=10, qat_bits=4)
    pd.testing.assert_series_equal(again["test_accuracy"], committed["test_accuracy"], check_exact=True)
