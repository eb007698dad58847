"""Type sniffing: the bytes decide, never a name or a declared content type."""

# Greek letters and typographic quotes in the expected text are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from echo_documents.parsed import ExtractionFailed, FailureCode
from parse.extraction.sniffing import DOCX, HTML, MARKDOWN, PDF, TEXT, decode_text, sniff_media_type

from tests.unit.parse.documents import (
    SHARED_FIXTURES,
    docx_bytes,
    ole2_with_stream_renamed,
    pdf_bytes,
    zip_bytes,
)

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def test_a_pdf_is_a_pdf_whatever_it_was_called() -> None:
    # Given PDF bytes that a user uploaded as "notes.txt" (the name never reaches the sniffer)
    data = pdf_bytes(["Hello"])
    # Then the bytes say PDF, also with junk before the header as readers accept
    assert sniff_media_type(data) == PDF
    assert sniff_media_type(b"\x00junk\n" + data) == PDF


def test_a_docx_is_a_zip_holding_word_document_xml() -> None:
    assert sniff_media_type(docx_bytes(lambda d: d.add_paragraph("x"))) == DOCX


def test_other_zips_are_unsupported() -> None:
    spreadsheet = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
    with pytest.raises(ExtractionFailed) as failure:
        sniff_media_type(spreadsheet)
    assert failure.value.code == FailureCode.UNSUPPORTED_TYPE


def test_a_damaged_zip_is_malformed() -> None:
    with pytest.raises(ExtractionFailed) as failure:
        sniff_media_type(b"PK\x03\x04" + b"\x00" * 100)
    assert failure.value.code == FailureCode.MALFORMED


def test_an_encrypted_office_file_is_encrypted() -> None:
    data = (SHARED_FIXTURES / "password-protected.docx").read_bytes()
    with pytest.raises(ExtractionFailed) as failure:
        sniff_media_type(data)
    assert failure.value.code == FailureCode.ENCRYPTED
    assert "password" in failure.value.message


def test_a_legacy_word_file_is_unsupported_and_says_to_save_as_docx() -> None:
    # Given an OLE2 container holding a WordDocument stream (the binary .doc format)
    encrypted = (SHARED_FIXTURES / "password-protected.docx").read_bytes()
    legacy = ole2_with_stream_renamed(encrypted, "EncryptedPackage", "WordDocument")
    with pytest.raises(ExtractionFailed) as failure:
        sniff_media_type(legacy)
    assert failure.value.code == FailureCode.UNSUPPORTED_TYPE
    assert ".docx" in failure.value.message


def test_other_ole2_files_are_unsupported() -> None:
    encrypted = (SHARED_FIXTURES / "password-protected.docx").read_bytes()
    workbook = ole2_with_stream_renamed(encrypted, "EncryptedPackage", "Workbook")
    with pytest.raises(ExtractionFailed) as failure:
        sniff_media_type(workbook)
    assert failure.value.code == FailureCode.UNSUPPORTED_TYPE


def test_a_broken_ole2_container_is_malformed() -> None:
    with pytest.raises(ExtractionFailed) as failure:
        sniff_media_type(OLE2 + b"\x00" * 600)
    assert failure.value.code == FailureCode.MALFORMED


@pytest.mark.parametrize(
    "data",
    [
        Path(sys.executable).resolve().read_bytes()[:8192],  # an ELF (or other) executable
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200,  # a Windows .exe
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",  # gzip
        b"text with a NUL \x00 inside",
    ],
    ids=["executable", "windows-exe", "png", "gzip", "nul-in-text"],
)
def test_binary_files_are_unsupported(data: bytes) -> None:
    with pytest.raises(ExtractionFailed) as failure:
        sniff_media_type(data)
    assert failure.value.code == FailureCode.UNSUPPORTED_TYPE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!DOCTYPE html><html><body><p>Hi</p></body></html>", HTML),
        ("\n  <html lang='de'><p>Grüße</p></html>", HTML),
        ("<div class='x'>loose fragment</div>", HTML),
        ("<?xml version='1.0'?>\n<html xmlns='http://www.w3.org/1999/xhtml'><body/></html>", HTML),
        ("# Title\n\nSome text.", MARKDOWN),
        ("Intro\n\n```python\nprint(1)\n```\n", MARKDOWN),
        ("Title\n=====\n\n- one\n- two\n", MARKDOWN),
        ("Just a sentence.\nAnd another one, with a - dash.", TEXT),
        ("Use <b> for bold, not at the start", TEXT),
        ("Price: 5 < 6 and 7 > 3", TEXT),
    ],
)
def test_text_is_told_apart_as_html_markdown_or_plain(text: str, expected: str) -> None:
    assert sniff_media_type(text.encode()) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Größe: 5 €".encode(), "Größe: 5 €"),
        ("\ufeffGrüße".encode(), "Grüße"),
        ("Grüße aus Köln".encode("utf-16"), "Grüße aus Köln"),  # with its BOM
        (b"\xfe\xff" + "Καλημέρα".encode("utf-16-be"), "Καλημέρα"),
        ("Grüße aus Köln".encode("latin-1"), "Grüße aus Köln"),
        ("Preis: 5 € – Straße".encode("cp1252"), "Preis: 5 € – Straße"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "latin-1", "windows-1252"],
)
def test_text_is_decoded_from_bom_utf8_or_latin1(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected
    assert sniff_media_type(data) == TEXT


def test_utf16_without_a_bom_is_not_guessed() -> None:
    with pytest.raises(ExtractionFailed) as failure:
        sniff_media_type("plain words".encode("utf-16-le"))
    assert failure.value.code == FailureCode.UNSUPPORTED_TYPE


def test_a_bom_that_lies_is_malformed() -> None:
    with pytest.raises(ExtractionFailed) as failure:
        decode_text(b"\xff\xfe" + b"\x00\xd8")  # a lone UTF-16 surrogate
    assert failure.value.code == FailureCode.MALFORMED
