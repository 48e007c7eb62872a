"""Mean-field theory of gradient propagation: q*, χ₁, depth scales and per-layer predictions."""

from gradscope.theory.correlation import Correlation, correlation, correlation_map
from gradscope.theory.critical import critical_sigma_w2
from gradscope.theory.finite_width import LogMoments, expected_range, layer_log_moments
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
    "BLOCKS", "Correlation", "LayerPrediction", "LogMoments", "Moments", "NetShape",
    "PiecewiseLinear", "Prediction", "chi", "chi1", "correlation", "correlation_map",
    "critical_sigma_w2", "expected_range", "depth_scale", "fixed_point",
    "gauss_hermite", "gaussian_expectation", "gh_expectation", "kinked_expectation",
    "layer_log_moments", "layer_predictions",
    "length_map", "moments", "predict", "predict_layers", "sinh_expectation", "sigma_w2_of",
]
