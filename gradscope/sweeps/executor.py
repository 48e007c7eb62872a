"""Where runs execute: worker processes (any count, same numbers) or a dask.distributed cluster.

The unit of work is a task: one run, or one ensemble of runs trained together
(`sweeps.ensembles`; each member's numbers are those of its run alone). Identical results for
any worker count and any grouping are guaranteed by construction: with `workers >= 1`
every run executes in a fresh spawned worker process whose environment pins BLAS/OpenMP to one
thread before numpy loads (so `--workers 1` is a pool of one process, not the CLI's own
process), and every run's RNGs are seeded from its config alone. `workers=0` runs in the
calling process — handy in a debugger, but bit-identity with the pool then holds only if that
process's BLAS is single-threaded too. Dask workers get the same environment (LocalCluster)
or dask's own default of one BLAS thread per worker (its nanny's pre-spawn environment).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial
from itertools import islice
from typing import Any

from gradscope.core.errors import ConfigError
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.ensembles import Task, execute_task, plan_tasks
from gradscope.sweeps.run import RunResult, execute_run

ONE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
}
RunFn = Callable[[RunConfig], RunResult]
TaskFn = Callable[[Task], list[RunResult]]


class WorkerLost(RuntimeError):
    """A worker process died (crash, out of memory, killed); finished runs stay saved."""


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


@contextmanager
def one_thread_env() -> Iterator[None]:
    """Set ONE_THREAD_ENV in os.environ (inherited by spawned workers), restore it afterwards."""
    saved = {k: os.environ.get(k) for k in ONE_THREAD_ENV}
    os.environ.update(ONE_THREAD_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


IN_FLIGHT_PER_WORKER = 4  # tasks submitted ahead per worker process


def run_each(fn: RunFn, task: Task) -> list[RunResult]:
    """A task of a custom run function: its runs one after the other."""
    return [fn(cfg) for cfg in task]


def run_serial(tasks: Sequence[Task], fn: TaskFn = execute_task) -> Iterator[RunResult]:
    """Run in the calling process, in order."""
    for task in tasks:
        yield from fn(task)


def _worker_init(pids: Any) -> None:
    """A worker ignores Ctrl-C (sent to the whole process group: the parent stops it) and
    reports its pid, so the parent can end exactly its own workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pids.put(os.getpid())


class WorkerPool:
    """A spawn-context ProcessPoolExecutor whose workers report their pids (`_worker_init`), so
    that `stop()` can end them through documented APIs only: the pids from the queue, the
    `multiprocessing.Process` handles from `multiprocessing.active_children()`."""

    def __init__(self, workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pids = ctx.SimpleQueue()
        self._known: set[int] = set()
        self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                            initializer=_worker_init, initargs=(self._pids,))

    def worker_pids(self) -> set[int]:
        """Pids of every worker that has started so far."""
        while not self._pids.empty():
            self._known.add(self._pids.get())
        return set(self._known)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel queued runs and end every worker process now (no orphan keeps computing);
        a worker still starting gets the shutdown signal and exits before running anything."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        ours = self.worker_pids()
        processes = [p for p in multiprocessing.active_children() if p.pid in ours]
        for proc in processes:
            proc.terminate()
        for proc in processes:
            proc.join(timeout)
            if proc.is_alive():  # pragma: no cover - ignored SIGTERM
                proc.kill()
                proc.join(timeout)


def run_processes(
    tasks: Sequence[Task], workers: int, fn: TaskFn = execute_task
) -> Iterator[RunResult]:
    """Run in `workers` spawned processes with one BLAS thread each; yield in completion order."""
    if not tasks:
        return
    with one_thread_env():
        pool = WorkerPool(min(workers, len(tasks)))
        try:
            # a bounded window of tasks in flight: waiting on every queued task would cost
            # O(tasks) per result (O(tasks²) for a sweep) and hold every task's future
            queue = iter(tasks)
            window = IN_FLIGHT_PER_WORKER * workers
            pending: set[Future] = {pool.executor.submit(fn, task)
                                    for task in islice(queue, window)}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                pending |= {pool.executor.submit(fn, task) for task in islice(queue, len(done))}
                for future in done:
                    try:
                        results = future.result()
                    except BrokenProcessPool as exc:
                        raise WorkerLost(
                            f"a worker process died before finishing its run ({exc}). Runs "
                            "finished so far are saved; run the same command again to resume "
                            "(a worker that cannot start means gradscope fails to import: try "
                            "`python -c 'import gradscope'`)."
                        ) from None
                    yield from results
        except BaseException:  # interrupted: do not wait for the runs still in flight
            pool.stop()
            raise
        pool.executor.shutdown(wait=True)


def run_dask(
    tasks: Sequence[Task], address: str, workers: int, fn: TaskFn = execute_task
) -> Iterator[RunResult]:
    """Submit the tasks to a dask.distributed scheduler (`local`: a LocalCluster on 127.0.0.1)."""
    from distributed import Client, LocalCluster, as_completed

    if not tasks:
        return
    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(
                n_workers=min(workers, len(tasks)), threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None, env=dict(ONE_THREAD_ENV),
            )
            client = Client(cluster)
        else:
            try:
                client = Client(address, timeout="10s")
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"--dask {address}: cannot reach a dask scheduler there ({exc}). Start one "
                    f"with `dask scheduler` and workers with `dask worker {address}`, or use "
                    f"--dask local."
                ) from None
        with client:
            keys = [f"gradscope-run-{t[0].run_id}" + (f"+{len(t) - 1}" if len(t) > 1 else "")
                    for t in tasks]
            futures = client.map(fn, list(tasks), key=keys, pure=False)
            for future in as_completed(futures):
                results = future.result()
                future.release()
                yield from results
    finally:
        if cluster is not None:
            cluster.close()


def check_executor(workers: int | None, dask: str | None) -> None:
    """Reject an impossible executor choice before anything is created or run."""
    if workers is not None and workers < 0:
        raise ConfigError(f"--workers must be ≥ 0 (0 = in this process), got {workers}.")
    if dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ConfigError(
                "--dask needs dask.distributed, which is not installed. Install it with "
                "pip install 'gradscope[dask]', or drop --dask to use local worker processes."
            ) from None


def execute(
    configs: Sequence[RunConfig], *, workers: int | None = None, dask: str | None = None,
    fn: RunFn = execute_run, ensemble: bool = True,
) -> Iterator[RunResult]:
    """Run `configs` on the chosen executor and yield results as they finish. With `ensemble`
    (and the default run function), configs that share an architecture train together as
    one task (`sweeps.ensembles.plan_tasks`); the results are the same either way."""
    check_executor(workers, dask)
    workers = default_workers() if workers is None else workers
    if fn is execute_run:
        tasks, task_fn = plan_tasks(configs, max(workers, 1), ensemble=ensemble), execute_task
    else:
        tasks, task_fn = [(c,) for c in configs], partial(run_each, fn)
    if dask:
        return run_dask(tasks, dask, max(workers, 1), task_fn)
    if workers == 0:
        return run_serial(tasks, task_fn)
    return run_processes(tasks, workers, task_fn)
