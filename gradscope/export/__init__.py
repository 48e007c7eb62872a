"""Exporters: a sweep's or a saved run's CSVs (or a live recorder's frame) to other tools."""

from gradscope.export.tensorboard import (
    SCALARS,
    TensorBoardListener,
    export_tensorboard,
    write_frame,
)

__all__ = ["SCALARS", "TensorBoardListener", "export_tensorboard", "write_frame"]
