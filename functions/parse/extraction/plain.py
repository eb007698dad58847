"""Plain text: paragraphs split at blank lines, no positions beyond their order."""

from __future__ import annotations

import re

from echo_documents.parsed import ParsedDocument

from parse.extraction.blocks import BlockCollector
from parse.extraction.limits import ExtractionLimits
from parse.extraction.sniffing import TEXT, decode_text

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")


def extract_text(data: bytes, limits: ExtractionLimits) -> ParsedDocument:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    collector = BlockCollector(limits.max_output_chars)
    for paragraph in _PARAGRAPH_BREAK.split(text):
        collector.add(paragraph, "paragraph", keep_lines=True)
    return ParsedDocument(media_type=TEXT, page_count=None, blocks=tuple(collector.blocks))
