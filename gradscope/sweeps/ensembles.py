"""Runs trained together: which configs form an ensemble, and running one ensemble as a task.

Configs that differ only in `MEMBER_FIELDS` (seed, init, learning rate, optimiser, clipping,
data seed) share the architecture and the shape of the data stream, so they train as one
stacked ensemble (`gradscope.ensemble`). `plan_tasks` groups a sweep's configs into tasks —
one ensemble is one task for the process pool or dask — capped by `MAX_MEMBERS` and by memory
(`core.resources.ensemble_cap`), and split so that every worker gets work. Each member's
results are bit-identical to its one-run result, so grouping never changes a number.
Configs that cannot be stacked (normalisation layers; float32 with clipping) run alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from gradscope.core.resources import ensemble_cap
from gradscope.ensemble.train import Member, train_ensemble
from gradscope.sweeps import run as one_run
from gradscope.sweeps.config import FIELD_NAMES, RunConfig
from gradscope.sweeps.run import RunResult, execute_run, finish_run, steps_columns

MEMBER_FIELDS = ("seed", "init", "lr", "optimizer", "clip", "data_seed")
SHARED_FIELDS = tuple(f for f in FIELD_NAMES if f not in MEMBER_FIELDS)
MAX_MEMBERS = 16  # larger stacks gain little (Python cost amortised) and leave the caches

Task = tuple[RunConfig, ...]


def stackable(cfg: RunConfig) -> bool:
    """Whether `cfg` can be an ensemble member (no norm layer; clipping only in float64, where
    the clipped gradient keeps the parameters' dtype)."""
    return cfg.norm == "none" and not (cfg.dtype == "float32" and cfg.clip)


def ensemble_key(cfg: RunConfig) -> tuple:
    """The fields every member of an ensemble shares."""
    return tuple(getattr(cfg, f) for f in SHARED_FIELDS)


def member_bytes(cfg: RunConfig) -> int:
    """A generous estimate of one member's memory in an ensemble (weights with gradients,
    updates and optimiser state; the activations, deltas and gradients of a step and of the
    final evaluation over the whole dataset)."""
    itemsize = 4 if cfg.dtype == "float32" else 8
    params = cfg.width * (cfg.width + 1) * (cfg.depth + 1)
    rows = max(cfg.batch_size, 1) * 6 + cfg.n_samples * 2
    return itemsize * (6 * params + rows * cfg.width * (cfg.depth + 1))


def plan_tasks(configs: Sequence[RunConfig], workers: int = 1, *, ensemble: bool = True,
               max_members: int = MAX_MEMBERS) -> list[Task]:
    """The configs as tasks, in order of first appearance: ensembles of configs with the same
    `ensemble_key` (at most `max_members` and what memory allows each), single runs for the
    rest (all single runs when `ensemble` is False); big ensembles are halved until there are
    at least `workers` tasks (or nothing left to split)."""
    if not ensemble:
        return [(c,) for c in configs]
    order: dict[tuple, list[RunConfig]] = {}
    for i, cfg in enumerate(configs):
        key = ensemble_key(cfg) if stackable(cfg) else ("alone", i)
        order.setdefault(key, []).append(cfg)
    tasks: list[Task] = []
    for members in order.values():
        cap = max(1, min(max_members, ensemble_cap(member_bytes(members[0]))))
        tasks.extend(tuple(members[i:i + cap]) for i in range(0, len(members), cap))
    while len(tasks) < workers:
        big = max(range(len(tasks)), key=lambda i: len(tasks[i]), default=None)
        if big is None or len(tasks[big]) < 2:
            break
        task = tasks[big]
        half = (len(task) + 1) // 2
        tasks[big:big + 1] = [task[:half], task[half:]]
    return tasks


def execute_task(task: Task) -> list[RunResult]:
    """Run one task: a single run, or an ensemble (each member as if run alone). Should the
    ensemble fail as a whole (e.g. a member's data cannot be built), every member runs alone,
    so that each gets its own result or error."""
    if len(task) == 1:
        return [execute_run(task[0])]
    start = time.perf_counter()
    try:
        first = task[0]
        members = []
        for cfg in task:
            data, net = one_run.build(cfg)  # the one-run builder (patchable in one place)
            members.append(Member(net, data, seed=cfg.seed, loss=cfg.loss,
                                  optimizer=cfg.optimizer, lr=cfg.lr, clip=cfg.clip or None))
        trained = train_ensemble(members, steps=first.steps, batch_size=first.batch_size,
                                 every=first.record_every, hist=first.hist)
        frames = [(r.history, r.columns(), steps_columns(r.history),
                   r.hist() if cfg.hist else None) for r, cfg in zip(trained, task, strict=True)]
    except Exception:  # each member then fails (or not) on its own
        return [execute_run(cfg) for cfg in task]
    shared = (time.perf_counter() - start) / len(task)
    return [finish_run(cfg, history, layers, steps, hist, time.perf_counter(), shared)
            for cfg, (history, layers, steps, hist) in zip(task, frames, strict=True)]

