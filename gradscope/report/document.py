"""A tiny document model (headings, paragraphs, tables, figures) rendered to Markdown and HTML."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1 = the title)."""

    level: int
    text: str


@dataclass(frozen=True)
class Para:
    """A paragraph of plain text (user-provided strings are escaped by the renderers)."""

    text: str
    note: bool = False  # rendered in a muted style (e.g. "skipped: needs columns ...")


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    """A plot: its file relative to the report, its title and its caption."""

    path: str
    title: str
    caption: str


Block = Heading | Para | Table | Image
