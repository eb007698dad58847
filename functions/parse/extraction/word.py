"""DOCX through python-docx: paragraphs and tables in reading order under their heading path.

Headings are recognized by their style (the built-in "Heading N"/"Title" names, which Word keeps in
English whatever the UI language) or by an outline level on the paragraph or its style chain.
Headers, footers, footnotes and comments are left out.
"""

from __future__ import annotations

import io
import re

import docx
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.xmlchemy import BaseOxmlElement
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
    styles = _StyleIndex(document)
    collector = BlockCollector(limits.max_output_chars)
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            _add_table(collector, item)
        else:
            _add_paragraph(collector, item, styles)
    return ParsedDocument(media_type=DOCX, page_count=None, blocks=tuple(collector.blocks))


class _StyleIndex:
    """Heading level and list-ness of each paragraph style, resolved once along its basedOn chain."""

    def __init__(self, document: Document) -> None:
        self._by_id: dict[str | None, tuple[int | None, bool]] = {}
        for style in document.styles:
            if isinstance(style, ParagraphStyle):
                self._by_id[style.style_id] = _style_traits(style)
        default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        self._default = _style_traits(default) if isinstance(default, ParagraphStyle) else (None, False)

    def traits(self, paragraph: Paragraph) -> tuple[int | None, bool]:
        return self._by_id.get(paragraph._p.style, self._default)


def _style_traits(style: ParagraphStyle) -> tuple[int | None, bool]:
    chain: list[ParagraphStyle] = []
    current: ParagraphStyle | None = style
    while current is not None and len(chain) < _MAX_STYLE_CHAIN:
        chain.append(current)
        current = current.base_style
    level = next((lvl for lvl in map(_level_from_name, chain) if lvl is not None), None)
    if level is None:
        level = next((lvl for lvl in (_outline_level(s.element) for s in chain) if lvl is not None), None)
    is_list = any(s.element.xpath("./w:pPr/w:numPr") for s in chain)
    return level, is_list


def _level_from_name(style: ParagraphStyle) -> int | None:
    name = style.name or ""
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else None


def _outline_level(element: BaseOxmlElement) -> int | None:
    """The heading level an explicit outline level gives (0-8 -> 1-9); 9 means body text."""
    values = element.xpath("./w:pPr/w:outlineLvl/@w:val")
    if not values:
        return None
    level = int(values[0]) if values[0].isdigit() else _BODY_TEXT_OUTLINE_LEVEL
    return level + 1 if level < _BODY_TEXT_OUTLINE_LEVEL else None


def _add_paragraph(collector: BlockCollector, paragraph: Paragraph, styles: _StyleIndex) -> None:
    style_level, style_list = styles.traits(paragraph)
    has_own_outline = bool(paragraph._p.xpath("./w:pPr/w:outlineLvl"))
    level = _outline_level(paragraph._p) if has_own_outline else style_level
    if level is not None:
        collector.heading(level, paragraph.text)
    elif style_list or paragraph._p.xpath("./w:pPr/w:numPr"):
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
