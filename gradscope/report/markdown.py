"""Render a report document to Markdown, escaping every user-provided string."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gradscope.report.document import (
    Block,
    Contents,
    Details,
    Heading,
    Image,
    Para,
    Table,
    contents_entries,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape_md(text: object) -> str:
    """Text safe inside Markdown (and its tables): special characters backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")


def _block(block: Block, entries: list[Heading]) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {escape_md(block.text)}"
    if isinstance(block, Para):
        if block.lead:
            return f"**{escape_md(block.text)}**"
        return f"*{escape_md(block.text)}*" if block.note else escape_md(block.text)
    if isinstance(block, Table):
        out = "| " + " | ".join(escape_md(h) for h in block.header) + " |"
        out += "\n|" + "|".join("---" for _ in block.header) + "|"
        for row in block.rows:
            out += "\n| " + " | ".join(escape_md(c) for c in row) + " |"
        return out
    if isinstance(block, Image):
        return f"![{escape_md(block.title)}]({block.path})\n\n{escape_md(block.caption)}"
    if isinstance(block, Details):
        return "\n\n".join([escape_md(block.summary),
                            *(_block(b, entries) for b in block.blocks)])
    if isinstance(block, Contents):
        return "\n".join(f"{i}. [{escape_md(h.text)}](#{h.anchor})"
                         for i, h in enumerate(entries, 1))
    raise TypeError(f"unknown report block {type(block).__name__}")


def render_markdown(blocks: Iterable[Block]) -> str:
    """The whole document as Markdown text (a Details block is shown expanded)."""
    blocks = list(blocks)
    entries = contents_entries(blocks)
    return "\n\n".join(_block(b, entries) for b in blocks) + "\n"
