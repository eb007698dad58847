"""Real-world files written elsewhere (shared/fixtures/documents): each parses or fails as it should.

The README there says which must parse (`ok`) and which must be rejected (`reject`: a clear failure
code, or only the text that can be recovered safely). Every file it lists has an expectation here.
"""

# Greek letters and typographic quotes in the expected text are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from echo_documents.parsed import ExtractionFailed, FailureCode, ParsedDocument
from parse.extraction import ExtractionLimits, extract_in_sandbox

from tests.unit.parse.documents import SHARED_FIXTURES

LIMITS = ExtractionLimits()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def listed_files() -> dict[str, str]:
    """file name -> expect, from the README's table."""
    rows = re.findall(
        r"^\| ([\w.-]+) \| \w+ \| (ok|reject) \|", (SHARED_FIXTURES / "README.md").read_text(), re.M
    )
    return dict(rows)


def word_export_pdf(parsed: ParsedDocument) -> None:
    assert (parsed.media_type, parsed.page_count) == ("application/pdf", 2)
    page_one = " ".join(block.text for block in parsed.blocks if block.page == 1)
    page_two = " ".join(block.text for block in parsed.blocks if block.page == 2)
    assert "Here is a numbered list:" in page_one
    assert "This is a footnote." in page_one
    assert "Figure 1 This is a caption for Figure 1" in page_two
    assert "Here is a numbered list" not in page_two


def sample_word_document(parsed: ParsedDocument) -> None:
    assert (parsed.media_type, parsed.page_count) == (DOCX, None)
    path = ("Sample Word Document Title", "Heading Level 1", "Heading Level 2", "Heading Level 3")
    by_text = {block.text: block for block in parsed.blocks}
    assert by_text["Heading Level 3"].kind == "heading"
    assert by_text["This document includes text that is BOLD and ITALIC."].section == path
    assert by_text["This is a table\nThe table has things in it"].kind == "table"


def numbered_lists(parsed: ParsedDocument) -> None:
    kinds = {block.text: block.kind for block in parsed.blocks}
    assert kinds["Greek numbering with crazy format - alpha"] == "list_item"
    assert kinds["Intervening paragraph"] == "paragraph"
    assert [b.kind for b in parsed.blocks].count("list_item") >= 30


def rust_book(parsed: ParsedDocument) -> None:
    assert parsed.media_type == "text/markdown"
    sections = {block.section for block in parsed.blocks}
    assert ("Data Types", "Scalar Types", "Integer Types") in sections
    code = [block.text for block in parsed.blocks if block.kind == "code"]
    assert 'let guess: u32 = "42".parse().expect("Not a number!");' in code
    tables = [block.text for block in parsed.blocks if block.kind == "table"]
    assert any("Length | Signed | Unsigned" in table and "8-bit | i8 | u8" in table for table in tables)
    assert parsed.language == "en"


def pdfminer_changelog(parsed: ParsedDocument) -> None:
    assert parsed.media_type == "text/markdown"
    assert parsed.blocks[0].text == "Changelog"
    assert parsed.blocks[0].kind == "heading"
    assert any(b.kind == "list_item" and b.section[:1] == ("Changelog",) for b in parsed.blocks)


def recovered_first_page_only(parsed: ParsedDocument) -> None:
    # The second page is a loop in the page tree: PDFium refuses it, the first page's text is kept
    assert parsed.page_count == 2
    assert [(block.page, block.text) for block in parsed.blocks] == [(1, "Testcase: ’Pages loop’")]


def text_without_decoding_images(parsed: ParsedDocument) -> None:
    # Text extraction never decodes the 1.16 GB images, so the page's text is recovered safely
    assert [(block.page, block.text) for block in parsed.blocks] == [
        (1, "GIANT JBIG2 BOMB\n100000x100000 = 1.16GB each")
    ]


EXPECTATIONS: dict[str, Callable[[ParsedDocument], None] | FailureCode] = {
    "word-export-various.pdf": word_export_pdf,
    "tika-sample-word-document.docx": sample_word_document,
    "tika-word-numbered-lists.docx": numbered_lists,
    "rust-book-ch03-02-data-types.md": rust_book,
    "pdfminer-six-CHANGELOG.md": pdfminer_changelog,
    # PDFium ignores the absurd /Count and finds one page without text
    "huge-page-count-213804087.pdf": FailureCode.EMPTY,
    "page-tree-cycle.pdf": recovered_first_page_only,
    "jbig2-decompression-bomb.pdf": text_without_decoding_images,
    "password-protected.docx": FailureCode.ENCRYPTED,
}


def test_every_shared_fixture_has_an_expectation() -> None:
    on_disk = {path.name for path in SHARED_FIXTURES.iterdir() if path.name != "README.md"}
    assert set(listed_files()) == on_disk == set(EXPECTATIONS)


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_shared_fixture(name: str) -> None:
    expectation = EXPECTATIONS[name]
    data = (SHARED_FIXTURES / name).read_bytes()
    if isinstance(expectation, FailureCode):
        assert listed_files()[name] == "reject"
        with pytest.raises(ExtractionFailed) as failure:
            extract_in_sandbox(data, LIMITS)
        assert failure.value.code == expectation
    else:
        expectation(extract_in_sandbox(data, LIMITS))
