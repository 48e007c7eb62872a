"""REMEDIES: each fix is a change of a run's parameters with a reason, ranked per pathology.

A remedy reads a run's parameters as a mapping (a `RunConfig`'s `asdict()` or a runs.csv row)
and names the fields to replace; `Remedy.apply` returns a config of the same kind.

A remedy applies to a config when it changes it (ReLU + He does nothing for a ReLU + He net) and
its condition holds (He initialisation is offered to ReLU-family nets, Xavier to the others).
Each label of `labels.LABELS` orders them (RANKING), most effective first by the literature:
for a vanishing signal the activation and the normalisation come first (a sigmoid net has no
critical initialisation at σ_b² = 0: χ₁ = σ_w²·E[σ'²] < 1 unless the units saturate), for an
exploding or diverging one the scale of the weights and of the steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gradscope.analysis.diagnosis.labels import LABELS
from gradscope.analysis.diagnosis.rules import BAND_LOG10
from gradscope.analysis.measured_vs_theory import prediction_for
from gradscope.core.errors import GradscopeError
from gradscope.core.registry import Registry
from gradscope.core.validation import as_bool
from gradscope.nn.activations import ACTIVATIONS


@dataclass(frozen=True)
class Remedy:
    """A named change of a run's config and why it helps."""

    name: str
    why: str
    change: Callable[[Params], dict[str, Any]]  # the fields to replace
    when: Callable[[Params], bool] = lambda p: True
    needs: tuple[str, ...] = ()  # parameters `change`/`when` read: unknown → not offered

    def changes(self, cfg: Any) -> dict[str, Any] | None:
        """The fields this remedy replaces in `cfg` (a config or a mapping), or None when it
        does not apply or would change nothing."""
        p = params_of(cfg)
        if not self.when(p):
            return None
        new = self.change(p)
        return None if all(_same(p.get(k), v) for k, v in new.items()) else new

    def apply(self, cfg: Any) -> Any:
        """The remedied config (a dataclass config stays one, a mapping becomes a new dict), or
        None when the remedy does not apply to `cfg`."""
        new = self.changes(cfg)
        if new is None:
            return None
        if dataclasses.is_dataclass(cfg):
            return dataclasses.replace(cfg, **new)
        return {**params_of(cfg), **new}


Params = Mapping[str, Any]


def params_of(cfg: Any) -> dict[str, Any]:
    """A run's parameters as a plain dict, from a RunConfig or a mapping (a runs.csv row):
    `clip` NaN (no clipping) reads as 0, `residual` as a bool."""
    p = dict(cfg.asdict() if hasattr(cfg, "asdict") else cfg)
    clip = p.get("clip", 0.0)
    p["clip"] = 0.0 if clip is None or clip != clip else float(clip)
    p["residual"] = as_bool(p.get("residual", False))
    return p


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b or (isinstance(a, int | float) and not isinstance(
        a, bool) and isinstance(b, int | float) and not isinstance(b, bool) and a == b)


def _family(p: Params) -> str:
    return ACTIVATIONS.get(ACTIVATIONS.parse(str(p["activation"])).name).family


REMEDIES: Registry[Remedy] = Registry("remedy")


def _add(name: str, why: str, change: Callable[[Params], dict[str, Any]],
         when: Callable[[Params], bool] = lambda p: True, needs: tuple[str, ...] = ()) -> None:
    REMEDIES.add(name, Remedy(name, why, change, when, needs), why)


def _known(params: Params, key: str) -> bool:
    value = params.get(key)
    return value is not None and value == value and str(value) not in ("", "nan", "None")


_add("relu_he", "ReLU instead of a saturating activation, with He init: φ' = 1 on active units "
     "and σ_w² = 2 make the per-layer factor χ₁ = σ_w²/2 = 1",
     lambda cfg: {"activation": "relu", "init": "he"}, lambda cfg: _family(cfg) != "relu",
     needs=("activation",))
_add("he", "He initialisation (σ_w² = 2): χ₁ = 1 for ReLU-family units",
     lambda cfg: {"init": "he"}, lambda cfg: _family(cfg) == "relu", needs=("activation",))
