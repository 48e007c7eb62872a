"""check_csv reads a sweep's CSV block by block: the same verdicts whatever the block size."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradscope.core.errors import DataError
from gradscope.sweeps import results
from gradscope.sweeps.results import RUNS_REQUIRED, check_csv

GOOD = "run_id,status,diagnosis,seed\n" + "".join(f"r{i},ok,healthy,{i}\n" for i in range(40))


@pytest.fixture(params=[3, 7, 1 << 20])
def block(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Tiny blocks split every line, a multi-byte character and the file's last byte."""
    monkeypatch.setattr(results, "BLOCK", request.param)
    return request.param


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "runs.csv"
    path.write_bytes(data)
    return path


def test_a_good_file_passes_in_any_block_size(tmp_path: Path, block: int) -> None:
    check_csv(_write(tmp_path, GOOD.replace("healthy", "gesund—ü").encode()), RUNS_REQUIRED,
              need_rows=True)


def test_a_bad_byte_is_named_by_its_offset_in_the_file(tmp_path: Path, block: int) -> None:
    data = GOOD.encode()
    at = len(data) - 25
    with pytest.raises(DataError, match=f"not UTF-8 text \\(byte {at}\\)"):
        check_csv(_write(tmp_path, data[:at] + b"\xff" + data[at + 1:]), RUNS_REQUIRED)


def test_a_cut_off_last_line_is_refused(tmp_path: Path, block: int) -> None:
    with pytest.raises(DataError, match="does not end with a line break"):
        check_csv(_write(tmp_path, GOOD.encode()[:-3]), RUNS_REQUIRED)


def test_a_blank_file_is_empty(tmp_path: Path, block: int) -> None:
    with pytest.raises(DataError, match="is empty"):
        check_csv(_write(tmp_path, b" \n" * 30), RUNS_REQUIRED)


def test_a_late_bad_row_is_named_by_its_line(tmp_path: Path, block: int) -> None:
    lines = GOOD.splitlines(keepends=True)
    lines[35] = "r34,ok,healthy,many\n"
    with pytest.raises(DataError, match="line 36: column seed holds 'many'"):
        check_csv(_write(tmp_path, "".join(lines).encode()), RUNS_REQUIRED)


def test_a_header_without_rows_lists_no_runs(tmp_path: Path, block: int) -> None:
    with pytest.raises(DataError, match="no rows"):
        check_csv(_write(tmp_path, GOOD.splitlines(keepends=True)[0].encode()), RUNS_REQUIRED,
                  need_rows=True)
