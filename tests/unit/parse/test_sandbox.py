"""The sandbox: hostile files and a misbehaving parser end as typed failures, never harm the caller."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from echo_documents.parsed import ExtractionFailed, FailureCode
from parse.extraction import ExtractionLimits, extract_in_sandbox, sandbox

from tests.unit.parse.documents import OWN_FIXTURES, docx_bytes, pdf_bytes, replace_entry, with_extra_entries

LIMITS = ExtractionLimits()
MIB = 1024 * 1024


def failure_of(data: bytes, limits: ExtractionLimits = LIMITS) -> ExtractionFailed:
    with pytest.raises(ExtractionFailed) as failure:
        extract_in_sandbox(data, limits)
    return failure.value


def a_docx() -> bytes:
    return docx_bytes(lambda document: document.add_paragraph("Ein ganz normales Dokument."))


def test_an_ordinary_document_parses_through_the_sandbox() -> None:
    parsed = extract_in_sandbox((OWN_FIXTURES / "multilingual.pdf").read_bytes(), LIMITS)
    assert parsed.page_count == 3
    assert "東京は日本の首都です。" in parsed.blocks[-1].text


def test_an_encrypted_pdf_is_encrypted() -> None:
    failure = failure_of((OWN_FIXTURES / "encrypted.pdf").read_bytes())
    assert failure.code == FailureCode.ENCRYPTED
    assert "password" in failure.message


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_a_truncated_pdf_is_malformed(fraction: float) -> None:
    data = (OWN_FIXTURES / "multilingual.pdf").read_bytes()
    assert failure_of(data[: int(len(data) * fraction)]).code == FailureCode.MALFORMED


def test_garbage_behind_a_pdf_header_is_malformed() -> None:
    assert failure_of(b"%PDF-1.7\n" + bytes(range(256)) * 40).code == FailureCode.MALFORMED


def test_more_pages_than_the_limit_fail_before_any_page_is_read() -> None:
    failure = failure_of(pdf_bytes(["page"] * 501))
    assert failure.code == FailureCode.TOO_MANY_PAGES
    assert "501" in failure.message
    assert "500" in failure.message


def test_the_page_limit_is_configurable() -> None:
    data = pdf_bytes(["page"] * 12)
    assert failure_of(data, ExtractionLimits(max_pages=10)).code == FailureCode.TOO_MANY_PAGES
    assert extract_in_sandbox(data, ExtractionLimits(max_pages=12)).page_count == 12


def test_a_zip_bomb_docx_is_refused_before_decompression() -> None:
    # Given a DOCX hiding 512 MiB of zeros (about half a MiB compressed) in its media folder
    bomb = with_extra_entries(a_docx(), {"word/media/image1.png": bytes(512 * MIB)})
    assert len(bomb) < 2 * MIB
    # Then it fails as too large, without the child ever reaching the memory limit
    failure = failure_of(bomb)
    assert failure.code == FailureCode.TOO_LARGE
    assert "zip bomb" in failure.message or "expands" in failure.message


def test_a_docx_expanding_past_the_total_limit_is_too_large() -> None:
    incompressible = os.urandom(3 * MIB)
    data = with_extra_entries(a_docx(), {"word/media/photo.jpg": incompressible})
    failure = failure_of(data, ExtractionLimits(max_unzipped_bytes=2 * MIB))
    assert failure.code == FailureCode.TOO_LARGE
    assert "expands to" in failure.message


def test_a_docx_with_too_many_entries_is_too_large() -> None:
    data = with_extra_entries(a_docx(), {f"word/media/{n}.bin": b"x" for n in range(60)})
    failure = failure_of(data, ExtractionLimits(max_zip_entries=50))
    assert failure.code == FailureCode.TOO_LARGE
    assert "entries" in failure.message


def test_a_docx_with_an_entity_expansion_bomb_is_refused_unexpanded() -> None:
    laughs = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    document_xml = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY lol0 "lol">' + laughs + "]>"
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    assert (
        failure_of(replace_entry(a_docx(), "word/document.xml", document_xml)).code == FailureCode.MALFORMED
    )


def test_a_truncated_docx_is_malformed() -> None:
    data = a_docx()
    assert failure_of(data[: len(data) // 2]).code == FailureCode.MALFORMED


def test_a_docx_whose_body_is_not_xml_is_malformed() -> None:
    data = replace_entry(a_docx(), "word/document.xml", b"<w:document><w:body>unclosed")
    assert failure_of(data).code == FailureCode.MALFORMED


def test_a_file_over_the_size_limit_is_refused_without_parsing() -> None:
    failure = failure_of(b"x" * (2 * MIB), ExtractionLimits(max_bytes=MIB))
    assert failure.code == FailureCode.TOO_LARGE
    assert "limit is 1 MiB" in failure.message


def test_text_past_the_output_cap_is_too_large() -> None:
    data = ("Ein Satz über Köln. " * 1000).encode()
    failure = failure_of(data, ExtractionLimits(max_output_chars=1_000))
    assert failure.code == FailureCode.TOO_LARGE
    assert "1,000 characters" in failure.message


def test_the_wall_clock_limit_kills_the_parser() -> None:
    # Given a limit shorter than any interpreter's start-up
    failure = failure_of(a_docx(), ExtractionLimits(wall_seconds=0.001))
    assert failure.code == FailureCode.PARSE_TIMEOUT
    assert "0.001 seconds" in failure.message


SLOW_MARKDOWN = (
    "Some *emphasis*, [a link](http://x.y), `code`, **bold**.\n\n- item\n- two\n\n> quote\n\n" * 200_000
).encode()


def test_the_cpu_limit_stops_a_slow_parse() -> None:
    # Given 19 MB of Markdown, several CPU-seconds of parsing, and a 1 s CPU limit
    failure = failure_of(SLOW_MARKDOWN, ExtractionLimits(cpu_seconds=1, wall_seconds=120))
    assert failure.code == FailureCode.PARSE_TIMEOUT
    assert "CPU" in failure.message


def test_the_memory_limit_stops_a_huge_parse_and_the_caller_is_unharmed() -> None:
    # Given 23 MB of HTML whose tree needs far more than a 256 MiB address space
    huge_html = b"<html><body>" + b"<div><p>x</p><span>y</span></div>" * 700_000 + b"</body></html>"
    limits_before = resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU)
    failure = failure_of(huge_html, ExtractionLimits(address_space_bytes=256 * MIB, wall_seconds=120))
    # Then the document fails with resource_limit, and this process keeps its own limits and works on
    assert failure.code == FailureCode.RESOURCE_LIMIT
    assert (resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU)) == limits_before
    assert extract_in_sandbox(b"still working", LIMITS).blocks[0].text == "still working"


@pytest.fixture
def rogue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox runs a worker that misbehaves as the document's bytes tell it to."""
    monkeypatch.setattr(sandbox, "WORKER_MODULE", "tests.unit.parse.rogue_worker")


