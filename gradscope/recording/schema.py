"""Column lists of the recorder's frames and the buffer's field layout, derived from `QUANTITIES`.

layers.csv = `ID_COLUMNS` + one column per quantity (`STAT_COLUMNS`); hist.csv = `HIST_COLUMNS`;
steps.csv = `STEP_COLUMNS` (written by the training loop's history). The buffer stores, per
(step, layer), one float per *field* (`FIELDS`: every source's fused fields, then the fields of
quantities with their own reduction), plus a "present" flag.
"""

from __future__ import annotations

from gradscope.recording.quantities import QUANTITIES, SOURCES

ID_COLUMNS = ("step", "layer", "name", "kind", "fan_in", "fan_out")
STAT_COLUMNS = tuple(q.name for q in QUANTITIES)
COLUMNS = ID_COLUMNS + STAT_COLUMNS
HIST_COLUMNS = ("step", "layer", "quantity", "bin_lo", "bin_hi", "count")
STEP_COLUMNS = ("step", "loss", "accuracy", "grad_global_norm")
INT_COLUMNS = frozenset({"step", "layer", "fan_in", "fan_out", "count"}
                        | {q.name for q in QUANTITIES if q.integer})
STR_COLUMNS = frozenset({"name", "kind", "quantity"})

# the buffer's fields: each source's fused fields contiguous (one slice write per source)
FIELDS: tuple[str, ...] = tuple(
    f"{source}.{field}" for source, s in SOURCES.items() for field in s.fields
) + tuple(q.fields[0] for q in QUANTITIES if q.reduce is not None)
FIELD_INDEX = {name: i for i, name in enumerate(FIELDS)}
SOURCE_SLICE = {
    source: slice(FIELD_INDEX[f"{source}.{s.fields[0]}"],
                  FIELD_INDEX[f"{source}.{s.fields[-1]}"] + 1)
    for source, s in SOURCES.items()
}
PRESENT = len(FIELDS)  # the flag column: 1.0 once the (step, layer) row was written
N_FIELDS = PRESENT + 1
# quantities with their own reduction, by the source they read: (field index, reduce)
OWN_REDUCTIONS = {
    source: tuple((FIELD_INDEX[q.fields[0]], q.reduce) for q in QUANTITIES
                  if q.reduce is not None and q.reads == source)
    for source in SOURCES
}


def empty_dtype(column: str) -> str:
    """dtype of `column` in an empty frame."""
    if column in STR_COLUMNS:
        return "str"
    return "int64" if column in INT_COLUMNS else "float64"


def check_quantities() -> None:
    """Every quantity reads fields that exist (called once at import)."""
    for q in QUANTITIES:
        if q.reduce is not None and q.reads not in SOURCES:
            raise ValueError(f"quantity {q.name!r} reduces unknown source {q.reads!r}")
        missing = [f for f in q.fields if f not in FIELD_INDEX]
        if missing:
            raise ValueError(f"quantity {q.name!r} reads unknown fields {missing}; "
                             f"known: {list(FIELD_INDEX)}")


check_quantities()
