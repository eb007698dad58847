"""What a file is, decided from its bytes alone (never its name or declared content type).

Binary formats by their signatures; text by decoding (BOM, then UTF-8, then Latin-1/Windows-1252),
HTML by the WHATWG MIME-sniffing tag patterns, Markdown by its block syntax.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Final

from echo_documents.parsed import ExtractionFailed, FailureCode

PDF: Final = "application/pdf"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML: Final = "text/html"
MARKDOWN: Final = "text/markdown"
TEXT: Final = "text/plain"

PDF_SIGNATURE = b"%PDF-"
PDF_HEADER_WINDOW = 1024  # readers accept junk before the header within the first KiB
ZIP_SIGNATURE = b"PK\x03\x04"
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SNIFF_WINDOW = 4096

# WHATWG MIME Sniffing, "identifying a resource with an unknown MIME type": each followed by a
# tag-terminating byte (space or >).
_HTML_TAGS = (
    "!doctype html", "html", "head", "script", "iframe", "h1", "div", "font", "table", "a", "style",
    "title", "b", "body", "br", "p", "!--",
)  # fmt: skip
_HTML_START = re.compile(r"\A\s*<(" + "|".join(re.escape(t) for t in _HTML_TAGS) + r")[\s>]", re.IGNORECASE)
_XHTML_START = re.compile(r"\A\s*<\?xml[^>]*\?>\s*(<!doctype html[^>]*>\s*)?<html[\s>]", re.IGNORECASE)
# C0 controls other than tab, newline, form feed, carriage return and escape mark binary data
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_MD_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_MD_FENCE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)
_MD_SETEXT = re.compile(r"^\S.*\n {0,3}(=+|-+)[ \t]*$", re.MULTILINE)
_MD_LIST = re.compile(r"^ {0,3}([*+-]|\d{1,9}[.)])[ \t]+\S", re.MULTILINE)
_MD_LINK = re.compile(r"!?\[[^\]\n]+\]\([^)\s]+\)|^ {0,3}\[[^\]\n]+\]:\s*\S+", re.MULTILINE)
_MD_EMPHASIS = re.compile(r"`[^`\n]+`|\*\*[^*\n]+\*\*")


def sniff_media_type(data: bytes) -> str:
    """The media type of `data`, or ExtractionFailed (unsupported_type, encrypted, malformed)."""
    if PDF_SIGNATURE in data[:PDF_HEADER_WINDOW]:
        return PDF
    if data.startswith(ZIP_SIGNATURE):
        return _sniff_zip(data)
    if data.startswith(OLE2_SIGNATURE):
        raise _sniff_ole2(data)
    return sniff_text(decode_text(data))


def _sniff_zip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise ExtractionFailed(FailureCode.MALFORMED, "the file is a damaged zip archive") from error
    if "word/document.xml" in names:
        return DOCX
    raise ExtractionFailed(
        FailureCode.UNSUPPORTED_TYPE, "zip archives other than Word documents (.docx) are not supported"
    )


def _sniff_ole2(data: bytes) -> ExtractionFailed:
    """OLE2/CFB: an encrypted OOXML file (Office wraps those in CFB) or a legacy binary format."""
    import olefile  # rare input: keep it off the import path of every other parse

    try:
        with olefile.OleFileIO(data) as container:
            encrypted = container.exists("EncryptionInfo") and container.exists("EncryptedPackage")
            legacy_word = container.exists("WordDocument")
    except (OSError, ValueError, IndexError, TypeError):
        return ExtractionFailed(FailureCode.MALFORMED, "the file is a damaged Office container")
    if encrypted:
        return ExtractionFailed(
            FailureCode.ENCRYPTED, "the document is password-protected; save it without a password"
        )
    if legacy_word:
        return ExtractionFailed(
            FailureCode.UNSUPPORTED_TYPE, "legacy Word files (.doc) are not supported; save it as .docx"
        )
    return ExtractionFailed(FailureCode.UNSUPPORTED_TYPE, "legacy Office files are not supported")


def decode_text(data: bytes) -> str:
    """Text from bytes: a BOM decides, else UTF-8, else Windows-1252/Latin-1; binary data is refused."""
    text = _decode(data)
    if _BINARY_CHARS.search(text, 0, SNIFF_WINDOW * 4) or "\x00" in text:
        raise ExtractionFailed(FailureCode.UNSUPPORTED_TYPE, "the file is not a supported document type")
    return text


def _decode(data: bytes) -> str:
    boms = (("utf-8-sig", b"\xef\xbb\xbf"), ("utf-16", b"\xff\xfe"), ("utf-16", b"\xfe\xff"))
    for encoding, bom in boms:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as error:
                raise ExtractionFailed(FailureCode.MALFORMED, f"the text is not valid {encoding}") from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def sniff_text(text: str) -> str:
    head = text[:SNIFF_WINDOW]
    if _HTML_START.match(head) or _XHTML_START.match(head):
        return HTML
    if _looks_like_markdown(text[: SNIFF_WINDOW * 16]):
        return MARKDOWN
    return TEXT


def _looks_like_markdown(text: str) -> bool:
    """ATX headings or code fences decide; otherwise at least two kinds of Markdown syntax."""
    if _MD_HEADING.search(text) or _MD_FENCE.search(text):
        return True
    signals = (_MD_SETEXT, _MD_LIST, _MD_LINK, _MD_EMPHASIS)
    return sum(1 for pattern in signals if pattern.search(text)) >= 2
