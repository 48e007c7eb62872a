"""One run: build data and net, record step 0 and every `record_every` steps, train, summarise."""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gradscope.analysis.diagnosis import Diagnosis, diagnose
from gradscope.analysis.diagnosis.rows import RunRows
from gradscope.analysis.schema import STEP_COLUMNS
from gradscope.nn.mlp import mlp
from gradscope.recording.recorder import GradientRecorder
from gradscope.sweeps.config import RunConfig
from gradscope.training.datasets import load_dataset
from gradscope.training.loop import History, train

Table = pd.DataFrame | Mapping[str, np.ndarray]  # a frame, or its columns as numpy arrays


class RunResult:
    """A finished run: its config, its runs.csv summary (SUMMARY_COLUMNS), its layers/steps/hist
    rows and its Diagnosis (the one the summary's diagnosis and findings come from; for a run
    that failed, label "" and the error as finding).

    The rows may be given as DataFrames or as mappings of column → numpy array (what a sweep's
    worker sends: no per-run pandas work); `layers`, `steps` and `hist` are DataFrames either
    way (made on first use), `columns(name)` the arrays either way.
    """

    def __init__(self, config: RunConfig, summary: dict[str, Any], layers: Table, steps: Table,
                 diagnosis: Diagnosis, hist: Table | None = None) -> None:
        self.config, self.summary, self.diagnosis = config, summary, diagnosis
        self._tables: dict[str, Table | None] = {"layers": layers, "steps": steps, "hist": hist}

    def _frame(self, name: str) -> pd.DataFrame | None:
        table = self._tables[name]
        if table is not None and not isinstance(table, pd.DataFrame):
            table = self._tables[name] = pd.DataFrame(dict(table), columns=list(table))
        return table

    @property
    def layers(self) -> pd.DataFrame:
        """The layers.csv rows (without run_id)."""
        return self._frame("layers")

    @property
    def steps(self) -> pd.DataFrame:
        """The steps.csv rows (without run_id)."""
        return self._frame("steps")

    @property
    def hist(self) -> pd.DataFrame | None:
        """The hist.csv rows (None when histograms were not recorded)."""
        return self._frame("hist")

    def columns(self, name: str) -> Mapping[str, Any] | None:
        """Table `name` ("layers", "steps", "hist") as it was given: a frame or its arrays."""
        return self._tables[name]

    @property
    def run_id(self) -> str:
        """The run's stable id."""
        return self.config.run_id

    @property
    def status(self) -> str:
        """ok | diverged | error."""
        return self.summary["status"]

    def row(self) -> dict[str, Any]:
        """The runs.csv row: run_id, every run parameter, then the summary columns."""
        return {"run_id": self.run_id, **self.config.asdict(), **self.summary}


def build(cfg: RunConfig) -> tuple[Any, Any]:
    """The dataset and the untrained network that `cfg` describes."""
    data = load_dataset(cfg.dataset, n=cfg.n_samples, seed=cfg.data_seed,
                        **cfg.dataset_options())
    out_dim = 1 if cfg.loss == "bce" else data.out_dim
    net = mlp(data.in_dim, out_dim, cfg.depth, cfg.width, cfg.activation, cfg.init,
              norm=cfg.norm, residual=cfg.residual, seed=cfg.seed, dtype=cfg.dtype,
              bias_init=cfg.bias_init)
    return data, net


def execute_run(cfg: RunConfig) -> RunResult:
    """Run `cfg` to completion; an exception becomes status=error with the message in findings.

    The numbers depend only on `cfg` (every RNG is seeded from it), never on the process or
    the order in which runs execute.
    """
    start = time.perf_counter()
    try:
        data, net = build(cfg)
        recorder = GradientRecorder(net, every=cfg.record_every, hist=cfg.hist)
        try:
            history = train(net, data, loss=cfg.loss, optimizer=cfg.optimizer, lr=cfg.lr,
                            steps=cfg.steps, batch_size=cfg.batch_size, recorder=recorder,
                            seed=cfg.seed, clip=cfg.clip or None)
        finally:
            recorder.detach()
        columns = recorder.to_columns()
        hist = recorder.hist_frame() if cfg.hist else None
        steps = steps_columns(history)
    except Exception as exc:  # one broken run must not stop a sweep
        return error_result(cfg, exc, time.perf_counter() - start)
    return finish_run(cfg, history, columns, steps, hist, start)


def steps_columns(history: History) -> dict[str, np.ndarray]:
    """The steps.csv rows of a run as numpy arrays (no DataFrame per run)."""
    return {"step": history.step, "loss": history.loss, "accuracy": history.accuracy,
            "grad_global_norm": history.grad_global_norm}


def finish_run(cfg: RunConfig, history: History, layers: Table, steps: Table,
               hist: pd.DataFrame | None, start: float, shared_s: float = 0.0) -> RunResult:
    """Diagnose a trained run and summarise it (wall_s: since `start`, plus `shared_s`).
    `layers`: the recorder's frame or its columns as numpy arrays (read without pandas)."""
    # the diagnosis reads the recorder's arrays, not a frame (no per-run pandas work)
    rows = layers if isinstance(layers, pd.DataFrame) else RunRows.from_columns(layers)
    found = diagnose(rows, {"step": history.step, "loss": history.loss},
                     cfg, status=history.status,
                     first_nonfinite_step=history.first_nonfinite_step,
                     final_loss=history.final_loss, final_accuracy=history.final_accuracy)
    summary = {
        "status": history.status,
        "diagnosis": found.label,
        "findings": found.finding,
        "grad_ratio_log10": found.evidence["grad_ratio_log10"],  # at step 0, measured once
        "delta_ratio_log10": found.evidence["delta_ratio_log10"],
        "first_nonfinite_step": history.first_nonfinite_step,
        "final_loss": float(history.final_loss),
        "final_accuracy": float(history.final_accuracy),
        "wall_s": round(time.perf_counter() - start + shared_s, 3),
    }
    return RunResult(cfg, summary, layers, steps, found, hist)


def error_result(cfg: RunConfig, exc: BaseException, wall_s: float) -> RunResult:
    """The result of a run that raised: status=error, the message in findings, no rows."""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    origin = f" (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
    message = " ".join(str(exc).split()) or "no message"
    summary = {
        "status": "error", "diagnosis": "", "findings": f"{type(exc).__name__}: {message}{origin}",
        "grad_ratio_log10": math.nan, "delta_ratio_log10": math.nan,
        "first_nonfinite_step": None, "final_loss": math.nan, "final_accuracy": math.nan,
        "wall_s": round(wall_s, 3),
    }
    return RunResult(cfg, summary, pd.DataFrame(), pd.DataFrame(columns=list(STEP_COLUMNS)),
                     Diagnosis("", summary["findings"]))
