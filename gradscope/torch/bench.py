"""`python -m gradscope.bench --torch`: what watching costs a PyTorch training loop.

A PyTorch MLP (depth 16, ReLU, batch 128) is trained with SGD without gradscope, with
`watch(every=1)` and with `watch(every=10)`, in float32 and float64, at widths 64, 256 and 1024,
all in one process. The three arms train the same model on the same batch and are interleaved
(plain, every=1, every=10, plain, ...), each timed over a multiple of 10 steps after a warm-up
step, so a load change on the machine hits every arm alike; the overhead of an arm is its time
over the plain time of the same round, reported as the median over `repeat` rounds with the
smallest and largest value (the spread). Threads: torch's default (set OMP_NUM_THREADS to pin).
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from gradscope.torch import watch

DEPTH, BATCH = 16, 128
WIDTHS = (64, 256, 1024)
DTYPES = (torch.float32, torch.float64)
ARMS = (None, 1, 10)  # plain, watch(every=1), watch(every=10)


def steps_for(width: int) -> int:
    """Steps per timed run: a multiple of 10 (whole every=10 periods), ~0.1–1 s of training."""
    return 10 if width >= 1024 else 20 if width >= 256 else 50


def model(width: int, dtype: torch.dtype, depth: int = DEPTH) -> nn.Sequential:
    """The benchmarked MLP: `depth` Linear+ReLU blocks and a 10-way output layer."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, dtype=dtype), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 10, dtype=dtype))


def timed_run(net: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int,
              every: int | None) -> tuple[float, int]:
    """(seconds for `steps` SGD steps, rows recorded): plain (every=None) or watched."""
    opt = torch.optim.SGD(net.parameters(), lr=1e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    step()  # warm-up, untimed (allocator, autograd graph)
    rec = watch(net, every=every) if every else None
    t0 = time.process_time()
    for _ in range(steps):
        step()
    rows = len(rec.to_frame()) if rec is not None else 0  # the frame is part of the cost
    elapsed = time.process_time() - t0
    if rec is not None:
        rec.detach()
    return elapsed, rows


def run(repeat: int = 3, widths: tuple[int, ...] = WIDTHS,
        dtypes: tuple[torch.dtype, ...] = DTYPES, depth: int = DEPTH,
        steps: int | None = None) -> list[dict[str, float | str]]:
    """One row per (dtype, width): median seconds per arm, median/min/max overhead in %."""
    rows = []
    for dtype in dtypes:
        for width in widths:
            net = model(width, dtype, depth)
            x = torch.randn(BATCH, width, dtype=dtype, generator=torch.Generator().manual_seed(1))
            y = torch.arange(BATCH) % 10
            n = steps or steps_for(width)
            times: dict[int | None, list[float]] = {arm: [] for arm in ARMS}
            recorded: dict[int | None, int] = {}
            for _ in range(repeat):  # interleaved rounds
                for arm in ARMS:
                    seconds, recorded[arm] = timed_run(net, x, y, n, arm)
                    times[arm].append(seconds)
            row: dict[str, float | str] = {"dtype": str(dtype).removeprefix("torch."),
                                           "width": width, "steps": n}
            for arm in ARMS:
                key = "plain" if arm is None else f"every{arm}"
                row[f"{key}_s"] = statistics.median(times[arm])
                row[f"{key}_rows"] = recorded[arm]
                if arm is not None:
                    pct = [100 * (t / p - 1) for t, p in zip(times[arm], times[None],
                                                              strict=True)]
                    row[f"{key}_pct"] = statistics.median(pct)
                    row[f"{key}_pct_min"], row[f"{key}_pct_max"] = min(pct), max(pct)
            rows.append(row)
    return rows


def main(repeat: int = 3, quick: bool = False, depth: int = DEPTH) -> None:
    """Print the table (quick: width 64 only, one round)."""
    widths, repeat = (WIDTHS[:1], 1) if quick else (WIDTHS, repeat)
    print(f"gradscope.torch.watch overhead: MLP depth {depth} (ReLU), batch {BATCH}, SGD, "
          f"arms interleaved, median of {repeat} rounds [min, max]; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    head = (f"{'dtype':>8} {'width':>6} {'steps':>5} {'plain/step':>11} "
            f"{'+% every=1':>22} {'+% every=10':>22}")
    print(head)
    print("-" * len(head))
    for r in (row for dtype in DTYPES for width in widths
              for row in run(repeat, (width,), (dtype,), depth)):  # printed as measured
        cells = [f"{r[f'{k}_pct']:>6.1f} [{r[f'{k}_pct_min']:>5.1f}, {r[f'{k}_pct_max']:>5.1f}]"
                 for k in ("every1", "every10")]
        per_step = 1e3 * float(r["plain_s"]) / int(r["steps"])
        print(f"{r['dtype']:>8} {r['width']:>6} {r['steps']:>5} {per_step:>8.2f} ms "
              f"{cells[0]:>22} {cells[1]:>22}", flush=True)
    print("targets: every=10 ≤ 3 %, every=1 ≤ 15 % at width ≥ 256")
