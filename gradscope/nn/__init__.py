"""The numpy network: layers with PyTorch-style hooks, activations, initialisers, `mlp`."""

from gradscope.nn.activations import ACTIVATIONS, ActivationFn, get_activation
from gradscope.nn.gradcheck import GradcheckError, GradcheckResult, gradcheck
from gradscope.nn.initializers import (
    INITIALIZERS,
    Initializer,
    get_initializer,
    initialize,
    variance_scaling,
)
from gradscope.nn.layers import (
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
from gradscope.nn.mlp import NORMS, mlp

__all__ = [
    "ACTIVATIONS", "ActivationFn", "get_activation", "GradcheckError", "GradcheckResult",
    "gradcheck", "INITIALIZERS", "Initializer", "get_initializer", "initialize",
    "variance_scaling", "ELU", "GELU", "Activation", "BatchNorm", "Dense",
    "HandleGroup", "Layer", "LayerNorm", "LeakyReLU", "Linear", "ReLU", "RemovableHandle",
    "Residual", "Sequential", "Sigmoid", "Softplus", "Tanh", "register_hooks", "NORMS", "mlp",
]