@pytest.mark.usefixtures("rogue")
def test_the_parser_process_gets_no_credentials_or_settings() -> None:
    # Given the caller's environment holds AWS credentials (the suite sets test ones)
    names = extract_in_sandbox(b"environment", LIMITS).blocks[0].text.split()
    assert not [name for name in names if name.startswith("AWS") or name.startswith("ECHO")]
    assert "PYTHONPATH" in names


@pytest.mark.usefixtures("rogue")
@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        ("page-outside-document", FailureCode.MALFORMED),
        ("unknown-failure-code", FailureCode.MALFORMED),
        ("huge-failure-message", FailureCode.MALFORMED),
        ("garbage", FailureCode.MALFORMED),
        ("exit-after-valid-reply", FailureCode.RESOURCE_LIMIT),
    ],
)
def test_a_reply_outside_the_schema_is_not_trusted(behaviour: str, code: FailureCode) -> None:
    failure = failure_of(behaviour.encode())
    assert failure.code == code
    assert "trust me" not in failure.message
    assert "xxx" not in failure.message


@pytest.mark.usefixtures("rogue")
def test_a_valid_reply_from_the_worker_is_accepted() -> None:
    assert extract_in_sandbox(b"valid", LIMITS).blocks[0].text == "a valid reply"


@pytest.mark.usefixtures("rogue")
def test_a_flood_of_output_is_cut_off() -> None:
    failure = failure_of(b"flood", ExtractionLimits(max_output_chars=1_000))
    assert failure.code == FailureCode.TOO_LARGE


@pytest.mark.usefixtures("rogue")
def test_a_crashing_parser_is_a_resource_limit_failure() -> None:
    assert failure_of(b"crash").code == FailureCode.RESOURCE_LIMIT


@pytest.mark.usefixtures("rogue")
def test_a_hanging_parser_and_its_children_are_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    failure = failure_of(f"hang-with-grandchild:{pid_file}".encode(), ExtractionLimits(wall_seconds=3))
    assert failure.code == FailureCode.PARSE_TIMEOUT
    grandchild = Path(f"/proc/{pid_file.read_text()}/status")
    deadline = time.monotonic() + 5
    while grandchild.exists() and "State:\tZ" not in grandchild.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not grandchild.exists() or "State:\tZ" in grandchild.read_text()


@pytest.mark.usefixtures("rogue")
def test_a_parser_ignoring_sigterm_is_killed_at_the_deadline() -> None:
    assert failure_of(b"hang", ExtractionLimits(wall_seconds=2)).code == FailureCode.PARSE_TIMEOUT


def test_deeply_nested_html_ends_in_a_verdict() -> None:
    # Given 200,000 nested elements: libxml2 stops nesting at its depth limit, and no recursive walk
    # of ours could overflow a stack; the text sits below that depth, so none is found
    nested = b"<html><body>" + b"<div>" * 200_000 + b"deep text" + b"</div>" * 200_000 + b"</body></html>"
    assert failure_of(nested).code == FailureCode.EMPTY


def test_the_worker_cannot_write_files_or_hold_many_open(tmp_path: Path) -> None:
    # Given the real worker's confinement applied in a child interpreter
    probe = (
        "import sys\n"
        "from parse.extraction.limits import ExtractionLimits\n"
        "from parse.extraction.worker import confine\n"
        "confine(ExtractionLimits())\n"
        "try:\n"
        f"    leak = open({str(tmp_path / 'leak.txt')!r}, 'wb', buffering=0)\n"
        "    leak.write(b'document text')\n"
        "except OSError:\n"
        "    print('write refused')\n"
        "handles = []\n"
        "try:\n"
        "    handles = [open('/dev/null') for _ in range(100)]\n"
        "except OSError:\n"
        "    print('open files capped')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=sandbox.child_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split("\n")[:2] == ["write refused", "open files capped"], result.stderr
    assert not (tmp_path / "leak.txt").exists() or (tmp_path / "leak.txt").read_text() == ""
