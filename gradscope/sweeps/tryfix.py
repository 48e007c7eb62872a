"""try_fixes: re-run a config with each remedy through the runner, and rank the measured effect.

Every run goes through `gradscope.sweeps.executor.execute`, so the numbers are the ones any
sweep would give for the same config (same seeds, one BLAS thread per worker). Best first:
runs that finished (ok) before diverged or failed ones, then by final loss after the same
number of steps, then by how close delta_ratio_log10 is to 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from gradscope.analysis.diagnosis.engine import Diagnosis
from gradscope.analysis.diagnosis.remedies import REMEDIES, rank_remedies
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.executor import check_executor, execute
from gradscope.sweeps.run import RunResult

STATUS_RANK = {"ok": 0, "diverged": 1, "error": 2}
BASELINE = "(as is)"


@dataclass(frozen=True)
class Trial:
    """One measured run of a try-fixes table: the remedy, its config, summary and diagnosis."""

    remedy: str
    why: str
    config: RunConfig
    summary: dict
    diagnosis: Diagnosis

    def key(self) -> tuple[int, float, float, float]:
        """Sort key, best first: finished runs, then higher final accuracy (classification),
        lower final loss, and a smaller imbalance |delta_ratio_log10|."""
        loss = self.summary.get("final_loss", math.nan)
        acc = self.summary.get("final_accuracy", math.nan)
        ratio = self.summary.get("delta_ratio_log10", math.nan)
        return (STATUS_RANK.get(self.summary.get("status", "error"), 3),
                -acc if math.isfinite(acc) else 0.0,
                loss if math.isfinite(loss) else math.inf,
                abs(ratio) if math.isfinite(ratio) else math.inf)


@dataclass(frozen=True)
class FixTable:
    """The baseline run and each remedy's run, best first."""

    before: Trial
    after: tuple[Trial, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per run (baseline first): remedy, label, ratios before/after, loss, accuracy."""
        b = self.before.summary
        rows = []
        for t in (self.before, *self.after):
            s = t.summary
            rows.append({
                "remedy": t.remedy, "diagnosis": t.diagnosis.label, "status": s["status"],
                "delta_ratio_log10_before": b["delta_ratio_log10"],
                "delta_ratio_log10": s["delta_ratio_log10"],
                "grad_ratio_log10": s["grad_ratio_log10"], "final_loss": s["final_loss"],
                "final_accuracy": s["final_accuracy"], "why": t.why,
            })
        return pd.DataFrame(rows)


def _trial(remedy: str, why: str, result: RunResult) -> Trial:
    return Trial(remedy, why, result.config, result.summary, result.diagnosis)


def try_fixes(
    cfg: RunConfig,
    remedies: Sequence[str] | None = None,
    *,
    label: str | None = None,
    workers: int | None = None,
    baseline: RunResult | None = None,
) -> FixTable:
    """Run `cfg` and `cfg` with each remedy (default: those ranked for its diagnosis, or for
    `label`), with the same steps and seeds; return the table, best first. `baseline`: the
    finished run of `cfg` itself, if the caller already has it."""
    check_executor(workers, None)
    if remedies is not None:
        for name in remedies:
            REMEDIES.get(name, "remedy")
    base = baseline if baseline is not None else next(iter(execute([cfg], workers=workers)))
    before = _trial(BASELINE, "the configuration as given", base)
    if remedies is None:
        remedies = rank_remedies(label or before.diagnosis.label, cfg)
    configs: dict[RunConfig, str] = {}
    for name in remedies:
        new = REMEDIES.get(name).apply(cfg)
        if new is not None and new not in configs:
            configs[new] = name
    if not configs:
        return FixTable(before, ())
    trials = [_trial(configs[r.config], REMEDIES.get(configs[r.config]).why, r)
              for r in execute(list(configs), workers=workers)]
    return FixTable(before, tuple(sorted(trials, key=Trial.key)))
