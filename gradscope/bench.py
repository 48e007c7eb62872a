"""Benchmark: training with and without the recorder against raw matmul throughput.

Run `python -m gradscope.bench` (add `--quick` for a smoke run; `--tiny`: the fixed cost of a
tiny run outside training; `--scaling`: sweeps of 200 / 2 000 / 20 000 tiny runs, time per run
and peak RSS; `--sweep`: the sweep throughput with ensembles on/off and against PyTorch eager;
`--torch`: the cost of gradscope.torch.watch). For each depth × width × batch it
times (a) 20 SGD steps with a `GradientRecorder` recording every step, (b) the same without the
recorder, (c) the three matmuls of every Dense layer (forward, dW, dx) alone, and prints GFLOP/s
and the recorder's overhead. Each figure is the best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gradscope.nn.mlp import mlp
from gradscope.recording.recorder import GradientRecorder
from gradscope.sweeps import run as run_module
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.store import PartStore
from gradscope.sweeps.sweep import run_sweep
from gradscope.sweeps.throughput import gemm_floor, throughput_configs, time_sweep
from gradscope.training.loop import train

SHAPES = [(32, 64, 64), (32, 256, 128), (16, 1024, 256)]  # depth, width, batch
STEPS = 20


def _best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def step_flops(depth: int, width: int, batch: int, in_dim: int, out_dim: int) -> float:
    """Matmul FLOPs of one training step: 3 matmuls (forward, dW, dx) of 2·B·in·out each."""
    dims = [in_dim] + [width] * depth + [out_dim]
    return float(sum(6 * batch * a * b for a, b in zip(dims[:-1], dims[1:], strict=True)))


def _raw_matmuls(dims: list[int], batch: int, rng: np.random.Generator) -> Callable[[], None]:
    ws = [rng.standard_normal((a, b)) * 0.01 for a, b in zip(dims[:-1], dims[1:], strict=True)]
    xs = [rng.standard_normal((batch, a)) for a in dims[:-1]]
    gs = [rng.standard_normal((batch, b)) for b in dims[1:]]

    def run() -> None:
        for _ in range(STEPS):
            for w, x, g in zip(ws, xs, gs, strict=True):
                x @ w  # noqa: B018 - the work being timed
                x.T @ g  # noqa: B018
                g @ w.T  # noqa: B018

    return run


def bare_numpy_loop(X: np.ndarray, y: np.ndarray, depth: int, width: int, batch: int,
                    lr: float = 1e-3, steps: int = STEPS, seed: int = 0) -> float:
    """The same training as `train(mlp(..., "relu", "he", seed), (X, y), loss="mse", sgd)`
    written by hand in numpy: no layers, hooks, norms or checks. Returns the final loss (equal
    to gradscope's: the same weights, batches and arithmetic)."""
    net = mlp(X.shape[1], y.shape[1], depth, width, "relu", "he", seed=seed)
    dense = [layer for layer in net.layers if "W" in layer.params]
    ws = [d.params["W"].copy() for d in dense]
    bs = [d.params["b"].copy() for d in dense]
    rng, n = np.random.default_rng(seed), len(X)
    order, at = rng.permutation(n), 0
    for _ in range(steps):
        if at + batch > n:
            order, at = rng.permutation(n), 0
        idx, at = order[at:at + batch], at + batch
        x, xs, zs = X[idx], [], []
        for layer, (w, b) in enumerate(zip(ws, bs, strict=True)):
            xs.append(x)
            z = x @ w
            z += b
            if layer < depth:
                zs.append(z)
                x = np.maximum(z, 0.0)
            else:
                x = z
        diff = x - y[idx]
        g = (2.0 / diff.size) * diff
        for layer in range(depth, -1, -1):
            if layer < depth:
                g = g * (zs[layer] > 0)
            dw, db = xs[layer].T @ g, g.sum(axis=0)
            g = g @ ws[layer].T
            ws[layer] -= lr * dw
            bs[layer] -= lr * db
    out = X
    for layer, (w, b) in enumerate(zip(ws, bs, strict=True)):
        out = out @ w + b
        out = np.maximum(out, 0.0) if layer < depth else out
    return float(np.mean((out - y) ** 2))


def bench_shape(depth: int, width: int, batch: int, repeat: int) -> dict[str, float]:
    """Seconds and GFLOP/s of (a) recorded training, (b) plain training, (c) the bare numpy loop,
    (d) raw matmuls; the three loops are timed in turn, `repeat` rounds, best of each."""
    rng = np.random.default_rng(0)
    in_dim, out_dim = width, 10
    X = rng.standard_normal((4 * batch, in_dim))
    y = rng.standard_normal((4 * batch, out_dim))
    kwargs = dict(loss="mse", optimizer="sgd", lr=1e-3, steps=STEPS, batch_size=batch, seed=0)
    final: dict[str, float] = {}

    def plain() -> None:
        net = mlp(in_dim, out_dim, depth, width, "relu", "he", seed=0)
        final["plain"] = train(net, (X, y), **kwargs).final_loss

    def recorded() -> None:
        net = mlp(in_dim, out_dim, depth, width, "relu", "he", seed=0)
        rec = GradientRecorder(net, every=1)
        train(net, (X, y), recorder=rec, **kwargs)
        rec.to_columns()  # the arrays a sweep's worker takes (to_frame's pandas is once per run)

    def bare() -> None:
        final["bare"] = bare_numpy_loop(X, y, depth, width, batch)

    def build_only() -> None:
        mlp(in_dim, out_dim, depth, width, "relu", "he", seed=0)

    fns = {"build": build_only, "plain": plain, "recorded": recorded, "bare": bare}
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):  # interleaved: a load spike hits every column alike
        for name, fn in fns.items():
            best[name] = min(best[name], _best_of(fn, 1))
    t_plain, t_rec, t_bare = (best[k] - best["build"] for k in ("plain", "recorded", "bare"))
    dims = [in_dim] + [width] * depth + [out_dim]
    t_raw = _best_of(_raw_matmuls(dims, batch, rng), repeat)
    gflop = step_flops(depth, width, batch, in_dim, out_dim) * STEPS / 1e9
    return {
        "recorded_s": t_rec, "plain_s": t_plain, "bare_s": t_bare, "raw_s": t_raw,
        "recorded_gflops": gflop / t_rec, "plain_gflops": gflop / t_plain,
        "raw_gflops": gflop / t_raw, "overhead_pct": 100 * (t_rec / t_plain - 1),
        "plain_vs_bare": t_plain / t_bare, "plain_vs_raw_pct": 100 * t_raw / t_plain,
        "same_loss": float(final["plain"] == final["bare"]),
    }


