"""Each format's extractor (in process, on trusted generated files): text, positions, languages."""

# Greek letters and typographic quotes in the expected text are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import docx.document
import pytest
from echo_documents.parsed import ExtractionFailed, FailureCode, ParsedDocument, TextBlock
from parse.extraction.extract import extract
from parse.extraction.limits import ExtractionLimits

from tests.unit.parse.documents import OWN_FIXTURES, docx_bytes, pdf_bytes

LIMITS = ExtractionLimits()


def blocks_of(parsed: ParsedDocument) -> list[tuple[str, tuple[str, ...], str]]:
    return [(block.kind, block.section, block.text) for block in parsed.blocks]


def test_pdf_pages_are_numbered_from_one_and_sections_come_from_bookmarks() -> None:
    # Given the committed three-page PDF: German, Greek, Japanese, one bookmark per page
    parsed = extract((OWN_FIXTURES / "multilingual.pdf").read_bytes(), LIMITS)
    # Then every page keeps its script, its page number and its bookmark path
    assert parsed.media_type == "application/pdf"
    assert parsed.page_count == 3
    by_page = {block.page: block for block in parsed.blocks}
    assert "Die Straßenbahn fährt täglich über die Brücke." in by_page[1].text
    assert by_page[1].section == ("Überblick",)
    assert "Η Αθήνα είναι η πρωτεύουσα της" in by_page[2].text
    assert by_page[2].section == ("Εισαγωγή",)
    assert "東京は日本の首都です。" in by_page[3].text
    assert by_page[3].section == ("概要",)


def test_pdf_text_on_later_pages_keeps_its_page() -> None:
    parsed = extract(pdf_bytes(["first page words", "", "third page words"]), LIMITS)
    assert [(block.page, block.text) for block in parsed.blocks] == [
        (1, "first page words"),
        (3, "third page words"),
    ]
    assert parsed.page_count == 3
    assert parsed.language == "en" or parsed.language is None


