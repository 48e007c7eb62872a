"""`python -m gradscope.bench --torch`: what watching costs a PyTorch training loop.

A PyTorch MLP (depth 16, ReLU, batch 128) is trained for `STEPS` SGD steps without gradscope,
with `watch(every=1)` and with `watch(every=10)`, in float32 and float64, at widths 64, 256 and
1024; each figure is the best of `repeat` runs, all measured in one process.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from gradscope.torch import watch

STEPS = 30
DEPTH, BATCH = 16, 128
WIDTHS = (64, 256, 1024)


def _model(width: int, dtype: torch.dtype) -> nn.Sequential:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(DEPTH):
        layers += [nn.Linear(width, width, dtype=dtype), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 10, dtype=dtype))


def _train(width: int, dtype: torch.dtype, every: int | None) -> float:
    model = _model(width, dtype)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(BATCH, width, dtype=dtype)
    y = torch.randint(0, 10, (BATCH,))
    rec = watch(model, every=every) if every else None
    t0 = time.perf_counter()
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    if rec is not None:
        rec.to_frame()
        rec.detach()
    return time.perf_counter() - t0


def run(repeat: int = 3, widths: tuple[int, ...] = WIDTHS) -> list[dict[str, float]]:
    """Rows of (dtype, width, seconds plain / every=1 / every=10, overheads in %)."""
    rows = []
    for dtype in (torch.float32, torch.float64):
        for width in widths:
            best = {k: min(_train(width, dtype, k) for _ in range(repeat))
                    for k in (None, 1, 10)}
            rows.append({"dtype": str(dtype).removeprefix("torch."), "width": width,
                         "plain_s": best[None], "every1_s": best[1], "every10_s": best[10],
                         "every1_pct": 100 * (best[1] / best[None] - 1),
                         "every10_pct": 100 * (best[10] / best[None] - 1)})
    return rows


def main(repeat: int = 3, quick: bool = False) -> None:
    """Print the table."""
    widths = WIDTHS[:1] if quick else WIDTHS
    print(f"gradscope.torch.watch overhead: MLP depth {DEPTH}, batch {BATCH}, {STEPS} SGD steps, "
          f"best of {repeat}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    head = (f"{'dtype':>8} {'width':>6} {'plain':>9} {'every=1':>9} {'every=10':>9} "
            f"{'+% every=1':>11} {'+% every=10':>12}")
    print(head)
    print("-" * len(head))
    for r in run(1 if quick else repeat, widths):
        print(f"{r['dtype']:>8} {r['width']:>6} {r['plain_s']:>8.3f}s {r['every1_s']:>8.3f}s "
              f"{r['every10_s']:>8.3f}s {r['every1_pct']:>10.1f}% {r['every10_pct']:>11.1f}%")
    print("targets: every=10 ≤ 3 %, every=1 ≤ 15 % at width ≥ 256")
