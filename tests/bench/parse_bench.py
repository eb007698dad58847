"""Parse benchmark: extraction speed per type through the sandbox, and pypdfium2 beside pypdf.

`run()` returns the figures (it prints nothing) and needs no LocalStack. When the runner's path lacks
the parse function and the documents layer (as under `make bench`), it measures in a child
interpreter whose path holds them, like the Lambda bundle's.

Figures:
- `sandbox`: per type, a 50-page document (and 1,000-section ones for the text types) parsed with `extract_in_sandbox` (a fresh, limited
  child process each time, as in production): seconds per document (median of REPEATS), pages/s and
  input MB/s. PDF pages are real pages; the other formats have none, so a page there is
  PAGE_CHARS characters of extracted text. Beside it `in_process_s`, the same extraction without the
  sandbox, and `sandbox_overhead_s`, the difference (the price of the child process).
- `pdf_libraries`: pypdfium2 (the one Echo uses) and pypdf on the same PDFs, in process: pages/s
  and the share of known reference sentences each recovers verbatim (German, Greek, Japanese, and
  a Word export), with the ratio pypdfium2/pypdf.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests/fixtures/documents"
REPEATS = 5
PAGE_CHARS = 3_000
PDF_PAGES = 50
LARGE_SECTIONS = 1_000
SENTENCES = (
    "The parse function extracts text from every uploaded document before it is embedded.",
    "Each block keeps its page number or its heading path, so an answer can cite its source.",
    "Hostile files fail with a typed reason and never take the function or another tenant down.",
    "Limits on CPU time, memory, wall-clock time, output size and page count bound every parse.",
)
REFERENCES = {
    "multilingual.pdf": (
        "Die Straßenbahn fährt täglich über die Brücke.",
        "die Gebühr beträgt fünfzig Euro.",
        "Η Αθήνα είναι η πρωτεύουσα της",  # noqa: RUF001 - Greek on purpose
        "Δεύτερη παράγραφος με λεπτομέρειες.",
        "東京は日本の首都です。",
        "ひらがなとカタカナも含みます。",
    ),
    "generated-50-pages.pdf": SENTENCES,
    "word-export-various.pdf": (
        "Here is a numbered list: 1) Number bullet 1 2) Number bullet 2",
        "Row 1 Col 1 Row 1 Col 2 Row 1 Col 3",
        "Figure 1 This is a caption for Figure 1",
        "This is a footnote.",
    ),
}
# The owner's shared/ folder: ECHO_SHARED_DIR, else beside the checkout (or a worktree's parent)
SHARED_PDF = next(
    (
        path
        for path in (
            Path(os.environ.get("ECHO_SHARED_DIR") or REPO.parent / "shared")
            / "fixtures/documents/word-export-various.pdf",
            REPO.parent.parent / "shared/fixtures/documents/word-export-various.pdf",
        )
        if path.exists()
    ),
    None,
)


def run() -> dict[str, Any]:
    if (
        importlib.util.find_spec("parse") is not None
        and importlib.util.find_spec("echo_documents") is not None
    ):
        return measure()
    paths = [REPO / "layers/shared", REPO / "layers/documents", REPO / "functions", REPO]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(path) for path in paths)}
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.parse_bench"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def _paragraphs(count: int) -> list[str]:
    return [" ".join(SENTENCES[(n + k) % len(SENTENCES)] for k in range(4)) for n in range(count)]


def _pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for page in range(pages):
        pdf.add_page()
        pdf.start_section(f"Chapter {page + 1}")
        for paragraph in _paragraphs(6):
            pdf.multi_cell(0, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _docx(sections: int) -> bytes:
    import docx

    document = docx.Document()
    for section in range(sections):
        document.add_heading(f"Chapter {section + 1}", level=1)
        for paragraph in _paragraphs(6):
            document.add_paragraph(paragraph)
        table = document.add_table(rows=3, cols=3)
        for row in table.rows:
            for cell in row.cells:
                cell.text = "cell value"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _html(sections: int) -> bytes:
    body = "".join(
        f"<h2>Chapter {n + 1}</h2>" + "".join(f"<p>{p}</p>" for p in _paragraphs(6)) for n in range(sections)
    )
    page = f"<!DOCTYPE html><html><head><script>var x = 1;</script></head><body><nav><a>Home</a></nav><main>{body}</main></body></html>"
    return page.encode()


def _markdown(sections: int) -> bytes:
    return "".join(
        f"## Chapter {n + 1}\n\n"
        + "".join(f"{p}\n\n" for p in _paragraphs(6))
        + "- a list item\n- another\n\n"
        for n in range(sections)
    ).encode()


def _text(sections: int) -> bytes:
    return "".join("\n\n".join(_paragraphs(6)) + "\n\n" for _ in range(sections)).encode()


def _median_seconds(action: Callable[[], Any]) -> float:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _sandbox_figures() -> dict[str, Any]:
    from parse.extraction import ExtractionLimits, extract_in_sandbox
    from parse.extraction.extract import extract

    limits = ExtractionLimits()
    corpus = {
        "pdf": _pdf(PDF_PAGES),
        "docx": _docx(PDF_PAGES),
        "html": _html(PDF_PAGES),
        "markdown": _markdown(PDF_PAGES),
        "text": _text(PDF_PAGES),
        # large inputs, where throughput rather than the child's start-up shows
        f"html {LARGE_SECTIONS} sections": _html(LARGE_SECTIONS),
        f"markdown {LARGE_SECTIONS} sections": _markdown(LARGE_SECTIONS),
        f"text {LARGE_SECTIONS} sections": _text(LARGE_SECTIONS),
    }
    figures: dict[str, Any] = {}
    for kind, data in corpus.items():
        parsed = extract_in_sandbox(data, limits)
        pages = parsed.page_count or max(1, round(parsed.char_count / PAGE_CHARS))
        sandboxed = _median_seconds(lambda data=data: extract_in_sandbox(data, limits))
        in_process = _median_seconds(lambda data=data: extract(data, limits))
        figures[kind] = {
            "input_bytes": len(data),
            "pages": pages,
            "page_kind": "pdf pages" if parsed.page_count else f"{PAGE_CHARS} chars",
            "chars": parsed.char_count,
            "seconds_per_document": round(sandboxed, 3),
            "pages_per_s": round(pages / sandboxed, 1),
            "mb_per_s": round(len(data) / 1e6 / sandboxed, 2),
            "in_process_s": round(in_process, 3),
            "in_process_pages_per_s": round(pages / in_process, 1),
            "sandbox_overhead_s": round(sandboxed - in_process, 3),
        }
    return figures


def _pypdfium2_pages(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        return [document[index].get_textpage().get_text_range() for index in range(len(document))]
    finally:
        document.close()


def _pypdf_pages(data: bytes) -> list[str]:
    import pypdf

    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def _recovered(pages: list[str], references: tuple[str, ...]) -> float:
    flat = " ".join(" ".join(page.split()) for page in pages)
    return round(sum(1 for sentence in references if sentence in flat) / len(references), 3)


def _library_figures() -> dict[str, Any]:
    pdfs = {
        "multilingual.pdf": (FIXTURES / "multilingual.pdf").read_bytes(),
        "generated-50-pages.pdf": _pdf(PDF_PAGES),
    }
    if SHARED_PDF is not None:
        pdfs[SHARED_PDF.name] = SHARED_PDF.read_bytes()
    figures: dict[str, Any] = {}
    for name, data in pdfs.items():
        row: dict[str, Any] = {}
        for library, extract_pages in (("pypdfium2", _pypdfium2_pages), ("pypdf", _pypdf_pages)):
            pages = extract_pages(data)
            seconds = _median_seconds(lambda extract_pages=extract_pages, data=data: extract_pages(data))
            row[library] = {
                "pages_per_s": round(len(pages) / seconds, 1),
                "reference_sentences_recovered": _recovered(pages, REFERENCES[name]),
            }
        row["speed_ratio_pypdfium2_to_pypdf"] = round(
            row["pypdfium2"]["pages_per_s"] / row["pypdf"]["pages_per_s"], 1
        )
        figures[name] = row
    return figures


def measure() -> dict[str, Any]:
    return {"repeats": REPEATS, "sandbox": _sandbox_figures(), "pdf_libraries": _library_figures()}


def render(figures: dict[str, Any]) -> list[str]:
    lines = [
        "## Parse (extract_in_sandbox, one limited child process per document)",
        "",
        f"Median of {figures['repeats']} runs. Formats without pages count one page per {PAGE_CHARS:,} characters of text.",
        "",
        "| type | input | pages | s/document | pages/s | MB/s | in process pages/s | sandbox overhead s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in figures["sandbox"].items():
        lines.append(
            f"| {kind} | {row['input_bytes'] / 1024:,.0f} KiB | {row['pages']} ({row['page_kind']}) "
            f"| {row['seconds_per_document']} | {row['pages_per_s']} | {row['mb_per_s']} "
            f"| {row['in_process_pages_per_s']} | {row['sandbox_overhead_s']} |"
        )
    lines += [
        "",
        "### PDF libraries, in process",
        "",
        "| PDF | pypdfium2 pages/s | pypdf pages/s | ratio | pypdfium2 sentences recovered | pypdf sentences recovered |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in figures["pdf_libraries"].items():
        lines.append(
            f"| {name} | {row['pypdfium2']['pages_per_s']} | {row['pypdf']['pages_per_s']} "
            f"| {row['speed_ratio_pypdfium2_to_pypdf']}x | {row['pypdfium2']['reference_sentences_recovered']:.0%} "
            f"| {row['pypdf']['reference_sentences_recovered']:.0%} |"
        )
    return lines


if __name__ == "__main__":
    print(json.dumps(measure()))
