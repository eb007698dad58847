"""PDF text through PDFium (pypdfium2): one position per page, sections from the bookmarks.

The page count is checked before any page is loaded. A page PDFium cannot load is skipped (its
text is not recoverable) while the others are kept; a document with no loadable page is malformed.
"""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from echo_documents.parsed import ExtractionFailed, FailureCode, ParsedDocument

from parse.extraction.blocks import MAX_HEADING_CHARS, MAX_SECTION_DEPTH, BlockCollector
from parse.extraction.limits import ExtractionLimits
from parse.extraction.sniffing import PDF

MAX_BOOKMARKS = 5_000
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
# PDFium marks a hyphen that breaks a word at the end of a line with U+0002 or U+FFFE
_BROKEN_WORD = re.compile(r"[\x02\ufffe]\r?\n")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def extract_pdf(data: bytes, limits: ExtractionLimits) -> ParsedDocument:
    document = _open(data)
    try:
        page_count = len(document)
        if page_count > limits.max_pages:
            raise ExtractionFailed(
                FailureCode.TOO_MANY_PAGES,
                f"the PDF has {page_count:,} pages; the limit is {limits.max_pages:,}",
            )
        sections = _page_sections(document, page_count)
        collector = BlockCollector(limits.max_output_chars)
        loaded = 0
        for index in range(page_count):
            text = _page_text(document, index)
            if text is None:
                continue
            loaded += 1
            for paragraph in _PARAGRAPH_BREAK.split(text):
                collector.add(
                    paragraph, "paragraph", page=index + 1, section=sections[index], keep_lines=True
                )
        if page_count and not loaded:
            raise ExtractionFailed(FailureCode.MALFORMED, "no page of the PDF could be read")
        return ParsedDocument(media_type=PDF, page_count=page_count, blocks=tuple(collector.blocks))
    finally:
        document.close()


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if error.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise ExtractionFailed(
                FailureCode.ENCRYPTED, "the PDF is password-protected; save it without a password"
            ) from error
        raise ExtractionFailed(FailureCode.MALFORMED, "the PDF is damaged and cannot be read") from error


def _page_text(document: pdfium.PdfDocument, index: int) -> str | None:
    try:
        page = document[index]
    except pdfium.PdfiumError:
        return None
    try:
        text_page = page.get_textpage()
        try:
            text = text_page.get_text_range()
        finally:
            text_page.close()
    except pdfium.PdfiumError:
        return None
    finally:
        page.close()
    return _BROKEN_WORD.sub("", text).translate(_LIGATURES).replace("\r\n", "\n")


def _page_sections(document: pdfium.PdfDocument, page_count: int) -> list[tuple[str, ...]]:
    """Each page's heading path from the bookmarks: the first bookmark starting on the page, else the
    last one in force from the pages before."""
    starts: dict[int, list[tuple[str, ...]]] = {}
    path: list[str] = []
    for number, bookmark in enumerate(document.get_toc(max_depth=MAX_SECTION_DEPTH)):
        if number >= MAX_BOOKMARKS:
            break
        del path[bookmark.level :]
        path.append(" ".join(bookmark.get_title().split())[:MAX_HEADING_CHARS])
        destination = bookmark.get_dest()
        index = destination.get_index() if destination is not None else None
        if index is not None and 0 <= index < page_count:
            starts.setdefault(index, []).append(tuple(path))
    sections: list[tuple[str, ...]] = []
    in_force: tuple[str, ...] = ()
    for index in range(page_count):
        on_page = starts.get(index)
        sections.append(on_page[0] if on_page else in_force)
        if on_page:
            in_force = on_page[-1]
    return sections