def print_step_table(shapes: list[tuple[int, int, int]], repeat: int) -> None:
    """(c) The per-step table: recorded, plain and bare-numpy loops per shape."""
    print(f"gradscope benchmark: float64, {STEPS} SGD steps, ReLU + He, best of {repeat}")
    head = (f"{'depth×width×batch':>18} {'recorded':>9} {'plain':>9} {'bare numpy':>11}"
            f" {'recorder':>9} {'plain/bare':>11} {'plain':>10} {'raw matmul':>11}")
    print(head)
    print(f"{'':>18} {'ms/step':>9} {'ms/step':>9} {'ms/step':>11} {'overhead':>9}"
          f" {'':>11} {'GF/s':>10} {'GF/s':>11}")
    print("-" * len(head))
    for depth, width, batch in shapes:
        r = bench_shape(depth, width, batch, repeat)
        check = "" if r["same_loss"] else "  (final losses differ!)"
        print(f"{f'{depth}×{width}×{batch}':>18} {1e3 * r['recorded_s'] / STEPS:>9.3f}"
              f" {1e3 * r['plain_s'] / STEPS:>9.3f} {1e3 * r['bare_s'] / STEPS:>11.3f}"
              f" {r['overhead_pct']:>8.1f}% {r['plain_vs_bare']:>10.2f}×"
              f" {r['plain_gflops']:>10.1f} {r['raw_gflops']:>11.1f}{check}")
    print("recorder overhead = recorded/plain − 1, statistics every step, the recorded arrays "
          "taken with rec.to_columns() as a sweep worker does (targets: ≤ 15% at "
          "32×64×64, ≤ 5% at width ≥ 256); plain/bare = plain loop / the same training written "
          "by hand in numpy (bare_numpy_loop: same weights, batches and final loss; target "
          "≤ 1.1×).")


# -- (b) the scaling series: a sweep of N tiny runs, time per run and peak memory -----------------


def tiny_configs(n: int) -> list[RunConfig]:
    """N tiny runs (width 16, depth 4, 20 steps, statistics every 10): ReLU and tanh × seeds."""
    return [RunConfig(depth=4, width=16, activation=("relu", "tanh")[i % 2], seed=i // 2,
                      steps=20, record_every=10, n_samples=256, batch_size=64)
            for i in range(n)]


