"""Render a report document to one self-contained HTML file (inline CSS, embedded images)."""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from html import escape

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

CSS = """
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif;
       max-width: 1180px; margin: 1.5em auto; padding: 0 16px; color: #222; line-height: 1.45;
       overflow-wrap: break-word; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; margin-bottom: .4em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #eee; }
.lead { font-size: 1.25em; font-weight: 600; margin: .6em 0; }
.description { font-size: 1.05em; color: #333; }
nav.toc { background: #f7f7f7; border: 1px solid #e4e4e4; padding: .4em 1em; margin: 1em 0; }
nav.toc ol { margin: .2em 0; padding-left: 1.4em; columns: 2 16em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .6em 0; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
tr:nth-child(even) td { background: #fafafa; }
td.wide { min-width: 24em; }
figure { margin: 1.2em 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.92em; color: #333; margin-top: .4em; }
details { margin: 1em 0; }
summary { cursor: pointer; font-weight: 600; }
.pow { white-space: nowrap; }
.note { color: #666; font-style: italic; }
.error { border-left: 4px solid #d62728; padding-left: .8em; }
"""

POWER = re.compile(r"10\^([+\-−±]?\d+(?:\.\d+)?)")


def text(value: str) -> str:
    """Escape a user-visible string, then show powers of ten as superscripts (10^-7.7) that
    never break across lines."""
    return POWER.sub(r'<span class="pow">10<sup>\1</sup></span>', escape(str(value)))


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, read from its IHDR header (shown at that size at most)."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _table(block: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in block.header)
    wide = {i for i, h in enumerate(block.header) if h in ("findings", "error")}
    cls = ['<td class="wide">' if i in wide else "<td>" for i in range(len(block.header))]
    rows = "".join("<tr>" + "".join(f"{cls[i]}{text(c)}</td>" for i, c in enumerate(row))
                   + "</tr>" for row in block.rows)
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def _contents(entries: Sequence[Heading]) -> str:
    items = "".join(f'<li><a href="#{h.anchor}">{escape(h.text)}</a></li>' for h in entries)
    return f'<nav class="toc" aria-label="Contents"><strong>Contents</strong><ol>{items}</ol></nav>'


def _block(block: Block, images: Mapping[str, bytes], entries: Sequence[Heading]) -> str:
    if isinstance(block, Heading):
        level = min(max(block.level, 1), 6)
        return f'<h{level} id="{block.anchor}">{escape(block.text)}</h{level}>'
    if isinstance(block, Para):
        cls = "lead" if block.lead else "note" if block.note else ""
        attr = f' class="{cls}"' if cls else ""
        return f"<p{attr}>{text(block.text)}</p>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Image):
        png = images[block.path]
        data = base64.b64encode(png).decode("ascii")
        width, height = png_size(png)
        return (f'<figure><img src="data:image/png;base64,{data}" '
                f'alt="{escape(block.title)}" width="{width}" height="{height}">'
                f"<figcaption>{text(block.caption)}</figcaption></figure>")
    if isinstance(block, Details):
        inner = "\n".join(_block(b, images, entries) for b in block.blocks)
        return f"<details><summary>{text(block.summary)}</summary>\n{inner}\n</details>"
    if isinstance(block, Contents):
        return _contents(entries)
    raise TypeError(f"unknown report block {type(block).__name__}")


def render_html(blocks: Iterable[Block], images: Mapping[str, bytes], title: str) -> str:
    """The whole document as HTML; `images` maps each Image.path to its PNG bytes."""
    blocks = list(blocks)
    entries = contents_entries(blocks)
    body = "\n".join(_block(b, images, entries) for b in blocks)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
            "</body>\n</html>\n")
