"""The architecture is a checked contract: layers import downwards only, the numpy network loads
no pandas/matplotlib, no module hides an import inside a function, and every module imports on
its own (no latent cycle)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gradscope"

# Convenience methods on the recorder delegate upward (ARCHITECTURE.md): the ONLY function-level
# imports of gradscope modules allowed, each declared as an `ignore_imports` entry of the layers
# contract in pyproject.toml. (importer module, imported module):
UPWARD_CONVENIENCES = {
    ("gradscope.recording.recorder", "gradscope.sweeps.save"),         # rec.save(DIR)
    ("gradscope.recording.recorder", "gradscope.plots.profile"),       # rec.plot()
    ("gradscope.recording.recorder", "gradscope.export.tensorboard"),  # rec.tensorboard(logdir)
}


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
    for importer, imported in UPWARD_CONVENIENCES:  # run-time imports, inside a method
        graph.remove_import(importer=importer, imported=imported)
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


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _function_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    names = ([node.module] if isinstance(node, ast.ImportFrom)
                             else [a.name for a in node.names])
                    if all((_module_name(path), n) in UPWARD_CONVENIENCES for n in names):
                        continue  # a declared upward convenience
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_import_hides_inside_a_function() -> None:
    """Function-level imports hide the dependency graph from the contract. Allowed: the lazy
    top-level package (PEP 562), optional extras, the benchmark script and the declared
    upward conveniences of the recorder (UPWARD_CONVENIENCES)."""
    allowed = {"gradscope/__init__.py", "gradscope/bench.py"}
    hidden = [hit for p in PACKAGE.rglob("*.py") if str(p.relative_to(ROOT)) not in allowed
              for hit in _function_level_imports(p)]
    optional = {h for h in hidden if _is_optional_extra(h)}
    assert sorted(set(hidden) - optional) == []


def test_upward_conveniences_are_declared_in_pyproject() -> None:
    """The allow-list here and the layers contract's ignore_imports name the same imports,
    and each is really made inside a function of the importer."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = next(c for c in config["tool"]["importlinter"]["contracts"]
                  if c["type"] == "layers")
    declared = {tuple(part.strip() for part in entry.split("->"))
                for entry in layers.get("ignore_imports", [])}
    assert declared == UPWARD_CONVENIENCES
    for importer, imported in UPWARD_CONVENIENCES:
        path = ROOT / (importer.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside = {node.module for fn in ast.walk(tree)
                  if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
                  for node in ast.walk(fn) if isinstance(node, ast.ImportFrom)}
        assert imported in inside, f"{importer} does not import {imported} in a function"


def _is_optional_extra(hit: str) -> bool:
    """An import of an optional dependency (an extra), which must stay inside the function."""
    file, line = hit.split(":")
    text = (ROOT / file).read_text(encoding="utf-8").splitlines()[int(line) - 1]
    return any(extra in text for extra in ("distributed", "importlib.metadata", "torch",
                                           "tensorboard", "sklearn", "pyarrow"))