def scaling_run(n: int, workers: int, out: str, fmt: str = "csv") -> dict[str, float]:
    """Run the sweep of `tiny_configs(n)` into `out` (no report) in this process; wall time and
    peak RSS of this process (the parent: store, consolidation) and of its workers."""
    start = time.perf_counter()
    run_sweep(tiny_configs(n), out, workers=workers, quiet=True, force=True, fmt=fmt)
    seconds = time.perf_counter() - start
    kib = 1024.0  # ru_maxrss is in KiB on Linux
    return {"runs": n, "seconds": seconds, "ms_per_run": 1e3 * seconds / n,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib,
            "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib}


# `gradscope report` of a sweep folder in a fresh process (matplotlib stays out of this one)
REPORT_PROBE = ("import json, resource, sys, time\n"
                "from gradscope.report import build_report\n"
                "start = time.perf_counter()\n"
                "build_report(sys.argv[1])\n"
                "print(json.dumps({'seconds': time.perf_counter() - start, 'peak_rss_mb': "
                "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))")


def print_scaling(counts: list[int], workers: int, fmt: str, report: bool = False) -> None:
    """(b) One fresh process per sweep size: time per run and peak RSS as the sweep grows;
    `report`: then `gradscope report` of each sweep, in a fresh process too."""
    print(f"scaling: sweeps of tiny runs (width 16, depth 4, 20 steps), {workers} worker(s), "
          f"--format {fmt}; one fresh process per size"
          + ("; then the report, in another" if report else ", no report"))
    head = f"{'runs':>8} {'seconds':>9} {'ms/run':>8} {'peak RSS':>10} {'worker peak':>12}"
    head += f" {'report s':>9} {'report RSS':>11}" if report else ""
    print(head)
    print("-" * len(head))
    first = None
    for n in counts:
        with tempfile.TemporaryDirectory(prefix="gradscope-scaling-") as tmp:
            cmd = [sys.executable, "-m", "gradscope.bench", "--scaling-run", str(n),
                   "--workers", str(workers), "--format", fmt, "--out", tmp]
            line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            rep = "" if not report else subprocess.run(
                [sys.executable, "-c", REPORT_PROBE, tmp], check=True, capture_output=True,
                text=True).stdout
        r = json.loads(line.strip().splitlines()[-1])
        first = first or r["ms_per_run"]
        extra = ""
        if rep:
            b = json.loads(rep.strip().splitlines()[-1])
            extra = f" {b['seconds']:>9.1f} {b['peak_rss_mb']:>8.0f} MB"
        print(f"{n:>8} {r['seconds']:>9.1f} {r['ms_per_run']:>8.2f} {r['peak_rss_mb']:>7.0f} MB"
              f" {r['worker_peak_rss_mb']:>9.0f} MB{extra}   ({r['ms_per_run'] / first:.2f}× the "
              "first)")
    print("target: peak RSS ≤ 1 GB at 20 000 runs; ms/run flat within 20% from 200 to 20 000.")


# -- the fixed cost of a tiny run outside its training loop ----------------------------------------


def fixed_cost(repeat: int) -> dict[str, float]:
    """Median ms per tiny run of execute_run, of its train() call, and of saving its part."""
    cfgs = tiny_configs(24)
    timed: dict[str, list[float]] = {"run": [], "train": [], "save": []}
    original = run_module.train

    def timed_train(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timed["train"].append(time.perf_counter() - t0)

    run_module.train = timed_train  # the one place execute_run calls
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = PartStore(tmp)
            for _ in range(repeat):
                for cfg in cfgs:
                    t0 = time.perf_counter()
                    result = run_module.execute_run(cfg)
                    t1 = time.perf_counter()
                    store.save(result)
                    timed["save"].append(time.perf_counter() - t1)
                    timed["run"].append(t1 - t0)
    finally:
        run_module.train = original
    run, train_s = np.array(timed["run"]), np.array(timed["train"])
    return {"run_ms": 1e3 * float(np.median(run)), "train_ms": 1e3 * float(np.median(train_s)),
            "fixed_ms": 1e3 * float(np.median(run - train_s)),
            "save_ms": 1e3 * float(np.median(timed["save"]))}


def print_fixed_cost(repeat: int) -> None:
    """A tiny run's time outside its training loop (build, recorder, frames, diagnosis)."""
    r = fixed_cost(repeat)
    print(f"tiny run (width 16, depth 4, 20 steps; median of {24 * repeat}): execute_run "
          f"{r['run_ms']:.2f} ms = train {r['train_ms']:.2f} ms + fixed {r['fixed_ms']:.2f} ms "
          f"(target ≤ 5 ms); saving its part {r['save_ms']:.2f} ms")


# -- (a) sweep throughput: ensembles on/off and PyTorch eager -------------------------------------


def sweep_main(repeat: int = 3, quick: bool = False, workers: int = 1) -> None:
    """Print runs per second of a sweep of many small nets: ensembles on, off, and the same
    runs in PyTorch eager with per-layer hooks (when torch is installed), in one process."""
    configs = throughput_configs(12, steps=50) if quick else throughput_configs(48)
    repeat = 1 if quick else repeat
    shape = configs[0]
    print(f"sweep throughput: {len(configs)} runs, depth {shape.depth}, width {shape.width}, "
          f"{shape.steps} SGD steps, statistics every {shape.record_every}, "
          f"--workers {workers}, each figure the best of {repeat}")
    times: dict[str, float] = {}
    floor = "gemm floor (stacked)"
    for _ in range(repeat):  # interleaved, so that a busy machine slows each alike
        for label, on in (("ensembles on", True), ("ensembles off", False)):
            t = time_sweep(configs, workers=workers, ensemble=on)
            times[label] = min(times.get(label, t), t)
        t = gemm_floor(configs)  # the matmuls alone, as the ensembles run them (one process)
        times[floor] = min(times.get(floor, t), t)
        try:
            from gradscope.torch.sweep_baseline import time_torch_runs  # needs the torch extra
        except ImportError:
            continue
        t = time_torch_runs([c.asdict() for c in configs])
        times["pytorch eager + hooks"] = min(times.get("pytorch eager + hooks", t), t)
    for label, t in times.items():
        print(f"{label:>22}: {t:8.2f} s  {len(configs) / t:7.2f} runs/s")
    on = times["ensembles on"]
    print(f"ensembles on vs off: {times['ensembles off'] / on:.2f}× faster (target ≥ 3×)")
    print(f"ensembles on vs the gemm floor: {on / times[floor]:.2f}× the time of their matmuls "
          f"alone (the ceiling of any overhead cut: {on / times[floor]:.2f}× faster at most; "
          f"overhead {on - times[floor]:.1f} s)")
    if "pytorch eager + hooks" in times:
        print(f"ensembles on vs PyTorch eager + hooks: {times['pytorch eager + hooks'] / on:.2f}× "
              "faster (target ≥ 4×)")


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument("--quick", action="store_true", help="only the smallest shape, 1 repeat")
    parser.add_argument("--shapes", metavar="D×W×B,...",
                        help="the shapes of the per-step table, e.g. 32x64x64,32x256x128")
    parser.add_argument("--torch", action="store_true",
                        help="instead: the cost of gradscope.torch.watch in a PyTorch loop")
    parser.add_argument("--scaling", metavar="N,N,...", nargs="?", const="200,2000,20000",
                        help="instead: the scaling series, sweeps of N tiny runs (default "
                             "200,2000,20000): time per run and peak RSS")
    parser.add_argument("--workers", type=int, default=2, help="workers of --scaling (2)")
    parser.add_argument("--format", default="csv", choices=["csv", "parquet"],
                        help="table format of --scaling (csv)")
    parser.add_argument("--report", action="store_true",
                        help="with --scaling: also time `gradscope report` of each sweep")
    parser.add_argument("--tiny", action="store_true",
                        help="instead: the fixed cost of a tiny run outside training")
    parser.add_argument("--scaling-run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--sweep", action="store_true",
                        help="instead: sweep throughput, ensembles on/off and PyTorch eager")
    args = parser.parse_args(argv)
    if args.sweep:
        sweep_main(args.repeat, args.quick)
        return
    if args.scaling_run:
        print(json.dumps(scaling_run(args.scaling_run, args.workers, args.out, args.format)))
        return
    if args.scaling:
        print_scaling([int(n) for n in args.scaling.split(",")], args.workers, args.format,
                      args.report)
        return
    if args.tiny:
        print_fixed_cost(args.repeat)
        return
    if args.torch:
        from gradscope.torch.bench import main as torch_main  # needs the torch extra

        torch_main(args.repeat, args.quick)
        return
    shapes, repeat = (SHAPES[:1], 1) if args.quick else (SHAPES, args.repeat)
    if args.shapes:
        shapes = [tuple(int(v) for v in s.replace("×", "x").split("x"))
                  for s in args.shapes.split(",")]
    print_step_table(shapes, repeat)

if __name__ == "__main__":
    main()
