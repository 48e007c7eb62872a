"""Diagnosis of partial recordings: every subset of columns, never a crash and never a lie."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from gradscope.analysis.diagnosis import DIAGNOSES, LABELS, REMEDIES, RULES, SIGNALS, diagnose
from gradscope.recording.recorder import GradientRecorder

N = 11  # Dense layers; layer 10 is the output layer
FALLING = [10.0 ** (-0.5 * (N - 1 - layer)) for layer in range(N)]  # 10^-5 at layer 0
GROUPS = {  # the recorder's columns, grouped by what a partial log may lack
    "grad": {"grad_norm": FALLING, "grad_rms": FALLING, "grad_max_abs": FALLING},
    "bias_grad": {"bias_grad_norm": FALLING},
    "delta": {"delta_norm": FALLING},
    "weight": {"weight_norm": 1.0, "update_ratio": 0.01},
    "activation": {"act_mean": 0.1, "act_std": 0.5, "saturated_frac": 0.2, "dead_frac": 0.1},
    "fans": {"fan_in": 8, "fan_out": 8},
}
SUBSETS = [s for k in range(len(GROUPS) + 1) for s in itertools.combinations(GROUPS, k)]
CONFIG = {"activation": "tanh", "init": "xavier", "depth": N - 1, "width": 8}


def partial_frame(present: tuple[str, ...], absent_as: str) -> pd.DataFrame:
    """Two recorded steps of an 11-layer net whose every gradient falls 10^5 toward the input;
    the groups not in `present` are dropped ("drop") or NaN ("nan", as the recorder writes)."""
    steps = []
    for step in (0, 10):
        cols: dict[str, object] = {"step": step, "layer": range(N), "nonfinite": 0}
        for group, values in GROUPS.items():
            if group in present:
                cols.update(values)
            elif absent_as == "nan":
                cols.update(dict.fromkeys(values, np.nan))
        steps.append(pd.DataFrame(cols))
    return pd.concat(steps, ignore_index=True)


def _ids(subset: tuple[str, ...]) -> str:
    return "+".join(subset) or "nothing"


@pytest.mark.parametrize("absent_as", ["drop", "nan"])
@pytest.mark.parametrize("present", SUBSETS, ids=[_ids(s) for s in SUBSETS])
def test_every_subset_of_columns_is_diagnosed_honestly(present, absent_as) -> None:
    layers = partial_frame(present, absent_as)
    losses = pd.DataFrame({"step": [0, 1], "loss": [0.7, 0.7]})
    found = diagnose(layers, losses, CONFIG, final_loss=0.69)
    assert found.label in DIAGNOSES and found.finding.endswith(".")
    gradients = [c for c, group in (("delta_norm", "delta"), ("grad_norm", "grad"),
                                    ("bias_grad_norm", "bias_grad")) if group in present]
    if not gradients:
        assert found.label == "inconclusive" and found.evidence["signal"] == ""
        assert found.finding.startswith("Inconclusive:") and found.remedies == ()
        return
    used = gradients[0]  # δ first, then the weight gradients, then the bias gradients
    assert found.label == "vanishing" and found.evidence["signal"] == used
    assert found.evidence["signal_ratio_log10"] == pytest.approx(-5.0)
    assert found.first_bad_layer == 6  # −0.5 decades per layer: −2 reached 4 below the top
    noun = dict(SIGNALS)[used]
    assert f"the {noun} shrinks" in found.finding
    assert (f"evidence: the {noun}s ({used})" in found.finding) == (used != "delta_norm")
    if used != "delta_norm":  # δ's own numbers are not made up from another column
        assert np.isnan(found.evidence["delta_ratio_log10"])
        assert np.isnan(found.evidence["per_layer_ratio"])
        assert "mean-field theory" not in found.finding  # the theory predicts δ, not dL/dW


def test_a_frame_without_delta_whose_weight_gradient_falls_100x_is_not_healthy() -> None:
    """The case from issue 9: an update-time log (weight and bias gradients, no delta)."""
    grad = [10.0 ** (-2.0 * (4 - layer) / 4) for layer in range(5)]  # 100× smaller at layer 0
    layers = pd.DataFrame({"step": 0, "layer": range(5), "grad_norm": grad,
                           "bias_grad_norm": grad, "delta_norm": np.nan,
                           "fan_in": 8, "fan_out": 8})
    found = diagnose(layers)
    assert found.label == "vanishing"
    assert found.evidence["signal"] == "grad_norm"
    assert "evidence: the weight gradients (grad_norm)" in found.finding


def test_activation_statistics_decide_when_no_gradient_was_logged() -> None:
    layers = partial_frame(("activation",), "nan").assign(saturated_frac=0.9)
    found = diagnose(layers)
    assert found.label == "saturated" and found.first_bad_layer == N - 1
    assert "unmeasurable" in found.finding  # it says that it saw no gradient


def _logged(**which: bool) -> pd.DataFrame:
    """A recorder frame of a 4-layer hand-written net logged with only some quantities."""
    rng = np.random.default_rng(0)
    rec = GradientRecorder()
    for layer in range(4):
        scale = 10.0 ** (layer - 3)  # 1000× smaller at layer 0
        kwargs = {"bias_grad": scale * rng.standard_normal(6)} if which.get("bias") else {}
        if which.get("delta"):
            kwargs["delta"] = scale * rng.standard_normal((5, 6))
        rec.log(0, layer, **kwargs)
    return rec.to_frame()


@pytest.mark.parametrize("which", [{"bias": True}, {"delta": True}], ids=["bias-only",
                                                                             "delta-only"])
def test_a_recorder_frame_with_only_bias_gradients_or_only_delta_does_not_crash(which) -> None:
    layers = _logged(**which)
    assert layers["fan_in"].isna().all()  # no weight logged: the fans are unknown
    found = diagnose(layers, config={"activation": "relu", "init": "he", "depth": 3,
                                     "width": 6})
    assert found.label == "vanishing"
    assert found.evidence["signal"] == ("bias_grad_norm" if "bias" in which else "delta_norm")


def test_the_label_table_is_complete() -> None:
    """Every rule's label is in the table, every table label has a rule, remedies exist."""
    names = [label.name for label in LABELS]
    assert sorted(names) == sorted({rule.label for rule in RULES}) == sorted(DIAGNOSES)
    assert "inconclusive" in names and len({label.severity for label in LABELS}) == len(LABELS)
    assert all(r in REMEDIES for label in LABELS for r in label.remedies)
