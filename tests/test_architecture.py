"""The architecture is a checked contract: layers import downwards only, the numpy network loads
no pandas/matplotlib, no module hides an import inside a function, and every module imports on
its own (no latent cycle)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gradscope"


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    out = subprocess.run([exe, str(ROOT / "pyproject.toml")], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


@pytest.mark.parametrize("module", ["gradscope", "gradscope.nn", "gradscope.core.registry"])
def test_light_imports_load_no_pandas_or_matplotlib(module: str) -> None:
    loaded = _fresh(f"import sys, {module}; print(sorted(m for m in ('pandas', 'matplotlib', "
                    "'PIL', 'click') if m in sys.modules))")
    assert loaded == "[]", f"import {module} loaded {loaded}"


def test_a_sweep_worker_loads_no_plotting() -> None:
    loaded = _fresh("import sys, gradscope.sweeps.run; print(sorted(m for m in ('matplotlib', "
                    "'PIL', 'click') if m in sys.modules))")
    assert loaded == "[]"


def test_every_public_name_resolves() -> None:
    names = _fresh("import gradscope as gs; bad = [n for n in gs.__all__ if getattr(gs, n, None)"
                   " is None]; print(bad)")
    assert names == "[]"


def test_no_import_cycle_anywhere() -> None:
    """No module reaches itself through its imports (a cycle hidden by import order would make
    `import gradscope.x` fail when x is imported first)."""
    graph = grimp.build_graph("gradscope", exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                cycles.append(" -> ".join((module, *chain)))
    assert cycles == []


def test_the_runner_imports_first() -> None:
    """The cycle of 0.1: importing the sweep runner first must work."""
    assert _fresh("import gradscope.sweeps.run, gradscope.sweeps.tryfix; print('ok')") == "ok"


def _function_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_import_hides_inside_a_function() -> None:
    """Function-level imports hide the dependency graph from the contract. Allowed: the lazy
    top-level package (PEP 562), optional extras and the benchmark script."""
    allowed = {"gradscope/__init__.py", "gradscope/bench.py"}
    hidden = [hit for p in PACKAGE.rglob("*.py") if str(p.relative_to(ROOT)) not in allowed
              for hit in _function_level_imports(p)]
    optional = {h for h in hidden if _is_optional_extra(h)}
    assert sorted(set(hidden) - optional) == []


def _is_optional_extra(hit: str) -> bool:
    """An import of an optional dependency (an extra), which must stay inside the function."""
    file, line = hit.split(":")
    text = (ROOT / file).read_text(encoding="utf-8").splitlines()[int(line) - 1]
    return any(extra in text for extra in ("distributed", "importlib.metadata", "torch",
                                           "tensorboard", "sklearn", "pyarrow"))
