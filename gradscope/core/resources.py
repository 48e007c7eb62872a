"""How much memory this machine has, and a check that refuses work that cannot fit in it."""

from __future__ import annotations

import os

from gradscope.core.errors import ConfigError


def machine_memory() -> int:
    """Physical memory in bytes (0 when the platform does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return 0


def format_bytes(n: float) -> str:
    """1536 → '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def check_memory(needed: float, what: str, hint: str) -> None:
    """Raise ConfigError when `needed` bytes exceed this machine's physical memory."""
    total = machine_memory()
    if total and needed > total:
        raise ConfigError(
            f"{what} needs about {format_bytes(needed)} of memory, but this machine has "
            f"{format_bytes(total)}. Nothing was run. {hint}")


ENSEMBLE_BUDGET = 512 * 1024**2  # bytes one ensemble may use (a share of RAM on small machines)


def ensemble_cap(member_bytes: float, budget: float | None = None) -> int:
    """How many runs of `member_bytes` each one stacked ensemble may hold: within `budget`
    (default: ENSEMBLE_BUDGET, at most 1/8 of this machine's memory); at least 1."""
    if budget is None:
        total = machine_memory()
        budget = min(ENSEMBLE_BUDGET, total / 8) if total else ENSEMBLE_BUDGET
    return max(1, int(budget // max(member_bytes, 1)))
