"""`RunConfig`: one run's parameters as a frozen dataclass, validated against the registries.

`asdict()` of a config is both the set of run-parameter columns of runs.csv and the per-run
config saved beside its results; `run_id` is a short hash of its canonical JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gradscope.core.errors import ConfigError
from gradscope.core.registry import did_you_mean
from gradscope.core.validation import as_bool, check_scalar
from gradscope.training.datasets import load_dataset
from gradscope.training.registries import BY_FIELD, check_name

DTYPES = ("float64", "float32")


def _f(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run; equal configs give bit-identical results.

    A field named in `gradscope.training.registries.BY_FIELD` takes a name of that registry.
    """

    depth: int = _f(8, "number of hidden Dense+activation blocks", min=1)
    width: int = _f(64, "units per hidden layer", min=1)
    activation: str = _f("relu", "hidden activation (see `gradscope list`)")
    init: str = _f("he", "weight initialiser, NAME or NAME:PARAM (e.g. normal:0.01)")
    bias_init: str = _f("zeros", "bias initialiser: zeros, or an init NAME[:PARAM] whose entry "
                        "distribution the biases are drawn from (normal:S: std S, σ_b² = S²)",
                        added=True)
    norm: str = _f("none", "normalisation after each hidden Dense")
    residual: bool = _f(False, "wrap each hidden block as x + block(x)")
    dataset: str = _f("spirals", "dataset name or csv:PATH")
    target: str = _f("", "csv:PATH only: the target column, by header name or 0-based index "
                     "(default: the last column)")
    n_samples: int = _f(512, "number of examples generated (ignored for csv:PATH)", min=1)
    data_seed: int = _f(0, "seed of the dataset (kept apart from `seed`)", min=0)
    loss: str = _f("auto", "loss (auto: cross_entropy for classes, mse for regression)")
    optimizer: str = _f("sgd", "optimiser")
    lr: float = _f(0.1, "learning rate", gt=0.0)
    steps: int = _f(200, "number of training steps (mini-batches)", min=1)
    batch_size: int = _f(64, "examples per mini-batch", min=1)
    clip: float = _f(0.0, "clip gradients to this global L2 norm (0 = off)", ge=0.0)
    seed: int = _f(0, "seed of the weights and the mini-batch order", min=0)
    record_every: int = _f(10, "record per-layer statistics every N steps (step 0 always)",
                           min=1)
    hist: bool = _f(False, "also record per-layer histograms (hist.csv)")
    dtype: str = _f("float64", "floating-point precision of weights and activations",
                    choices=DTYPES)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, check_value(f.name, getattr(self, f.name)))
        if self.target:
            _check_target(self.dataset, self.target)

    def dataset_options(self) -> dict[str, Any]:
        """Keyword options for `load_dataset` (the CSV target column, when one is given)."""
        return {"target": target_key(self.target)} if self.target else {}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, where: str = "") -> RunConfig:
        """Build a config from a mapping, rejecting unknown keys with a did-you-mean."""
        unknown = [k for k in values if k not in FIELD_NAMES]
        if unknown:
            key = unknown[0]
            raise ConfigError(
                f"Unknown run parameter {key!r}{_where(where)}.{did_you_mean(key, FIELD_NAMES)} "
                f"Valid parameters: {', '.join(FIELD_NAMES)}."
            )
        return cls(**dict(values))

    def asdict(self) -> dict[str, Any]:
        """The run parameters as a plain dict (field order), the CSV columns of runs.csv."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @property
    def run_id(self) -> str:
        """Stable 12-hex-digit id: the same parameters give the same id in every sweep.

        A parameter added after 0.1 (metadata `added`) enters the hash only when it differs
        from its default, so the runs of older configs keep their ids (and their results).
        """
        values = {k: v for k, v in self.asdict().items()
                  if not (FIELDS[k].metadata.get("added") and v == FIELDS[k].default)}
        canonical = json.dumps(values, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def label(self) -> str:
        """A short human-readable description, e.g. `sigmoid/normal:0.01 depth 16 seed 0`."""
        extras = []
        if self.bias_init != FIELDS["bias_init"].default:
            extras.append(f"bias {self.bias_init}")
        if self.norm != "none":
            extras.append(self.norm)
        if self.residual:
            extras.append("residual")
        if self.clip:
            extras.append(f"clip {self.clip:g}")
        more = f" {' '.join(extras)}" if extras else ""
        return (f"{self.activation}/{self.init} depth {self.depth} width {self.width}{more} "
                f"seed {self.seed}")


FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
FIELD_NAMES = list(FIELDS)


def _where(where: str) -> str:
    return f" in {where}" if where else ""


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
        type(value), type(value).__name__)


def _check_field(f: dataclasses.Field, value: Any) -> Any:
    """Coerce and check one value against its field's type and bounds."""
    kind, meta, key = f.type, f.metadata, f.name
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r} ({_type_name(value)}).")
        return value
    if kind == "int":
        return check_scalar(value, key, int, min_val=meta.get("min"), hint=f"({meta['help']})")
    if kind == "float":
        if key == "clip" and value is None:
            return 0.0
        low = meta.get("gt", meta.get("ge"))
        return check_scalar(value, key, float, min_val=low,
                            include_boundaries="neither" if "gt" in meta else "both",
                            hint=f"({meta['help']})")
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, got {value!r} ({_type_name(value)}).")
    value = value.strip()
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(
            f'Unknown {key} = "{value}".{did_you_mean(value, list(meta["choices"]))} '
            f"Valid choices: {', '.join(meta['choices'])}.")
    return value


def check_value(key: str, value: Any) -> Any:
    """Check one run parameter (type, bounds, registry name) and return it canonicalised."""
    if key not in FIELDS:
        raise ConfigError(
            f"Unknown run parameter {key!r}.{did_you_mean(key, FIELD_NAMES)} "
            f"Valid parameters: {', '.join(FIELD_NAMES)}.")
    value = _check_field(FIELDS[key], value)
    if key in BY_FIELD:
        check_name(key, value)
    return value


def target_key(target: str) -> str | int:
    """A target given as digits is a 0-based column index, anything else a header name."""
    return int(target) if target.lstrip("-").isdigit() else target


def _check_target(dataset: str, target: str) -> None:
    if not dataset.startswith("csv:"):
        raise ConfigError(
            f'target = "{target}" applies only to a csv:PATH dataset, but dataset = '
            f'"{dataset}" generates its own targets; remove target or use dataset = "csv:FILE".'
        )
    load_dataset(dataset, target=target_key(target))  # an unknown column is reported here


def config_of(params: Mapping[str, Any]) -> RunConfig:
    """A RunConfig from a runs.csv row or a params mapping (extra columns ignored, NaN clip 0)."""
    values = {}
    for key in FIELD_NAMES:
        if key not in params:
            continue
        value = params[key]
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and value != value:
            if key == "clip":
                value = 0.0
            else:
                continue
        if FIELDS[key].type == "bool":
            value = as_bool(value)
        values[key] = value
    return RunConfig.from_dict(values)
