"""Reading a user's numeric CSV file, with a `DataError` that points at the offending cell."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from gradscope.core.errors import ConfigError, DataError


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row."""
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise DataError(f"CSV file {str(path)!r} {what}; dataset csv:PATH needs an existing "
                        "file of numbers, one example per row, the target in the last column.")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            return [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"CSV file {str(path)!r} cannot be read as CSV text ({exc}); expected "
                        "comma-separated numbers.") from None


def _column_label(col: int, names: list[str] | None) -> str:
    return f"column {col + 1} ({names[col]!r})" if names else f"column {col + 1}"


def read_numeric_csv(path: str | Path, target: str | int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read `path` into features X (n, d), target y (n,) and the column names (d + 1 of them).

    An optional first row of column names is recognised by having no numeric cell. The target is
    the last column unless `target` names a column (by header name or 0-based index).
    """
    path = Path(path)
    rows = _read_rows(path)
    name = repr(str(path))
    if not rows:
        raise DataError(f"CSV file {name} is empty; expected rows of numbers (an optional "
                        "header row first), one example per row, the target in the last column.")
    names: list[str] | None = None
    if not any(_is_number(c) for c in rows[0][1]):  # a header: no cell is a number
        names = [c.strip() for c in rows[0][1]]
        rows = rows[1:]
        if not rows:
            raise DataError(f"CSV file {name} has a header row but no data rows.")
    width = len(names) if names else len(rows[0][1])
    if width < 2:
        raise DataError(f"CSV file {name} has {width} column; it needs at least 2 (one or more "
                        "feature columns and a target column).")
    for line, row in rows:
        if len(row) != width:
            raise DataError(f"CSV file {name}, line {line}: {len(row)} cells, but the first row "
                            f"has {width}; every row needs the same number of columns.")
    cells = [row for _, row in rows]
    try:
        table = np.array(cells, dtype=np.float64)
    except ValueError:
        line, col, text = next((ln, j, c) for ln, row in rows for j, c in enumerate(row)
                               if not _is_number(c))
        raise DataError(f"CSV file {name}, line {line}, {_column_label(col, names)}: {text!r} is "
                        "not a number; every cell must be numeric (empty cells are not "
                        "allowed).") from None
    bad = np.argwhere(~np.isfinite(table))
    if len(bad):
        i, col = bad[0]
        raise DataError(f"CSV file {name}, line {rows[i][0]}, {_column_label(col, names)}: "
                        f"{cells[i][col].strip()!r} is not a finite number; missing values (NaN) "
                        "and infinities are not supported, remove or fill those rows.")
    names = names or [f"x{j}" for j in range(width)]
    t = _target_index(target, names, name)
    return np.delete(table, t, axis=1), table[:, t], names


def _target_index(target: str | int | None, names: list[str], file: str) -> int:
    width = len(names)
    if target is None:
        return width - 1
    if isinstance(target, str) and target in names:
        return names.index(target)
    if isinstance(target, int) and not isinstance(target, bool) and -width <= target < width:
        return target % width
    raise ConfigError(f"target = {target!r} is not a column of CSV file {file}; give a column "
                      f"name ({', '.join(names)}) or an index from 0 to {width - 1}.")
