"""`python -m gradscope.bench --torch`: what watching costs a PyTorch training loop.

A PyTorch MLP (depth 16, ReLU, batch 128) is trained with SGD without gradscope, with
`watch(every=1)` and with `watch(every=10)`, in float32 and float64, at widths 64, 256 and 1024,
all in one process. The three arms are three copies of the same model, each with its own
optimizer and (for the watched two) its own recorder attached once, trained step by step in
turn (plain, every=1, every=10, plain, ...), so a load change on the machine hits every arm
alike. A round is 10 steps of each arm (one every=10 period); an arm's overhead in a round is
its CPU time (`time.process_time`, which other processes on a shared machine do not inflate)
over the plain arm's, and the table gives the median over the rounds with the smallest and
largest value (the spread). Threads: torch's default (set OMP_NUM_THREADS to pin them).
"""

from __future__ import annotations

import copy
import statistics
import time

import torch
from torch import nn

from gradscope.torch import watch

DEPTH, BATCH = 16, 128
WIDTHS = (64, 256, 1024)
DTYPES = (torch.float32, torch.float64)
ARMS = (None, 1, 10)  # plain, watch(every=1), watch(every=10)
PERIOD = 10  # steps per arm per round


def rounds_for(width: int, repeat: int) -> int:
    """Rounds at `width`: more for small (fast, noisier) widths."""
    return repeat * (1 if width >= 1024 else 2 if width >= 256 else 5)


def model(width: int, dtype: torch.dtype, depth: int = DEPTH) -> nn.Sequential:
    """The benchmarked MLP: `depth` Linear+ReLU blocks and a 10-way output layer."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, dtype=dtype), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 10, dtype=dtype))


class Arm:
    """One copy of the model with its optimizer, watched every `every` steps (None: not)."""

    def __init__(self, net: nn.Module, every: int | None) -> None:
        self.net = copy.deepcopy(net)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=1e-4)
        self.rec = watch(self.net, every=every) if every else None
        self.seconds = 0.0

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """One timed SGD step."""
        t0 = time.process_time()
        self.opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(self.net(x), y).backward()
        self.opt.step()
        self.seconds += time.process_time() - t0

    def finish(self) -> int:
        """Rows recorded (making the frame is part of the timed cost); unhook."""
        if self.rec is None:
            return 0
        t0 = time.process_time()
        rows = len(self.rec.to_frame())
        self.seconds += time.process_time() - t0
        self.rec.detach()
        return rows


def run(repeat: int = 3, widths: tuple[int, ...] = WIDTHS,
        dtypes: tuple[torch.dtype, ...] = DTYPES, depth: int = DEPTH,
        rounds: int | None = None) -> list[dict[str, float | str]]:
    """One row per (dtype, width): plain seconds per step, and per watched arm its rows recorded
    and the median/min/max over rounds of its overhead in %."""
    rows = []
    for dtype in dtypes:
        for width in widths:
            net = model(width, dtype, depth)
            x = torch.randn(BATCH, width, dtype=dtype, generator=torch.Generator().manual_seed(1))
            y = torch.arange(BATCH) % 10
            arms = {every: Arm(net, every) for every in ARMS}
            for arm in arms.values():
                arm.step(x, y)  # warm-up (allocator, first-call costs), then restart the clocks
                arm.seconds = 0.0
            n_rounds = rounds or rounds_for(width, repeat)
            per_round: dict[int | None, list[float]] = {every: [] for every in ARMS}
            for _ in range(n_rounds):
                start = {every: arm.seconds for every, arm in arms.items()}
                for _ in range(PERIOD):
                    for arm in arms.values():
                        arm.step(x, y)
                for every, arm in arms.items():
                    per_round[every].append(arm.seconds - start[every])
            recorded = {every: arm.finish() for every, arm in arms.items()}
            row: dict[str, float | str] = {
                "dtype": str(dtype).removeprefix("torch."), "width": width, "rounds": n_rounds,
                "plain_step_s": statistics.median(per_round[None]) / PERIOD}
            for every in ARMS[1:]:
                key = f"every{every}"
                pct = [100 * (t / p - 1) for t, p in zip(per_round[every], per_round[None],
                                                          strict=True)]
                row[f"{key}_rows"] = recorded[every]
                row[f"{key}_pct"] = statistics.median(pct)
                row[f"{key}_pct_min"], row[f"{key}_pct_max"] = min(pct), max(pct)
            rows.append(row)
    return rows


def main(repeat: int = 3, quick: bool = False, depth: int = DEPTH) -> None:
    """Print the table (quick: width 64 only)."""
    widths, repeat = (WIDTHS[:1], 1) if quick else (WIDTHS, repeat)
    print(f"gradscope.torch.watch overhead: MLP depth {depth} (ReLU), batch {BATCH}, SGD; "
          f"arms' steps interleaved, CPU time, overhead per round of {PERIOD} steps: median "
          f"[min, max]; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    head = (f"{'dtype':>8} {'width':>6} {'rounds':>6} {'plain/step':>11} "
            f"{'+% every=1':>22} {'+% every=10':>22}")
    print(head)
    print("-" * len(head))
    for r in (row for dtype in DTYPES for width in widths
              for row in run(repeat, (width,), (dtype,), depth)):  # printed as measured
        cells = [f"{r[f'{k}_pct']:>6.1f} [{r[f'{k}_pct_min']:>5.1f}, {r[f'{k}_pct_max']:>5.1f}]"
                 for k in ("every1", "every10")]
        per_step = 1e3 * float(r["plain_step_s"])
        print(f"{r['dtype']:>8} {r['width']:>6} {r['rounds']:>6} {per_step:>8.2f} ms "
              f"{cells[0]:>22} {cells[1]:>22}", flush=True)
    print("targets: every=10 ≤ 3 %, every=1 ≤ 15 % at width ≥ 256")
