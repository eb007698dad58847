"""DOCX through python-docx: paragraphs and tables in reading order under their heading path.

Headings are recognized by their style (the built-in "Heading N"/"Title" names, which Word keeps in
English whatever the UI language) or by an outline level on the paragraph or its style chain.
Headers, footers, footnotes and comments are left out.
"""

from __future__ import annotations

import io
import re

import docx
from docx.styles.style import ParagraphStyle
from docx.table import Table
from docx.text.paragraph import Paragraph
from echo_documents.parsed import ParsedDocument

from parse.extraction.blocks import BlockCollector, table_row
from parse.extraction.limits import ExtractionLimits
from parse.extraction.sniffing import DOCX
from parse.extraction.zipguard import check_archive

_HEADING_STYLE = re.compile(r"^heading ([1-9])$", re.IGNORECASE)
_BODY_TEXT_OUTLINE_LEVEL = 9
_MAX_STYLE_CHAIN = 16  # basedOn chains can loop in hostile files


def extract_docx(data: bytes, limits: ExtractionLimits) -> ParsedDocument:
    check_archive(data, limits)
    document = docx.Document(io.BytesIO(data))
    collector = BlockCollector(limits.max_output_chars)
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            _add_table(collector, item)
        else:
            _add_paragraph(collector, item)
    return ParsedDocument(media_type=DOCX, page_count=None, blocks=tuple(collector.blocks))


def _add_paragraph(collector: BlockCollector, paragraph: Paragraph) -> None:
    level = _heading_level(paragraph)
    if level is not None:
        collector.heading(level, paragraph.text)
    elif _is_list_item(paragraph):
        collector.add(paragraph.text, "list_item")
    else:
        collector.add(paragraph.text, "paragraph")


def _add_table(collector: BlockCollector, table: Table) -> None:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # a merged cell repeats for every grid column it spans
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(cell.text)
        line = table_row(cells)
        if line:
            rows.append(line)
    collector.add("\n".join(rows), "table", keep_lines=True)


def _style_chain(paragraph: Paragraph) -> list[ParagraphStyle]:
    chain: list[ParagraphStyle] = []
    style: ParagraphStyle | None = paragraph.style
    while style is not None and len(chain) < _MAX_STYLE_CHAIN:
        chain.append(style)
        style = style.base_style
    return chain


def _heading_level(paragraph: Paragraph) -> int | None:
    chain = _style_chain(paragraph)
    for style in chain:
        name = style.name or ""
        if name.lower() == "title":
            return 0
        match = _HEADING_STYLE.match(name)
        if match:
            return int(match.group(1))
    elements = [paragraph._p, *(style.element for style in chain)]
    for element in elements:
        values = element.xpath("./w:pPr/w:outlineLvl/@w:val")
        if values:
            level = int(values[0]) if values[0].isdigit() else _BODY_TEXT_OUTLINE_LEVEL
            return level + 1 if level < _BODY_TEXT_OUTLINE_LEVEL else None
    return None


def _is_list_item(paragraph: Paragraph) -> bool:
    elements = [paragraph._p, *(style.element for style in _style_chain(paragraph))]
    return any(element.xpath("./w:pPr/w:numPr") for element in elements)
