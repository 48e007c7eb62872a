"""One scalar validator (`check_scalar`) behind every public numeric argument: same message."""

from __future__ import annotations

import pytest

import gradscope as gs
from gradscope.core.errors import ConfigError
from gradscope.core.validation import check_scalar
from gradscope.theory import NetShape, layer_predictions, moments

CASES = {
    "mlp-depth-str": (lambda: gs.mlp(2, 2, "3", 4), ["mlp's depth", "whole number", "'3'"]),
    "mlp-depth-fraction": (lambda: gs.mlp(2, 2, 2.5, 4), ["depth", "whole number", "2.5"]),
    "mlp-seed-negative": (lambda: gs.mlp(2, 2, 3, 4, seed=-1), ["seed", "≥ 0", "-1"]),
    "dense-zero": (lambda: gs.Dense(0, 3), ["fan_in", "≥ 1", "0"]),
    "train-steps": (lambda: gs.train(gs.mlp(2, 2, 1, 4), "xor", steps=-1), ["steps", "≥ 0"]),
    "optimizer-lr": (lambda: gs.make_optimizer("sgd", 0.0), ["lr", "> 0"]),
    "dataset-option": (lambda: gs.load_dataset("blobs", std=-1.0), ["dataset option std", "≥ 0"]),
    "theory-depth": (lambda: gs.theory_predict("relu", init="he", depth=0),
                     ["depth (--depth)", "≥ 1"]),
    "theory-variance": (lambda: gs.theory_predict("relu", sigma_w2=float("nan")),
                        ["sigma_w2", "≥ 0", "nan"]),
    "config-width": (lambda: gs.RunConfig(width=1.5), ["width", "whole number", "units per"]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_scalars_get_one_paragraph_naming_key_value_and_range(case) -> None:
    make, words = CASES[case]
    with pytest.raises(ConfigError) as info:
        make()
    message = str(info.value)
    assert all(w in message for w in words), message
    assert "\n" not in message and message.endswith((".", ")"))


def test_check_scalar_bounds_and_types() -> None:
    assert check_scalar(3.0, "n") == 3 and isinstance(check_scalar(3.0, "n"), int)
    assert check_scalar(2, "x", float, min_val=0, include_boundaries="neither") == 2.0
    with pytest.raises(ConfigError, match=r"x must be a number > 0 and ≤ 1, got 0\.0"):
        check_scalar(0.0, "x", float, min_val=0, max_val=1, include_boundaries="right")
    with pytest.raises(ConfigError, match="got True"):
        check_scalar(True, "n")


def test_theory_rejects_an_unknown_block_instead_of_predicting_nothing() -> None:
    net = NetShape([2.0] * 3, 0.0, [False] * 2)
    with pytest.raises(ConfigError, match='block = "groupnorm".*plain, residual, batchnorm'):
        layer_predictions(moments("relu"), net, "groupnorm")
