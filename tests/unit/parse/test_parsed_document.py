"""ParsedDocument: the JSON contract between the parser and everything downstream."""

from __future__ import annotations

import json
import pickle
import sys

import pytest
from echo_documents.parsed import (
    ExtractionFailed,
    FailureCode,
    InvalidParsedDocument,
    ParsedDocument,
    TextBlock,
)

PDF = "application/pdf"


def a_document() -> ParsedDocument:
    return ParsedDocument(
        media_type=PDF,
        page_count=2,
        blocks=(
            TextBlock(text="Überblick", page=1, section=("Überblick",), kind="heading"),
            TextBlock(text="東京は日本の首都です。", page=2, section=("Überblick", "概要"), kind="paragraph"),
        ),
        language="de",
    )


def test_round_trips_through_json_keeping_positions_and_non_ascii_text() -> None:
    # Given a parsed document with pages, heading paths and non-Latin text
    document = a_document()
    # When it goes through its JSON form
    data = document.to_json_bytes()
    # Then it comes back equal, with the text stored as UTF-8 rather than escapes
    assert ParsedDocument.from_json_bytes(data) == document
    assert "東京".encode() in data
    assert document.char_count == len("Überblick") + len("東京は日本の首都です。")


def test_formats_without_pages_round_trip_with_none() -> None:
    document = ParsedDocument(
        media_type="text/markdown",
        page_count=None,
        blocks=(TextBlock(text="fn main() {}", page=None, section=(), kind="code"),),
    )
    assert ParsedDocument.from_json_bytes(document.to_json_bytes()) == document


def _tampered(**changes: object) -> bytes:
    raw = json.loads(a_document().to_json_bytes())
    block_changes = changes.pop("block", None)
    raw.update(changes)
    if isinstance(block_changes, dict):
        raw["blocks"][0].update(block_changes)
    return json.dumps(raw).encode()


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        _tampered(schema=2),
        _tampered(media_type="application/x-msdownload"),
        _tampered(page_count=-1),
        _tampered(page_count="2"),
        _tampered(page_count=True),
        _tampered(language=7),
        _tampered(blocks={}),
        _tampered(block={"kind": "script"}),
        _tampered(block={"text": ""}),
        _tampered(block={"text": 5}),
        _tampered(block={"page": 0}),
        _tampered(block={"page": 3}),
        _tampered(block={"section": "Überblick"}),
        _tampered(block={"section": [1]}),
        _tampered(block={"extra": "field"}),
        b"[" * (sys.getrecursionlimit() + 10),
    ],
    ids=lambda data: data[:60].decode(errors="replace"),
)
def test_refuses_anything_but_its_schema(data: bytes) -> None:
    with pytest.raises(InvalidParsedDocument):
        ParsedDocument.from_json_bytes(data)


def test_a_failure_carries_its_code_and_message_and_survives_pickling() -> None:
    failure = ExtractionFailed(FailureCode.ENCRYPTED, "the PDF is password-protected")
    copy = pickle.loads(pickle.dumps(failure))  # noqa: S301 - our own bytes
    assert (copy.code, copy.message) == (FailureCode.ENCRYPTED, "the PDF is password-protected")
    assert FailureCode("too_many_pages") is FailureCode.TOO_MANY_PAGES
