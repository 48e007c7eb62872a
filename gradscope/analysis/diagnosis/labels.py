"""The diagnosis labels: one table read by the rules, the sweep summary, the report, the plots,
the terminal and `gradscope list`.

Each `Label` says what the word means, how severe it is (seeds that disagree are summarised by
the most common label, ties going to the more severe), which remedies help it (best first, names
of `remedies.REMEDIES`) and the finding sentence written for a run that gets it. `LABELS` is in
display order (pathologies first). When the label fires is the business of `rules.RULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gradscope.analysis.diagnosis.evidence import Evidence
from gradscope.analysis.diagnosis.phrases import imbalance, outcome, received, transient, trend
from gradscope.analysis.diagnosis.rules import Verdict


@dataclass(frozen=True)
class Label:
    """A diagnosis: its name, meaning, severity (0 = most severe), remedies and sentence."""

    name: str
    severity: int
    meaning: str
    remedies: tuple[str, ...]
    finding: Callable[[Evidence, Verdict], str]


def _diverged(ev: Evidence, v: Verdict) -> str:
    where = (f"at step {ev.first_nonfinite_step}" if ev.first_nonfinite_step is not None
             else f"({ev.nonfinite} non-finite gradient values recorded)")
    at = f", first at layer {v.first_bad_layer}" if v.first_bad_layer is not None else ""
    return (f"Diverged: the loss or a gradient became non-finite {where}{at}; before that "
            f"{received(ev)}.")


def _imbalance(ev: Evidence, v: Verdict) -> str:
    return f"{v.label.capitalize()}: {imbalance(ev, v)}{trend(ev)}; {outcome(ev)}."


def _share(what: str, share: Callable[[Evidence], tuple[float, int]]):
    def sentence(ev: Evidence, v: Verdict) -> str:
        value, step = share(ev)
        at = f" (from layer {v.first_bad_layer} down)" if v.first_bad_layer is not None else ""
        return (f"{v.label.capitalize()}: {value:.0%} of hidden units {what} at step {step}"
                f"{at}, although {received(ev)}{transient(ev, v)}; {outcome(ev)}.")

    return sentence


def _inconclusive(ev: Evidence, v: Verdict) -> str:
    rows = f"{ev.n_layers} layer rows" if ev.n_layers else "no layer rows"
    return (f"Inconclusive: the recording ({rows} at step {ev.first_step}) holds no gradient "
            "that can be compared between layer 0 and the output layer: delta_norm, grad_norm "
            "and bias_grad_norm are missing, or not finite and positive at both ends, at every "
            "recorded step; record delta (dL/dz) or the weight gradients of every layer to "
            f"decide; {outcome(ev)}.")


def _healthy(ev: Evidence, v: Verdict) -> str:
    tail = transient(ev, v) or trend(ev)
    return f"Healthy: {received(ev)}{tail}; {outcome(ev)}."


LABELS: tuple[Label, ...] = (
    Label("vanishing", 2, "the gradient shrinks on its way down: layer 0 gets ≤ 1% of the "
          "output layer's", ("relu_he", "he", "batchnorm", "residual", "orthogonal", "xavier",
                             "layernorm"), _imbalance),
    Label("exploding", 1, "the gradient grows on its way down: layer 0 gets ≥ 100× the output "
          "layer's", ("he", "xavier", "batchnorm", "clip", "smaller_lr", "orthogonal",
                      "layernorm"), _imbalance),
    Label("saturated", 3, "half the sigmoid/tanh units sit where φ' < 1% of its maximum",
          ("relu_he", "xavier", "batchnorm", "layernorm", "smaller_lr"),
          _share("sit where φ' < 1% of its maximum",
                 lambda ev: (ev.saturated_frac, ev.saturated_step))),
    Label("dead", 4, "half the ReLU-family units are inactive for the whole batch",
          ("he", "smaller_lr", "batchnorm", "orthogonal"),
          _share("are inactive for the whole batch", lambda ev: (ev.dead_frac, ev.dead_step))),
    Label("diverged", 0, "the loss or a gradient became NaN or infinite",
          ("clip", "smaller_lr", "he", "xavier", "batchnorm"), _diverged),
    Label("inconclusive", 5, "too little evidence to decide: no gradient comparable across "
          "layers", (), _inconclusive),
    Label("healthy", 6, "the gradient stays within 10^±2 of the output layer's everywhere",
          (), _healthy),
)
BY_NAME: dict[str, Label] = {label.name: label for label in LABELS}
DIAGNOSES: tuple[str, ...] = tuple(BY_NAME)  # display order
SEVERITY: tuple[str, ...] = tuple(sorted(BY_NAME, key=lambda name: BY_NAME[name].severity))


def severity(name: str) -> int:
    """The severity rank of a label (0 = most severe); unknown names rank last."""
    return BY_NAME[name].severity if name in BY_NAME else len(LABELS)


def display_order(names: list[str]) -> list[str]:
    """`names` in the table's display order, unknown names last (sorted)."""
    return [n for n in DIAGNOSES if n in names] + sorted(n for n in names if n not in BY_NAME)
