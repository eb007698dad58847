"""Builders of real documents for the parse tests: DOCX with python-docx, PDF with fpdf2, raw zips."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
from fpdf import FPDF

ROOT = Path(__file__).resolve().parents[3]
OWN_FIXTURES = ROOT / "tests/fixtures/documents"
# The owner's shared/ folder: ECHO_SHARED_DIR, else beside the checkout (or beside a worktree's parent)
SHARED_FIXTURES = next(
    (
        candidate / "fixtures/documents"
        for candidate in (
            Path(os.environ.get("ECHO_SHARED_DIR") or ROOT.parent / "shared"),
            ROOT.parent.parent / "shared",
        )
        if (candidate / "fixtures/documents").is_dir()
    ),
    ROOT.parent / "shared/fixtures/documents",
)


def docx_bytes(build: Callable[[docx.document.Document], None]) -> bytes:
    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_bytes(pages: list[str]) -> bytes:
    """A PDF with one page per text (core Helvetica font: Latin-1 text only)."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def zip_bytes(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def with_extra_entries(docx_data: bytes, entries: dict[str, bytes]) -> bytes:
    """A copy of a DOCX with more entries added to its zip (media a bomb could hide in)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx_data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info, source.read(info))
        for name, content in entries.items():
            target.writestr(name, content)
    return out.getvalue()


def replace_entry(docx_data: bytes, name: str, content: bytes) -> bytes:
    """A copy of a DOCX with one entry's content replaced."""
    with zipfile.ZipFile(io.BytesIO(docx_data)) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    entries[name] = content
    return zip_bytes(entries)


def ole2_with_stream_renamed(container: bytes, old: str, new: str) -> bytes:
    """A copy of an OLE2/CFB file with one directory entry renamed (its 64-byte UTF-16 name field and
    the name length after it), e.g. to turn an encrypted Office file into a legacy Word one."""
    field = old.encode("utf-16-le") + b"\x00\x00"
    start = container.index(field)
    name = new.encode("utf-16-le") + b"\x00\x00"
    entry = name.ljust(64, b"\x00") + len(name).to_bytes(2, "little")
    return container[:start] + entry + container[start + 66 :]
