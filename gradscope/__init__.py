"""gradscope: make vanishing and exploding gradients visible, measurable and explainable."""

from . import theory
from ._version import __version__
from .activations import ACTIVATIONS, ActivationFn, get_activation
from .compare import compare_configs, compare_runs, predicted_profile
from .config import RunConfig
from .datasets import DATASETS, Dataset, from_arrays, load_dataset
from .diagnosis import REMEDIES, Diagnosis, diagnose, diagnose_sweep, rank_remedies, try_fixes
from .errors import ConfigError, DataError, GradscopeError, ShapeError
from .explain import deep_chain, one_neuron, two_weights
from .grid import Sweep, load_sweep, parse_sweep
from .initializers import INITIALIZERS, get_initializer, initialize, variance_scaling
from .isometry import isometry_study
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
from .runner import RunResult, SweepResult, execute_run, run_single, run_sweep
from .theory import critical_sigma_w2, sigma_w2_of
from .theory import predict as theory_predict
from .train import History, train

__all__ = [
    # layers and networks
    "Layer", "Dense", "Activation", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU",
    "Softplus", "Linear", "BatchNorm", "LayerNorm", "Residual", "Sequential", "mlp",
    # hooks and recording
    "RemovableHandle", "HandleGroup", "register_hooks", "GradientRecorder",
    # registries and building blocks
    "ACTIVATIONS", "ActivationFn", "get_activation", "INITIALIZERS", "get_initializer",
    "initialize", "variance_scaling", "NORMS", "LOSSES", "Loss", "loss", "OPTIMIZERS",
    "Optimizer", "make_optimizer", "global_grad_norm", "DATASETS", "Dataset", "load_dataset",
    "from_arrays",
    # training and experiments
    "train", "History", "RunConfig", "Sweep", "load_sweep", "parse_sweep", "execute_run",
    "RunResult", "run_single", "run_sweep", "SweepResult", "build_report",
    # theory and explanation
    "theory", "theory_predict", "critical_sigma_w2", "sigma_w2_of", "JacobianSpectrum",
    "input_output_jacobian", "jacobian_spectrum", "spectrum_vs_depth", "isometry_study",
    "one_neuron",
    "two_weights", "deep_chain", "compare_runs", "compare_configs", "predicted_profile",
    # diagnosis
    "diagnose", "Diagnosis", "diagnose_sweep", "try_fixes", "REMEDIES", "rank_remedies",
    # errors
    "GradscopeError", "ConfigError", "DataError", "ShapeError",
    "__version__",
]