_add("xavier", "Xavier initialisation (σ_w² = 1 on square layers): keeps the variance of "
     "tanh-like nets near the edge of chaos",
     lambda cfg: {"init": "xavier"}, lambda cfg: _family(cfg) != "relu", needs=("activation",))
_add("orthogonal", "orthogonal initialisation: every singular value of W is the gain, so W "
     "neither shrinks nor stretches any direction (dynamical isometry)",
     lambda cfg: {"init": "orthogonal:1.4142135623730951" if _family(cfg) == "relu"
                  else "orthogonal"}, needs=("activation",))
_add("batchnorm", "batch normalisation: every pre-activation is rescaled to unit variance over "
     "the batch, so φ works in its sensitive range whatever the weights' scale",
     lambda cfg: {"norm": "batchnorm"})
_add("layernorm", "layer normalisation: each example's pre-activations rescaled to unit second "
     "moment (does not centre a sigmoid's positive mean across layers)",
     lambda cfg: {"norm": "layernorm"})
_add("residual", "residual connections x + f(x): the identity path carries the gradient past "
     "every block (factor 1 + χ per block instead of χ)", lambda cfg: {"residual": True})
_add("clip", "gradient clipping at global norm 1: bounds every step whatever the gradient",
     lambda cfg: {"clip": 1.0}, lambda cfg: cfg["clip"] == 0.0 or cfg["clip"] > 1.0)
_add("smaller_lr", "a 10× smaller learning rate: smaller steps cannot overshoot",
     lambda cfg: {"lr": float(cfg["lr"]) / 10.0}, needs=("lr",))

RANKING: Mapping[str, tuple[str, ...]] = {label.name: label.remedies for label in LABELS}


def rank_remedies(label: str, cfg: Any = None,
                  dims: tuple[int, int] | None = None) -> list[str]:
    """The remedies for pathology `label`, best first; with `cfg` (a RunConfig or a runs.csv
    row), only those that apply.

    A remedy that reads a parameter the config does not know (`Remedy.needs`: e.g. the
    activation of a PyTorch model followed by a nonlinearity gradscope does not recognise) is
    not offered: which initialisation suits a net depends on its activation (`left_out`).

    With `dims` (in_dim, out_dim of the net) the mean-field theory re-orders them: a remedy
    whose remedied config is still predicted beyond the band in the same direction
    (delta_ratio_log10 ≤ −BAND_LOG10 for vanishing, ≥ +BAND_LOG10 for exploding) moves to the end.
    """
    names = list(RANKING.get(label, ()))
    if cfg is None:
        return names
    try:
        params = params_of(cfg)
        names = [n for n in names if all(_known(params, k) for k in REMEDIES.get(n).needs)]
        changes = {n: REMEDIES.get(n).changes(params) for n in names}
    except (GradscopeError, KeyError, TypeError, ValueError):  # not a usable config: rank all
        return names
    names = [n for n in names if changes[n] is not None]
    sign = {"vanishing": -1.0, "exploding": 1.0}.get(label)
    if dims is None or sign is None:
        return names
    return sorted(names, key=lambda n: _still_bad({**params, **changes[n]}, dims, sign))


def left_out(label: str, cfg: Any) -> dict[str, tuple[str, ...]]:
    """The remedies of `label` not offered for `cfg` because it lacks a parameter they read:
    {remedy: the unknown parameters} (empty without a config)."""
    if cfg is None:
        return {}
    params = params_of(cfg)
    out = {}
    for name in RANKING.get(label, ()):
        missing = tuple(k for k in REMEDIES.get(name).needs if not _known(params, k))
        if missing:
            out[name] = missing
    return out


def _still_bad(params: Params, dims: tuple[int, int], sign: float) -> bool:
    """Whether the theory predicts `params` beyond the band on the side `sign` (False: unknown)."""
    pred = prediction_for(params, *dims)
    return pred is not None and sign * pred.delta_ratio_log10 >= BAND_LOG10
