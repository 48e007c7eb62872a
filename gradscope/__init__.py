"""gradscope: make vanishing and exploding gradients visible, measurable and explainable.

The public names below load lazily (PEP 562): `import gradscope` costs almost nothing, and
`gradscope.Dense` imports only `gradscope.nn` (numpy). The layers of the package, lowest first
(see ARCHITECTURE.md): core ← nn ← recording ← training | theory ← analysis ← sweeps ←
plots | text ← report ← cli.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gradscope._version import __version__

# public name -> the module that defines it (`name:attr` when the attribute has another name)
_EXPORTS: dict[str, str] = {}


def _export(module: str, *names: str) -> None:
    for name in names:
        _EXPORTS[name] = module


# layers and networks
_export("gradscope.nn.layers", "Layer", "Dense", "Activation", "Sigmoid", "Tanh", "ReLU",
        "LeakyReLU", "ELU", "GELU", "Softplus", "Linear", "BatchNorm", "LayerNorm", "Residual",
        "Sequential", "RemovableHandle", "HandleGroup", "register_hooks")
_export("gradscope.nn.mlp", "mlp", "NORMS")
_export("gradscope.nn.activations", "ACTIVATIONS", "ActivationFn", "get_activation")
_export("gradscope.nn.initializers", "INITIALIZERS", "Initializer", "get_initializer",
        "initialize", "variance_scaling")
_export("gradscope.nn.gradcheck", "gradcheck", "GradcheckResult", "GradcheckError")
# recording
_export("gradscope.recording.recorder", "GradientRecorder")
_export("gradscope.text.layer_table", "layer_table")
# training
_export("gradscope.training.losses", "LOSSES", "Loss", "loss")
_export("gradscope.training.optimizers", "OPTIMIZERS", "Optimizer", "make_optimizer",
        "global_grad_norm")
_export("gradscope.training.datasets", "DATASETS", "Dataset", "load_dataset", "from_arrays")
_export("gradscope.training.loop", "train", "History")
# theory and analysis
_export("gradscope.theory", "critical_sigma_w2", "sigma_w2_of")
_EXPORTS["theory_predict"] = "gradscope.theory:predict"
_export("gradscope.analysis.measured_vs_theory", "compare_runs", "compare_configs",
        "predicted_profile")
_export("gradscope.analysis.jacobian", "JacobianSpectrum", "input_output_jacobian",
        "jacobian_spectrum", "spectrum_vs_depth")
_export("gradscope.analysis.chain_rule", "one_neuron", "two_weights", "deep_chain")
_export("gradscope.analysis.diagnosis", "diagnose", "Diagnosis", "REMEDIES", "rank_remedies")
# experiments
_export("gradscope.sweeps.config", "RunConfig")
_export("gradscope.sweeps.grid", "Sweep", "load_sweep", "parse_sweep")
_export("gradscope.sweeps.run", "RunResult", "execute_run")
_export("gradscope.sweeps.sweep", "SweepResult", "run_sweep", "run_single")
_export("gradscope.sweeps.tryfix", "try_fixes")
_export("gradscope.sweeps.results", "diagnose_sweep")
_export("gradscope.report", "build_report")
_export("gradscope.report.spectrum", "isometry_study")
_export("gradscope.export", "export_tensorboard", "write_frame")
_export("gradscope.plots.profile", "recording_profile")
_export("gradscope.recording.table_html", "layer_table_html")
# errors
_export("gradscope.core.errors", "GradscopeError", "ConfigError", "DataError", "ShapeError")

_SUBMODULES = ("theory", "plots", "nn", "recording", "training", "analysis", "sweeps", "report",
               "text", "cli", "core", "export")

__all__ = [*_EXPORTS, "theory", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, _, attr = _EXPORTS[name].partition(":")
        value = getattr(importlib.import_module(module), attr or name)
        globals()[name] = value  # cached: the next lookup is a plain attribute
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"gradscope.{name}")
    raise AttributeError(f"module 'gradscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # static tools see the eager imports
    from gradscope import theory  # noqa: F401
    from gradscope.analysis.chain_rule import deep_chain, one_neuron, two_weights  # noqa: F401
    from gradscope.analysis.diagnosis import (  # noqa: F401
        REMEDIES,
        Diagnosis,
        diagnose,
        rank_remedies,
    )
    from gradscope.analysis.jacobian import (  # noqa: F401
        JacobianSpectrum,
        input_output_jacobian,
        jacobian_spectrum,
        spectrum_vs_depth,
    )
    from gradscope.analysis.measured_vs_theory import (  # noqa: F401
        compare_configs,
        compare_runs,
        predicted_profile,
    )
    from gradscope.core.errors import ConfigError, DataError, GradscopeError, ShapeError  # noqa
    from gradscope.nn.activations import ACTIVATIONS, ActivationFn, get_activation  # noqa: F401
    from gradscope.nn.gradcheck import GradcheckError, GradcheckResult, gradcheck  # noqa: F401
    from gradscope.nn.initializers import (  # noqa: F401
        INITIALIZERS,
        Initializer,
        get_initializer,
        initialize,
        variance_scaling,
    )
    from gradscope.nn.layers import (  # noqa: F401
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
    from gradscope.nn.mlp import NORMS, mlp  # noqa: F401
    from gradscope.recording.recorder import GradientRecorder  # noqa: F401
    from gradscope.report import build_report  # noqa: F401
    from gradscope.report.spectrum import isometry_study  # noqa: F401
    from gradscope.sweeps.config import RunConfig  # noqa: F401
    from gradscope.sweeps.grid import Sweep, load_sweep, parse_sweep  # noqa: F401
    from gradscope.sweeps.results import diagnose_sweep  # noqa: F401
    from gradscope.sweeps.run import RunResult, execute_run  # noqa: F401
    from gradscope.sweeps.sweep import SweepResult, run_single, run_sweep  # noqa: F401
    from gradscope.sweeps.tryfix import try_fixes  # noqa: F401
    from gradscope.text.layer_table import layer_table  # noqa: F401
    from gradscope.theory import critical_sigma_w2, sigma_w2_of  # noqa: F401
    from gradscope.theory import predict as theory_predict  # noqa: F401
    from gradscope.training.datasets import DATASETS, Dataset, from_arrays, load_dataset  # noqa
    from gradscope.training.loop import History, train  # noqa: F401
    from gradscope.training.losses import LOSSES, Loss, loss  # noqa: F401
    from gradscope.training.optimizers import (  # noqa: F401
        OPTIMIZERS,
        Optimizer,
        global_grad_norm,
        make_optimizer,
    )
