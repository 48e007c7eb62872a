"""gradscope: make vanishing and exploding gradients visible, measurable and explainable.

The public names below load lazily (PEP 562): `import gradscope` costs almost nothing, and
`gradscope.Dense` imports only `gradscope.nn` (numpy). The layers of the package, lowest first
(see ARCHITECTURE.md): core ← nn ← recording ← training | theory ← analysis ← sweeps ←
plots | text ← report ← cli.
"""

from __future__ import annotations

import importlib
from typing import Any

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
_export("gradscope.nn.bias_init", "BIAS_INITIALIZERS", "initialize_bias", "bias_variance")
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
_export("gradscope.ensemble.train", "train_ensemble", "Member")
# theory and analysis
_export("gradscope.theory", "critical_sigma_w2", "sigma_w2_of", "predict_layers")
_EXPORTS["theory_predict"] = "gradscope.theory:predict"
_export("gradscope.analysis.measured_vs_theory", "compare_runs", "compare_configs",
        "predicted_profile", "weights_prediction")
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
_export("gradscope.export", "export_tensorboard", "write_frame", "TensorBoardListener")
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
