"""The environment a sweep ran in (recorded in manifest.json): what results depend on.

Results are bit-identical for any worker count on one machine and one BLAS kernel. Another CPU
(or `OPENBLAS_CORETYPE`) may pick another BLAS kernel, whose rounding differs in the last bits;
step-0 quantities then agree to ~1e-12 while trained values may drift apart. So the manifest
names the Python and numpy versions, the BLAS library and its kernel (via threadpoolctl, when
installed), the CPU model and gradscope's version.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

try:  # optional (the `test` extra): names numpy's BLAS library and its kernel
    from threadpoolctl import threadpool_info
except ImportError:  # pragma: no cover
    threadpool_info = None

DISTRIBUTIONS = ("gradscope", "numpy", "pandas", "click", "dask", "distributed")


def versions() -> dict[str, str]:
    """Python's and every relevant distribution's version."""
    found = {"python": platform.python_version()}
    for dist in DISTRIBUTIONS:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return found


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (or platform.processor() elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> list[dict[str, Any]]:
    """numpy's BLAS libraries: name, version, kernel ('architecture'), threads."""
    if threadpool_info is None:
        return [{"internal_api": "unknown (install threadpoolctl to record the BLAS kernel)"}]
    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()
            if info.get("user_api") == "blas"]


def environment() -> dict[str, Any]:
    """Everything manifest.json records about where the numbers came from."""
    return {
        "versions": versions(),
        "blas": blas_info(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "cpu": cpu_model(),
        "machine": {"platform": platform.platform(), "machine": platform.machine(),
                    "cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
