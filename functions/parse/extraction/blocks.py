"""Collects text blocks with their heading path, normalizing whitespace and enforcing the output cap."""

from __future__ import annotations

import re
import unicodedata

from echo_documents.parsed import ExtractionFailed, FailureCode, TextBlock

MAX_HEADING_CHARS = 300
MAX_SECTION_DEPTH = 9
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff\u200b]")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_inline(text: str) -> str:
    """One line of text: controls removed, every run of whitespace (newlines too) one space."""
    return " ".join(_CONTROL.sub("", unicodedata.normalize("NFC", text)).split())


def clean_lines(text: str) -> str:
    """Text whose line breaks matter (code, table rows): controls removed, lines right-stripped."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = (line.rstrip() for line in _CONTROL.sub("", text).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def table_row(cells: list[str]) -> str:
    """A table row as one readable line: cells joined by ' | ', empty trailing cells dropped."""
    values = [clean_inline(cell) for cell in cells]
    while values and not values[-1]:
        values.pop()
    return " | ".join(values)


class BlockCollector:
    """Blocks in reading order under the current heading path; fails once the text passes the cap."""

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._chars = 0
        self._headings: list[tuple[int, str]] = []
        self.blocks: list[TextBlock] = []

    @property
    def section(self) -> tuple[str, ...]:
        return tuple(title for _, title in self._headings)

    def heading(self, level: int, text: str, *, page: int | None = None) -> None:
        title = clean_inline(text)[:MAX_HEADING_CHARS]
        if not title:
            return
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        if len(self._headings) < MAX_SECTION_DEPTH:
            self._headings.append((level, title))
        self._append(TextBlock(text=title, page=page, section=self.section, kind="heading"))

    def add(
        self,
        text: str,
        kind: str,
        *,
        page: int | None = None,
        section: tuple[str, ...] | None = None,
        keep_lines: bool = False,
    ) -> None:
        cleaned = clean_lines(text) if keep_lines else clean_inline(text)
        if cleaned.strip():
            path = self.section if section is None else section
            self._append(TextBlock(text=cleaned, page=page, section=path, kind=kind))

    def _append(self, block: TextBlock) -> None:
        self._chars += len(block.text)
        if self._chars > self._max_chars:
            raise ExtractionFailed(
                FailureCode.TOO_LARGE, f"the document holds more than {self._max_chars:,} characters of text"
            )
        self.blocks.append(block)
