"""gradscope: make vanishing and exploding gradients visible, measurable and explainable."""

from . import theory
from ._version import __version__
from .activations import ACTIVATIONS, ActivationFn, get_activation
from .datasets import DATASETS, Dataset, from_arrays, load_dataset
from .errors import ConfigError, DataError, GradscopeError, ShapeError
from .explain import deep_chain, one_neuron, two_weights
from .initializers import INITIALIZERS, get_initializer, initialize, variance_scaling
from .jacobian import JacobianSpectrum, input_output_jacobian, jacobian_spectrum, spectrum_vs_depth
from .layers import (
    ELU,
    GELU,
    Activation,
    BatchNorm,
    Dense,
    HandleGroup,
    Layer,
    LayerNorm,
    LeakyReLU,
    Linear,
    ReLU,
    RemovableHandle,
    Residual,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
    register_hooks,
)
from .losses import LOSSES, Loss, loss
from .model import NORMS, mlp
from .optimizers import OPTIMIZERS, Optimizer, global_grad_norm, make_optimizer
from .recorder import GradientRecorder
from .report import build_report
from .theory import critical_sigma_w2, sigma_w2_of
from .theory import predict as theory_predict
from .train import History, train

__all__ = [
    "ACTIVATIONS", "DATASETS", "Dataset", "History", "LOSSES", "Loss", "OPTIMIZERS",
    "Optimizer", "from_arrays", "global_grad_norm", "load_dataset", "loss", "make_optimizer",
    "train", "build_report", "GradientRecorder", "theory", "theory_predict", "critical_sigma_w2", "sigma_w2_of",
    "JacobianSpectrum",
    "input_output_jacobian", "jacobian_spectrum", "spectrum_vs_depth", "deep_chain", "one_neuron",
    "two_weights", "ELU", "GELU", "INITIALIZERS", "NORMS", "Activation", "ActivationFn",
    "BatchNorm", "ConfigError", "DataError", "Dense", "GradscopeError", "HandleGroup", "Layer",
    "LayerNorm", "LeakyReLU", "Linear", "ReLU", "RemovableHandle", "Residual", "Sequential",
    "ShapeError", "Sigmoid", "Softplus", "Tanh", "__version__", "get_activation",
    "get_initializer", "initialize", "mlp", "register_hooks", "variance_scaling",
]
