"""Markdown through markdown-it-py (CommonMark + tables): blocks under their heading path.

Inline markup is reduced to its text (link text, image alt text, code spans); raw HTML blocks keep
their text content; fenced and indented code keeps its lines.
"""

from __future__ import annotations

from echo_documents.parsed import ParsedDocument
from lxml import etree
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from markdown_it.token import Token

from parse.extraction.blocks import BlockCollector, table_row
from parse.extraction.limits import ExtractionLimits
from parse.extraction.sniffing import MARKDOWN, decode_text


def extract_markdown(data: bytes, limits: ExtractionLimits) -> ParsedDocument:
    tokens = MarkdownIt("commonmark").enable("table").parse(decode_text(data))
    collector = BlockCollector(limits.max_output_chars)
    heading_level: int | None = None
    list_depth = 0
    row: list[str] | None = None
    rows: list[str] = []
    for token in tokens:
        match token.type:
            case "heading_open":
                heading_level = int(token.tag[1:])
            case "heading_close":
                heading_level = None
            case "bullet_list_open" | "ordered_list_open":
                list_depth += 1
            case "bullet_list_close" | "ordered_list_close":
                list_depth -= 1
            case "tr_open":
                row = []
            case "tr_close":
                rows.append(table_row(row or []))
                row = None
            case "table_close":
                collector.add("\n".join(r for r in rows if r), "table", keep_lines=True)
                rows = []
            case "inline" if row is not None:
                row.append(_inline_text(token))
            case "inline" if heading_level is not None:
                collector.heading(heading_level, _inline_text(token))
            case "inline":
                collector.add(_inline_text(token), "list_item" if list_depth else "paragraph")
            case "fence" | "code_block":
                collector.add(token.content, "code", keep_lines=True)
            case "html_block":
                collector.add(_html_text(token.content), "paragraph")
    return ParsedDocument(media_type=MARKDOWN, page_count=None, blocks=tuple(collector.blocks))


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_inline_text(child))
    return "".join(parts)


def _html_text(fragment: str) -> str:
    try:
        return str(lxml_html.fragment_fromstring(fragment, create_parent="div").text_content())
    except (etree.ParserError, ValueError):
        return ""