def _report(document: docx.document.Document) -> None:
    document.add_heading("Jahresbericht", level=0)
    document.add_heading("Überblick", level=1)
    document.add_paragraph("Die Straßenbahn fährt täglich über die Brücke.")
    document.add_paragraph("Der Bericht ist nicht vollständig, und die Zahlen sind mit der Stadt abgestimmt.")
    document.add_paragraph("Erster Punkt", style="List Bullet")
    document.add_heading("Zahlen", level=2)
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows,
        [("Stadt", "Land", "Einwohner"), ("Köln", "DE", "1,1 Mio"), ("Αθήνα", "GR", "0,6 Mio")],
        strict=True,
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = document.add_table(rows=1, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "zusammen"
    merged.cell(0, 2).text = "allein"
    document.add_heading("日本語", level=1)
    document.add_paragraph("東京は日本の首都です。")


def test_docx_keeps_heading_paths_lists_and_tables_as_rows() -> None:
    parsed = extract(docx_bytes(_report), LIMITS)
    assert parsed.media_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert parsed.page_count is None
    assert blocks_of(parsed) == [
        ("heading", ("Jahresbericht",), "Jahresbericht"),
        ("heading", ("Jahresbericht", "Überblick"), "Überblick"),
        ("paragraph", ("Jahresbericht", "Überblick"), "Die Straßenbahn fährt täglich über die Brücke."),
        (
            "paragraph",
            ("Jahresbericht", "Überblick"),
            "Der Bericht ist nicht vollständig, und die Zahlen sind mit der Stadt abgestimmt.",
        ),
        ("list_item", ("Jahresbericht", "Überblick"), "Erster Punkt"),
        ("heading", ("Jahresbericht", "Überblick", "Zahlen"), "Zahlen"),
        (
            "table",
            ("Jahresbericht", "Überblick", "Zahlen"),
            "Stadt | Land | Einwohner\nKöln | DE | 1,1 Mio\nΑθήνα | GR | 0,6 Mio",
        ),
        ("table", ("Jahresbericht", "Überblick", "Zahlen"), "zusammen | allein"),
        ("heading", ("Jahresbericht", "日本語"), "日本語"),
        ("paragraph", ("Jahresbericht", "日本語"), "東京は日本の首都です。"),
    ]
    assert all(block.page is None for block in parsed.blocks)
    assert parsed.language == "de"


def test_docx_headings_are_found_by_outline_level_when_the_style_is_custom() -> None:
    def build(document: docx.document.Document) -> None:
        heading = document.add_paragraph("Εισαγωγή")
        p_pr = heading._p.get_or_add_pPr()
        p_pr.append(p_pr.makeelement(docx.oxml.ns.qn("w:outlineLvl"), {docx.oxml.ns.qn("w:val"): "0"}))
        document.add_paragraph("Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.")

    parsed = extract(docx_bytes(build), LIMITS)
    assert blocks_of(parsed) == [
        ("heading", ("Εισαγωγή",), "Εισαγωγή"),
        ("paragraph", ("Εισαγωγή",), "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας."),
    ]
    assert parsed.language == "el"


HTML_PAGE = """<!DOCTYPE html>
<html lang="de"><head><title>Seite</title><style>body { color: red }</style>
<script>var secret = "tracking code";</script></head>
<body>
<header><a href="/">Startseite</a> | <a href="/kontakt">Kontakt</a></header>
<nav><ul><li>Menü eins</li><li>Menü zwei</li></ul></nav>
<main><article>
  <header><h1>Bericht über Köln</h1></header>
  <p>Die <b>Straßenbahn</b> fährt<br>täglich.</p>
  <h2>Zahlen</h2>
  <table><tr><th>Stadt</th><th>Einwohner</th></tr><tr><td>Köln</td><td>1,1 Mio</td></tr></table>
  <ul><li>Erster Punkt<ul><li>Unterpunkt</li></ul></li></ul>
  <h2>日本語</h2>
  <div>東京は日本の首都です。<span hidden>verborgen</span></div>
  <pre>  eingerückt
zeile zwei</pre>
  <footer>Artikel-Fußnote</footer>
</article></main>
<aside>Werbung</aside>
<footer>© Impressum</footer>
<noscript>Bitte JavaScript aktivieren</noscript>
</body></html>"""


def test_html_drops_boilerplate_and_keeps_headings_tables_and_code() -> None:
    parsed = extract(HTML_PAGE.encode(), LIMITS)
    assert parsed.media_type == "text/html"
    assert blocks_of(parsed) == [
        ("heading", ("Bericht über Köln",), "Bericht über Köln"),
        ("paragraph", ("Bericht über Köln",), "Die Straßenbahn fährt"),
        ("paragraph", ("Bericht über Köln",), "täglich."),
        ("heading", ("Bericht über Köln", "Zahlen"), "Zahlen"),
        ("table", ("Bericht über Köln", "Zahlen"), "Stadt | Einwohner\nKöln | 1,1 Mio"),
        ("list_item", ("Bericht über Köln", "Zahlen"), "Erster Punkt"),
        ("list_item", ("Bericht über Köln", "Zahlen"), "Unterpunkt"),
        ("heading", ("Bericht über Köln", "日本語"), "日本語"),
        ("paragraph", ("Bericht über Köln", "日本語"), "東京は日本の首都です。"),
        ("code", ("Bericht über Köln", "日本語"), "  eingerückt\nzeile zwei"),
        ("paragraph", ("Bericht über Köln", "日本語"), "Artikel-Fußnote"),
    ]
    text = " ".join(block.text for block in parsed.blocks)
    for boilerplate in (
        "tracking",
        "color",
        "Startseite",
        "Menü",
        "Werbung",
        "Impressum",
        "JavaScript",
        "verborgen",
    ):
        assert boilerplate not in text


def test_html_in_a_legacy_charset_is_decoded_by_its_meta_tag() -> None:
    page = '<html><head><meta charset="iso-8859-7"></head><body><h1>Εισαγωγή</h1><p>Καλημέρα κόσμε</p></body></html>'
    parsed = extract(page.encode("iso-8859-7"), LIMITS)
    assert blocks_of(parsed) == [
        ("heading", ("Εισαγωγή",), "Εισαγωγή"),
        ("paragraph", ("Εισαγωγή",), "Καλημέρα κόσμε"),
    ]


MARKDOWN = """# インストール

日本語の**説明**です。[リンク](https://example.com) と `code` を含みます。

## Linux で

- 一つ目
- 二つ目
  1. nested

| 名前 | 値 |
|---|---|
| α | 1 |

```sh
make up
  indented
```

<div class="note">HTML <b>block</b> text</div>

# Zweites Kapitel

Text.
"""


def test_markdown_keeps_heading_paths_lists_tables_and_code() -> None:
    parsed = extract(MARKDOWN.encode(), LIMITS)
    assert parsed.media_type == "text/markdown"
    assert blocks_of(parsed) == [
        ("heading", ("インストール",), "インストール"),
        ("paragraph", ("インストール",), "日本語の説明です。リンク と code を含みます。"),
        ("heading", ("インストール", "Linux で"), "Linux で"),
        ("list_item", ("インストール", "Linux で"), "一つ目"),
        ("list_item", ("インストール", "Linux で"), "二つ目"),
        ("list_item", ("インストール", "Linux で"), "nested"),
        ("table", ("インストール", "Linux で"), "名前 | 値\nα | 1"),
        ("code", ("インストール", "Linux で"), "make up\n  indented"),
        ("paragraph", ("インストール", "Linux で"), "HTML block text"),
        ("heading", ("Zweites Kapitel",), "Zweites Kapitel"),
        ("paragraph", ("Zweites Kapitel",), "Text."),
    ]
    assert parsed.language == "ja"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "latin-1"])
