"""A tiny document model (headings, paragraphs, tables, figures) rendered to Markdown and HTML."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """An anchor id for a heading: lower case, runs of other characters become one dash."""
    return _NOT_SLUG.sub("-", text.lower()).strip("-") or "section"


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1 = the title); `anchor` is its id in the page."""

    level: int
    text: str

    @property
    def anchor(self) -> str:
        """The heading's id (the table of contents links to it)."""
        return slug(self.text)


@dataclass(frozen=True)
class Para:
    """A paragraph of plain text (user-provided strings are escaped by the renderers)."""

    text: str
    note: bool = False  # rendered in a muted style (e.g. "skipped: needs columns ...")
    lead: bool = False  # the headline: rendered large and bold


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


@dataclass(frozen=True)
class Details:
    """Blocks that HTML shows collapsed under a one-line summary (Markdown shows them all)."""

    summary: str
    blocks: tuple[Heading | Para | Table | Image, ...]


@dataclass(frozen=True)
class Contents:
    """The table of contents: a link to every level-2 heading of the document."""


Block = Heading | Para | Table | Image | Details | Contents


def contents_entries(blocks: list[Block] | tuple[Block, ...]) -> list[Heading]:
    """The level-2 headings of `blocks` (the entries of the table of contents)."""
    return [b for b in blocks if isinstance(b, Heading) and b.level == 2]
