"""The optional columnar output (`--format parquet`, the `parquet` extra: pyarrow): a sweep's
per-layer tables as Parquet files, written run by run and read back as the CSVs are."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from gradscope.core.atomic import atomic_open
from gradscope.core.errors import ConfigError

try:  # an optional extra: without it, only --format csv
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:  # pragma: no cover - depends on the installation
    pa = pq = None

ROW_GROUP = 65536  # rows buffered per Parquet row group (a tiny run has a few dozen)


def check_parquet() -> None:
    """ConfigError unless pyarrow is installed (the `parquet` extra)."""
    if pa is None:
        raise ConfigError("--format parquet needs pyarrow: pip install 'gradscope[parquet]' "
                          "(or pip install pyarrow). Valid formats without it: csv.")


@contextmanager
def parquet_sink(path: Path, columns: list[str]) -> Iterator[Callable[[pd.DataFrame], None]]:
    """A function taking frames with the same columns (and dtypes), written as one Parquet file,
    atomically, at most about ROW_GROUP rows held in memory."""
    check_parquet()
    state: dict = {"writer": None, "pending": [], "size": 0}
    with atomic_open(path, "wb") as fh:

        def write(frame: pd.DataFrame) -> None:
            state["pending"].append(frame)
            state["size"] += len(frame)
            if state["size"] >= ROW_GROUP:
                state["writer"] = _flush(state["writer"], state["pending"], fh)
                state["pending"], state["size"] = [], 0

        yield write
        if state["pending"] or state["writer"] is None:
            frames = state["pending"] or [pd.DataFrame(columns=columns)]
            state["writer"] = _flush(state["writer"], frames, fh)
        state["writer"].close()


def write_parquet(frames: Iterable[pd.DataFrame], columns: list[str], path: Path) -> None:
    """Write frames with the same columns (and dtypes) as one Parquet file (`parquet_sink`)."""
    with parquet_sink(path, columns) as write:
        for frame in frames:
            write(frame)


def _flush(writer, frames: list[pd.DataFrame], fh):
    table = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
    if writer is None:
        writer = pq.ParquetWriter(fh, table.schema)
    writer.write_table(table.cast(writer.schema))
    return writer


def parquet_batches(path: Path, rows: int, columns: list[str] | None = None
                    ) -> Iterator[pd.DataFrame]:
    """A Parquet table as frames of at most `rows` rows (run_id as text), in file order."""
    check_parquet()
    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns):
        frame = batch.to_pandas()
        if "run_id" in frame.columns:
            frame["run_id"] = frame["run_id"].astype(str)
        yield frame


def parquet_columns(path: Path) -> list[str]:
    """The column names of a Parquet table."""
    check_parquet()
    return list(pq.ParquetFile(path).schema_arrow.names)


def read_parquet(path: Path) -> pd.DataFrame:
    """A table written by `write_parquet` (run_id as text)."""
    check_parquet()
    frame = pd.read_parquet(path)
    if "run_id" in frame.columns:
        frame["run_id"] = frame["run_id"].astype(str)
    return frame
