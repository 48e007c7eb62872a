"""Benchmark: training with and without the recorder against raw matmul throughput.

Run `python -m gradscope.bench` (add `--quick` for a smoke run; `--sweep` for the sweep
throughput with ensembles on/off and against PyTorch eager; `--torch` for watch's cost).
For each depth × width × batch it times (a) 20 SGD steps with a `GradientRecorder` recording
every step, (b) the same without the recorder, (c) the three matmuls of every Dense layer
(forward, dW, dx) alone, and prints GFLOP/s and the recorder's overhead. Each figure is the
best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from gradscope.nn.mlp import mlp
from gradscope.recording.recorder import GradientRecorder
from gradscope.sweeps.throughput import throughput_configs, time_sweep
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


def bench_shape(depth: int, width: int, batch: int, repeat: int) -> dict[str, float]:
    """Seconds and GFLOP/s of (a) recorded training, (b) plain training, (c) raw matmuls."""
    rng = np.random.default_rng(0)
    in_dim, out_dim = width, 10
    X = rng.standard_normal((4 * batch, in_dim))
    y = rng.standard_normal((4 * batch, out_dim))
    kwargs = dict(loss="mse", optimizer="sgd", lr=1e-3, steps=STEPS, batch_size=batch, seed=0)

    def plain() -> None:
        net = mlp(in_dim, out_dim, depth, width, "relu", "he", seed=0)
        train(net, (X, y), **kwargs)

    def recorded() -> None:
        net = mlp(in_dim, out_dim, depth, width, "relu", "he", seed=0)
        rec = GradientRecorder(net, every=1)
        train(net, (X, y), recorder=rec, **kwargs)
        rec.to_frame()

    def build_only() -> None:
        mlp(in_dim, out_dim, depth, width, "relu", "he", seed=0)

    t_build = _best_of(build_only, repeat)
    t_plain = _best_of(plain, repeat) - t_build
    t_rec = _best_of(recorded, repeat) - t_build
    dims = [in_dim] + [width] * depth + [out_dim]
    t_raw = _best_of(_raw_matmuls(dims, batch, rng), repeat)
    gflop = step_flops(depth, width, batch, in_dim, out_dim) * STEPS / 1e9
    return {
        "recorded_s": t_rec, "plain_s": t_plain, "raw_s": t_raw,
        "recorded_gflops": gflop / t_rec, "plain_gflops": gflop / t_plain,
        "raw_gflops": gflop / t_raw, "overhead_pct": 100 * (t_rec / t_plain - 1),
        "plain_vs_raw_pct": 100 * t_raw / t_plain,
    }


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
    for _ in range(repeat):  # interleaved, so that a busy machine slows each alike
        for label, on in (("ensembles on", True), ("ensembles off", False)):
            t = time_sweep(configs, workers=workers, ensemble=on)
            times[label] = min(times.get(label, t), t)
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
    if "pytorch eager + hooks" in times:
        print(f"ensembles on vs PyTorch eager + hooks: {times['pytorch eager + hooks'] / on:.2f}× "
              "faster (target ≥ 4×)")


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument("--quick", action="store_true", help="only the smallest shape, 1 repeat")
    parser.add_argument("--torch", action="store_true",
                        help="instead: the cost of gradscope.torch.watch in a PyTorch loop")
    parser.add_argument("--sweep", action="store_true",
                        help="instead: sweep throughput, ensembles on/off and PyTorch eager")
    args = parser.parse_args(argv)
    if args.sweep:
        sweep_main(args.repeat, args.quick)
        return
    if args.torch:
        from gradscope.torch.bench import main as torch_main  # needs the torch extra

        torch_main(args.repeat, args.quick)
        return
    shapes, repeat = (SHAPES[:1], 1) if args.quick else (SHAPES, args.repeat)
    print(f"gradscope benchmark: float64, {STEPS} SGD steps, ReLU + He, best of {repeat}")
    head = (f"{'depth×width×batch':>18} {'recorded':>10} {'plain':>10} {'raw matmul':>11}"
            f" {'overhead':>9} {'plain/raw':>10}")
    print(head)
    print("-" * len(head))
    for depth, width, batch in shapes:
        r = bench_shape(depth, width, batch, repeat)
        print(f"{f'{depth}×{width}×{batch}':>18} {r['recorded_gflops']:>6.1f} GF/s"
              f" {r['plain_gflops']:>6.1f} GF/s {r['raw_gflops']:>7.1f} GF/s"
              f" {r['overhead_pct']:>8.1f}% {r['plain_vs_raw_pct']:>9.1f}%")
    print("overhead = recorded/plain − 1 (target ≤ 10% at width ≥ 256); "
          "plain/raw = share of the raw matmul rate reached by the plain loop (target ≥ 60%).")


if __name__ == "__main__":
    main()
