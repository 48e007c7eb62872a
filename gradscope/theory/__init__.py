"""Mean-field theory of gradient propagation: q*, χ₁, depth scales and per-layer predictions."""

from gradscope.theory.critical import critical_sigma_w2
from gradscope.theory.init_variance import sigma_w2_of
from gradscope.theory.layers import BLOCKS, LayerPrediction, NetShape, layer_predictions
from gradscope.theory.meanfield import chi, chi1, depth_scale, fixed_point, length_map
from gradscope.theory.moments import Moments, PiecewiseLinear, moments
from gradscope.theory.predict import Prediction, predict, predict_layers
from gradscope.theory.quadrature import (
    gauss_hermite,
    gaussian_expectation,
    gh_expectation,
    kinked_expectation,
    sinh_expectation,
)

__all__ = [
    "BLOCKS", "LayerPrediction", "Moments", "NetShape", "PiecewiseLinear",
    "Prediction", "chi", "chi1", "critical_sigma_w2", "depth_scale", "fixed_point",
    "gauss_hermite", "gaussian_expectation", "gh_expectation", "kinked_expectation",
    "layer_predictions",
    "length_map", "moments", "predict", "predict_layers", "sinh_expectation", "sigma_w2_of",
]
