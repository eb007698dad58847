"""In-process extraction: sniff the type, run its extractor, refuse empty results.

Runs only inside the sandboxed worker process (see sandbox.py); never call it on untrusted bytes
in the caller's own process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from echo_documents.parsed import ExtractionFailed, FailureCode, ParsedDocument

from parse.extraction.language import guess_language
from parse.extraction.limits import ExtractionLimits
from parse.extraction.sniffing import DOCX, HTML, MARKDOWN, PDF, TEXT, sniff_media_type

Extractor = Callable[[bytes, ExtractionLimits], ParsedDocument]


def extract(data: bytes, limits: ExtractionLimits) -> ParsedDocument:
    if len(data) > limits.max_bytes:
        raise ExtractionFailed(FailureCode.TOO_LARGE, _too_large(len(data), limits))
    if not data.strip():
        raise ExtractionFailed(FailureCode.EMPTY, "the file is empty")
    parsed = _extractor(sniff_media_type(data))(data, limits)
    if not parsed.blocks:
        raise ExtractionFailed(FailureCode.EMPTY, _no_text(parsed.media_type))
    return dataclasses.replace(parsed, language=guess_language([block.text for block in parsed.blocks]))


def _extractor(media_type: str) -> Extractor:
    # Imported on demand: the worker process loads only the libraries of the type it parses.
    if media_type == PDF:
        from parse.extraction.pdf import extract_pdf

        return extract_pdf
    if media_type == DOCX:
        from parse.extraction.word import extract_docx

        return extract_docx
    if media_type == HTML:
        from parse.extraction.webpage import extract_html

        return extract_html
    if media_type == MARKDOWN:
        from parse.extraction.markdown import extract_markdown

        return extract_markdown
    assert media_type == TEXT
    from parse.extraction.plain import extract_text

    return extract_text


def _too_large(size: int, limits: ExtractionLimits) -> str:
    return f"the file is {size / 1024 / 1024:.1f} MiB; the limit is {limits.max_bytes / 1024 / 1024:.0f} MiB"


def _no_text(media_type: str) -> str:
    if media_type == "application/pdf":
        return "the PDF has no extractable text (scanned pages are not read by OCR)"
    return "the document has no text"
