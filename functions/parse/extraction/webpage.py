"""HTML through lxml: readable text under its heading path, without the page's boilerplate.

Scripts, styles, navigation, forms and the site's header/footer (those outside <article>/<main>)
are dropped; headings set the section path; tables come out as rows; <pre> keeps its lines.
"""

from __future__ import annotations

import codecs
import re

from echo_documents.parsed import ParsedDocument
from lxml import etree
from lxml import html as lxml_html

from parse.extraction.blocks import BlockCollector, table_row
from parse.extraction.limits import ExtractionLimits
from parse.extraction.sniffing import HTML, decode_text

_DROPPED = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "aside", "form", "button", "select",
        "textarea", "svg", "canvas", "iframe", "object", "embed", "head", "dialog", "menu",
    }
)  # fmt: skip
_SITE_CHROME = frozenset({"header", "footer"})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "menubar"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset(
    {
        "address", "article", "blockquote", "body", "caption", "dd", "details", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "header", "footer", "hr", "li", "main", "ol", "p",
        "section", "summary", "ul", "br", "html", "legend",
    }
)  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")


def extract_html(data: bytes, limits: ExtractionLimits) -> ParsedDocument:
    text = _XML_DECLARATION.sub("", _decode_html(data))
    collector = BlockCollector(limits.max_output_chars)
    if text.strip():
        parser = lxml_html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
        root = lxml_html.document_fromstring(text, parser=parser)
        _Walker(collector).walk(root)
    return ParsedDocument(media_type=HTML, page_count=None, blocks=tuple(collector.blocks))


def _decode_html(data: bytes) -> str:
    """A BOM or valid UTF-8 decide; otherwise the <meta charset> if Python knows it; else Latin-1."""
    if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            declared = _META_CHARSET.search(data[:4096])
            if declared:
                try:
                    return data.decode(codecs.lookup(declared.group(1).decode("ascii")).name, "replace")
                except LookupError:
                    pass
    return decode_text(data)


class _Walker:
    """One pass over the tree: inline text gathers into the enclosing block, flushed at block edges."""

    def __init__(self, collector: BlockCollector) -> None:
        self._collector = collector
        self._buffer: list[str] = []
        self._kinds: list[str] = []

    def walk(self, root: etree._Element) -> None:
        walker = etree.iterwalk(root, events=("start", "end"))
        for event, element in walker:
            role = _role(element)
            if event == "start":
                if role in ("skip", "heading", "table", "code"):
                    self._flush()
                    self._emit(role, element)
                    walker.skip_subtree()
                    continue
                if role == "block":
                    self._flush()
                    self._kinds.append("list_item" if element.tag == "li" else "paragraph")
                self._buffer.append(element.text or "")
            else:
                if role == "block":
                    self._flush()
                    self._kinds.pop()
                self._buffer.append(element.tail or "")
        self._flush()

    def _emit(self, role: str, element: etree._Element) -> None:
        if role == "heading":
            self._collector.heading(_HEADINGS[element.tag], element.text_content())
        elif role == "table":
            self._collector.add("\n".join(_table_rows(element)), "table", keep_lines=True)
        elif role == "code":
            self._collector.add(element.text_content(), "code", keep_lines=True)

    def _flush(self) -> None:
        if self._buffer:
            self._collector.add(" ".join(self._buffer), self._kinds[-1] if self._kinds else "paragraph")
            self._buffer = []


def _role(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str) or tag in _DROPPED or _hidden(element):
        return "skip"
    if tag in _SITE_CHROME and not any(a.tag in ("article", "main") for a in element.iterancestors()):
        return "skip"
    if tag in _HEADINGS:
        return "heading"
    if tag == "table":
        return "table"
    if tag == "pre":
        return "code"
    return "block" if tag in _BLOCKS else "inline"


def _hidden(element: etree._Element) -> bool:
    return (
        element.get("hidden") is not None
        or element.get("aria-hidden") == "true"
        or element.get("role") in _CHROME_ROLES
    )


def _table_rows(table: etree._Element) -> list[str]:
    rows = []
    for row in table.iter("tr"):
        if next(row.iterancestors("table"), None) is not table:
            continue  # a nested table's rows are part of their cell's text
        line = table_row([cell.text_content() for cell in row if cell.tag in ("td", "th")])
        if line:
            rows.append(line)
    return rows
