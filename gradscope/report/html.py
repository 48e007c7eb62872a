"""Render a report document to one self-contained HTML file (inline CSS, embedded images)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from html import escape

from gradscope.report.document import Block, Heading, Image, Para, Table

CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif;
       max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { margin-top: 2em; border-bottom: 1px solid #eee; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.92em; color: #333; margin-top: .4em; }
.note { color: #777; font-style: italic; }
"""



POWER = re.compile(r"10\^([+\-−]?\d+(?:\.\d+)?)")


def text(value: str) -> str:
    """Escape a user-visible string, then show powers of ten as superscripts (10^-7.7)."""
    return POWER.sub(r"10<sup>\1</sup>", escape(str(value)))

def _table(block: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in block.header)
    rows = "".join("<tr>" + "".join(f"<td>{text(c)}</td>" for c in row) + "</tr>"
                   for row in block.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def render_html(blocks: Iterable[Block], images: Mapping[str, bytes], title: str) -> str:
    """The whole document as HTML; `images` maps each Image.path to its PNG bytes."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            level = min(max(block.level, 1), 6)
            parts.append(f"<h{level}>{escape(block.text)}</h{level}>")
        elif isinstance(block, Para):
            cls = ' class="note"' if block.note else ""
            parts.append(f"<p{cls}>{text(block.text)}</p>")
        elif isinstance(block, Table):
            parts.append(_table(block))
        elif isinstance(block, Image):
            data = base64.b64encode(images[block.path]).decode("ascii")
            parts.append(f'<figure><img src="data:image/png;base64,{data}" '
                         f'alt="{escape(block.title)}"><figcaption>{text(block.caption)}'
                         "</figcaption></figure>")
    body = "\n".join(parts)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
            "</body>\n</html>\n")