def test_plain_text_paragraphs_in_any_supported_encoding(encoding: str) -> None:
    text = "Grüße aus Köln.\r\nZweite Zeile.\r\n\r\n  Neuer Absatz über Straßen.\n"
    parsed = extract(text.encode(encoding), LIMITS)
    assert parsed.media_type == "text/plain"
    assert parsed.blocks == (
        TextBlock(text="Grüße aus Köln.\nZweite Zeile.", page=None, section=(), kind="paragraph"),
        TextBlock(text="  Neuer Absatz über Straßen.", page=None, section=(), kind="paragraph"),
    )


def test_greek_and_japanese_plain_text_keep_their_characters() -> None:
    text = "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.\n\n東京は日本の首都です。"
    parsed = extract(text.encode("utf-16"), LIMITS)
    assert [block.text for block in parsed.blocks] == text.split("\n\n")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n\t\n",
        "\ufeff".encode(),
        b"<html><head><script>x()</script></head><body><nav>menu</nav></body></html>",
        b"#  \n\n```\n```\n",
    ],
    ids=["zero-bytes", "whitespace", "bom-only", "html-boilerplate-only", "markdown-empty-heading"],
)
def test_documents_without_text_are_empty(data: bytes) -> None:
    with pytest.raises(ExtractionFailed) as failure:
        extract(data, LIMITS)
    assert failure.value.code == FailureCode.EMPTY


def test_a_pdf_of_blank_pages_is_empty_and_says_why() -> None:
    with pytest.raises(ExtractionFailed) as failure:
        extract(pdf_bytes(["", ""]), LIMITS)
    assert failure.value.code == FailureCode.EMPTY
    assert "OCR" in failure.value.message


def test_a_docx_without_text_is_empty() -> None:
    with pytest.raises(ExtractionFailed) as failure:
        extract(docx_bytes(lambda document: document.add_paragraph("   ")), LIMITS)
    assert failure.value.code == FailureCode.EMPTY
