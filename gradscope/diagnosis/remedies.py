"""REMEDIES: each fix is a RunConfig → RunConfig change with a reason, ranked per pathology.

A remedy applies to a config when it changes it (ReLU + He does nothing for a ReLU + He net) and
its condition holds (He initialisation is offered to ReLU-family nets, Xavier to the others).
RANKING orders them per label, most effective first by the literature: for a vanishing signal
the activation and the normalisation come first (a sigmoid net has no critical initialisation
at σ_b² = 0: χ₁ = σ_w²·E[σ'²] < 1 unless the units saturate), for an exploding or diverging one
the scale of the weights and of the steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..activations import ACTIVATIONS
from ..config import RunConfig
from ..registry import Registry


@dataclass(frozen=True)
class Remedy:
    """A named change of a run's config and why it helps."""

    name: str
    why: str
    change: Callable[[RunConfig], dict[str, Any]]  # the fields to replace
    when: Callable[[RunConfig], bool] = lambda cfg: True

    def apply(self, cfg: RunConfig) -> RunConfig | None:
        """The remedied config, or None when the remedy does not apply to `cfg`."""
        if not self.when(cfg):
            return None
        new = dataclasses.replace(cfg, **self.change(cfg))
        return None if new == cfg else new


def _family(cfg: RunConfig) -> str:
    return ACTIVATIONS.get(ACTIVATIONS.parse(cfg.activation).name).family


REMEDIES: Registry[Remedy] = Registry("remedy")


def _add(name: str, why: str, change: Callable[[RunConfig], dict[str, Any]],
         when: Callable[[RunConfig], bool] = lambda cfg: True) -> None:
    REMEDIES.add(name, Remedy(name, why, change, when), why)


_add("relu_he", "ReLU instead of a saturating activation, with He init: φ' = 1 on active units "
     "and σ_w² = 2 make the per-layer factor χ₁ = σ_w²/2 = 1",
     lambda cfg: {"activation": "relu", "init": "he"}, lambda cfg: _family(cfg) != "relu")
_add("he", "He initialisation (σ_w² = 2): χ₁ = 1 for ReLU-family units",
     lambda cfg: {"init": "he"}, lambda cfg: _family(cfg) == "relu")
_add("xavier", "Xavier initialisation (σ_w² = 1 on square layers): keeps the variance of "
     "tanh-like nets near the edge of chaos",
     lambda cfg: {"init": "xavier"}, lambda cfg: _family(cfg) != "relu")
_add("orthogonal", "orthogonal initialisation: every singular value of W is the gain, so W "
     "neither shrinks nor stretches any direction (dynamical isometry)",
     lambda cfg: {"init": "orthogonal:1.4142135623730951" if _family(cfg) == "relu"
                  else "orthogonal"})
_add("batchnorm", "batch normalisation: every pre-activation is rescaled to unit variance over "
     "the batch, so φ works in its sensitive range whatever the weights' scale",
     lambda cfg: {"norm": "batchnorm"})
_add("layernorm", "layer normalisation: each example's pre-activations rescaled to unit second "
     "moment (does not centre a sigmoid's positive mean across layers)",
     lambda cfg: {"norm": "layernorm"})
_add("residual", "residual connections x + f(x): the identity path carries the gradient past "
     "every block (factor 1 + χ per block instead of χ)", lambda cfg: {"residual": True})
_add("clip", "gradient clipping at global norm 1: bounds every step whatever the gradient",
     lambda cfg: {"clip": 1.0}, lambda cfg: cfg.clip == 0.0 or cfg.clip > 1.0)
_add("smaller_lr", "a 10× smaller learning rate: smaller steps cannot overshoot",
     lambda cfg: {"lr": cfg.lr / 10.0})

RANKING: Mapping[str, tuple[str, ...]] = {
    "vanishing": ("relu_he", "he", "batchnorm", "residual", "orthogonal", "xavier",
                  "layernorm"),
    "exploding": ("he", "xavier", "batchnorm", "clip", "smaller_lr", "orthogonal", "layernorm"),
    "saturated": ("relu_he", "xavier", "batchnorm", "layernorm", "smaller_lr"),
    "dead": ("he", "smaller_lr", "batchnorm", "orthogonal"),
    "diverged": ("clip", "smaller_lr", "he", "xavier", "batchnorm"),
    "healthy": (),
}


def rank_remedies(label: str, cfg: RunConfig | Mapping[str, Any] | None = None,
                  dims: tuple[int, int] | None = None) -> list[str]:
    """The remedies for pathology `label`, best first; with `cfg`, only those that apply.

    With `dims` (in_dim, out_dim of the net) the mean-field theory re-orders them: a remedy
    whose remedied config is still predicted beyond the band in the same direction
    (delta_ratio_log10 ≤ −BAND_LOG10 for vanishing, ≥ +BAND_LOG10 for exploding) moves to the end.
    """
    names = list(RANKING.get(label, ()))
    if cfg is None:
        return names
    if not isinstance(cfg, RunConfig):
        try:
            cfg = config_of(cfg)
        except Exception:  # a params mapping that is no longer a valid config: rank them all
            return names
    names = [n for n in names if REMEDIES.get(n).apply(cfg) is not None]
    sign = {"vanishing": -1.0, "exploding": 1.0}.get(label)
    if dims is None or sign is None:
        return names
    return sorted(names, key=lambda n: _still_bad(REMEDIES.get(n).apply(cfg), dims, sign))


def _still_bad(cfg: RunConfig, dims: tuple[int, int], sign: float) -> bool:
    """Whether the theory predicts `cfg` beyond the band on the side `sign` (False: unknown)."""
    from ..compare import prediction_for
    from .rules import BAND_LOG10

    pred = prediction_for(cfg.asdict(), *dims)
    return pred is not None and sign * pred.delta_ratio_log10 >= BAND_LOG10


def config_of(params: Mapping[str, Any]) -> RunConfig:
    """A RunConfig from a runs.csv row or a params mapping (extra columns ignored, NaN clip 0)."""
    from ..config import FIELD_NAMES

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
        if key == "residual" or key == "hist":
            value = str(value).strip().lower() in ("true", "1", "1.0")
        values[key] = value
    return RunConfig.from_dict(values)
