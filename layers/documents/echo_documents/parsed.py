"""A parsed document: the text blocks of one file with their positions, and why parsing can fail.

This is the contract between the parse function and everything downstream (chunking, storage of
`parsed/{tenant}/{document_id}.json`). Standard library only: many functions import it.
`from_json_bytes` validates strictly, because the bytes come from a sandboxed parser or from S3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1
BLOCK_KINDS = frozenset({"heading", "paragraph", "table", "list_item", "code"})
MEDIA_TYPES = frozenset(
    {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/html",
        "text/markdown",
        "text/plain",
    }
)


class FailureCode(StrEnum):
    """Why a document could not be parsed (the document's `failure.code`)."""

    UNSUPPORTED_TYPE = "unsupported_type"
    ENCRYPTED = "encrypted"
    TOO_LARGE = "too_large"
    TOO_MANY_PAGES = "too_many_pages"
    PARSE_TIMEOUT = "parse_timeout"
    MALFORMED = "malformed"
    EMPTY = "empty"
    RESOURCE_LIMIT = "resource_limit"


class ExtractionFailed(Exception):
    """The document cannot be parsed. `message` is for the user and never contains document text."""

    def __init__(self, code: FailureCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message))


class InvalidParsedDocument(ValueError):
    """Bytes that do not hold a ParsedDocument of this schema."""


@dataclass(frozen=True, slots=True)
class TextBlock:
    text: str
    page: int | None  # 1-based page for PDF; None where the format has no pages
    section: tuple[str, ...]  # heading path, e.g. ("Install", "On Linux"); () if none
    kind: str  # one of BLOCK_KINDS


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    media_type: str
    page_count: int | None
    blocks: tuple[TextBlock, ...]
    language: str | None = None  # best-effort BCP-47 guess

    @property
    def char_count(self) -> int:
        return sum(len(block.text) for block in self.blocks)

    def to_json_bytes(self) -> bytes:
        document = {
            "schema": SCHEMA_VERSION,
            "media_type": self.media_type,
            "page_count": self.page_count,
            "language": self.language,
            "blocks": [
                {"text": b.text, "page": b.page, "section": list(b.section), "kind": b.kind}
                for b in self.blocks
            ],
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json_bytes(cls, data: bytes) -> ParsedDocument:
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise InvalidParsedDocument("not JSON") from error
        if not isinstance(document, dict) or document.get("schema") != SCHEMA_VERSION:
            raise InvalidParsedDocument("not a ParsedDocument of this schema version")
        media_type = document.get("media_type")
        if media_type not in MEDIA_TYPES:
            raise InvalidParsedDocument("unknown media_type")
        page_count = _optional_int(document.get("page_count"), "page_count", minimum=0)
        language = document.get("language")
        if language is not None and not (isinstance(language, str) and 0 < len(language) <= 35):
            raise InvalidParsedDocument("language is not a language tag")
        raw_blocks = document.get("blocks")
        if not isinstance(raw_blocks, list):
            raise InvalidParsedDocument("blocks is not a list")
        blocks = tuple(_block(raw, page_count) for raw in raw_blocks)
        return cls(media_type=media_type, page_count=page_count, blocks=blocks, language=language)


def _optional_int(value: object, name: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < minimum:
        raise InvalidParsedDocument(f"{name} is not an integer >= {minimum}")
    return value


def _block(raw: object, page_count: int | None) -> TextBlock:
    if not isinstance(raw, dict) or set(raw) != {"text", "page", "section", "kind"}:
        raise InvalidParsedDocument("a block does not have exactly text, page, section, kind")
    text, section, kind = raw["text"], raw["section"], raw["kind"]
    if not isinstance(text, str) or not text:
        raise InvalidParsedDocument("a block's text is not a non-empty string")
    if kind not in BLOCK_KINDS:
        raise InvalidParsedDocument("a block's kind is unknown")
    if not isinstance(section, list) or not all(isinstance(title, str) for title in section):
        raise InvalidParsedDocument("a block's section is not a list of strings")
    page = _optional_int(raw["page"], "page", minimum=1)
    if page is not None and (page_count is None or page > page_count):
        raise InvalidParsedDocument("a block's page is outside the document")
    return TextBlock(text=text, page=page, section=tuple(section), kind=kind)
