"""The README's Python blocks run: every ```python block, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_python_blocks() -> None:
    assert len(_blocks()) >= 4


def test_every_readme_python_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch", reason="the README's PyTorch section needs gradscope[torch]")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    for i, code in enumerate(_blocks()):
        try:
            exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 - name the block that broke
            pytest.fail(f"README python block {i + 1} raised {type(exc).__name__}: {exc}\n{code}")
