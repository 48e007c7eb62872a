"""Render a report document to Markdown, escaping every user-provided string."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gradscope.report.document import Block, Heading, Image, Para, Table

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape_md(text: object) -> str:
    """Text safe inside Markdown (and its tables): special characters backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")


def render_markdown(blocks: Iterable[Block]) -> str:
    """The whole document as Markdown text."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {escape_md(block.text)}")
        elif isinstance(block, Para):
            out.append(f"*{escape_md(block.text)}*" if block.note else escape_md(block.text))
        elif isinstance(block, Table):
            out.append("| " + " | ".join(escape_md(h) for h in block.header) + " |")
            out[-1] += "\n|" + "|".join("---" for _ in block.header) + "|"
            for row in block.rows:
                out[-1] += "\n| " + " | ".join(escape_md(c) for c in row) + " |"
        elif isinstance(block, Image):
            out.append(f"![{escape_md(block.title)}]({block.path})\n\n{escape_md(block.caption)}")
    return "\n\n".join(out) + "\n"
