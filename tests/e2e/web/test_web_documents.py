"""Documents and questions in a real browser: upload (presigned POST, progress, drag and drop), live
status to ready, failure reasons, ask with citations and the cited passage, sharing, deletion, and
the other tenant seeing none of it."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.web.conftest import screenshot, sign_in, user
from tests.e2e.web.samples import broken_pdf, docx, pdf

READY_TIMEOUT_MS = 180_000
PDF_MIME = "application/pdf"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="module")
def marker() -> str:
    """A word no other document holds, so the answer can only come from this run's uploads."""
    return f"zyqlor{uuid.uuid4().hex[:8]}"


def row(page: Page, filename: str) -> Any:
    return page.locator("#documents tbody tr", has=page.get_by_role("cell", name=filename, exact=True))


def upload(page: Page, files: list[dict[str, Any]]) -> None:
    page.locator("#file").set_input_files(files)
    page.get_by_role("button", name="Upload", exact=True).click()


def drop(page: Page, name: str, mime: str, data: bytes) -> None:
    """A real drop event carrying a File, as a drag from the desktop would."""
    transfer = page.evaluate_handle(
        """([name, mime, bytes]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, {type: mime}));
            return transfer;
        }""",
        [name, mime, list(data)],
    )
    page.locator("#dropzone").dispatch_event("drop", {"dataTransfer": transfer})


def test_uploads_reach_ready_and_questions_cite_them(
    context: BrowserContext, stack: dict[str, Any], web_url: str, marker: str
) -> None:
    page = context.new_page()
    sign_in(page, web_url, user(stack, "demo", "admin"))
    names = {"pdf": f"handbook-{marker}.pdf", "docx": f"policy-{marker}.docx", "md": f"notes-{marker}.md"}
    # When a PDF and a DOCX are chosen and uploaded, and a Markdown file is dropped on the page
    upload(
        page,
        [
            {
                "name": names["pdf"],
                "mimeType": PDF_MIME,
                "buffer": pdf([f"The {marker} reactor runs at 42 kelvin.", "It is cooled with helium."]),
            },
            {
                "name": names["docx"],
                "mimeType": DOCX_MIME,
                "buffer": docx("Travel policy", [f"Staff visiting {marker} station must book trains."]),
            },
        ],
    )
    drop(
        page, names["md"], "text/markdown", f"# Notes\n\nThe {marker} notes mention nothing else.\n".encode()
    )
    # Then each upload shows its progress to the end
    for name in names.values():
        item = page.locator(f'#uploads li[data-upload="{name}"]')
        expect(item).to_contain_text("uploaded", timeout=60_000)
        expect(item.locator("progress")).to_have_attribute("value", "100")
    # And the list follows them, live, to ready with their size, pages and chunks
    for name in names.values():
        expect(row(page, name).locator("td[data-status]")).to_have_attribute(
            "data-status", "ready", timeout=READY_TIMEOUT_MS
        )
    pdf_row = row(page, names["pdf"])
    expect(pdf_row.locator("td").nth(3)).to_have_text("1")  # pages
    expect(pdf_row.locator("td").nth(4)).not_to_have_text("\u2013")  # chunks: an en dash means none
    expect(pdf_row).to_contain_text("internal")
    screenshot(page, "documents")

    # When they ask about the PDF's content
    page.get_by_role("link", name="Ask").click()
    page.get_by_label("Your question").fill(f"At what temperature does the {marker} reactor run?")
    page.get_by_role("button", name="Ask").click()
    # Then the answer cites the PDF, and the citation opens the passage, highlighted, in a side panel
    citation = page.locator("button.citation").first
    expect(citation).to_contain_text(names["pdf"], timeout=60_000)
    expect(citation).to_contain_text("page 1")
    citation.click()
    panel = page.get_by_role("complementary")
    expect(panel).to_be_visible()
    expect(panel.locator("mark")).to_contain_text("42 kelvin")
    expect(page.locator("#passage-where")).to_contain_text(names["pdf"])
    screenshot(page, "ask")
    # And a question the documents cannot answer is shown as such; recent questions are listed
    page.get_by_label("Your question").fill("Who won the 1954 football world cup final?")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator(".not-enough")).to_contain_text("Not enough information", timeout=60_000)
    expect(page.locator("#recent li")).to_have_count(2)


def test_a_broken_file_fails_with_the_reason_in_words(
    context: BrowserContext, stack: dict[str, Any], web_url: str, marker: str
) -> None:
    page = context.new_page()
    sign_in(page, web_url, user(stack, "demo", "member"))
    name = f"broken-{marker}.pdf"
    upload(page, [{"name": name, "mimeType": PDF_MIME, "buffer": broken_pdf()}])
    status = row(page, name).locator("td[data-status]")
    expect(status).to_have_attribute("data-status", "failed", timeout=READY_TIMEOUT_MS)
    reason = status.locator(".failure")
    expect(reason).not_to_be_empty()
    assert re.search(r"[a-z]{3,} [a-z]{3,}", reason.inner_text()), "the reason is words, not a code"


def test_sharing_and_deletion_ask_first(
    context: BrowserContext, stack: dict[str, Any], web_url: str, marker: str
) -> None:
    page = context.new_page()
    sign_in(page, web_url, user(stack, "demo", "admin"))
    member = user(stack, "demo", "member")
    name = f"shared-{marker}.md"
    drop(page, name, "text/markdown", f"# Shared\n\nThe {marker} budget is sealed.\n".encode())
    expect(row(page, name).locator("td[data-status]")).to_have_attribute(
        "data-status", "ready", timeout=READY_TIMEOUT_MS
    )
    # Share with the member through the dialog
    row(page, name).get_by_role("button", name=f"Share {name}").click()
    page.get_by_label("User ids (separated by spaces)").fill(member["user_id"])
    page.get_by_role("dialog").get_by_role("button", name="Share", exact=True).click()
    expect(row(page, name)).to_contain_text(member["user_id"])
    # Deleting asks first: declining keeps it, accepting removes it
    page.once("dialog", lambda dialog: dialog.dismiss())
    row(page, name).get_by_role("button", name=f"Delete {name}").click()
    expect(row(page, name)).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    row(page, name).get_by_role("button", name=f"Delete {name}").click()
    expect(row(page, name)).to_have_count(0, timeout=30_000)


def test_the_other_tenant_sees_none_of_it(
    context: BrowserContext, stack: dict[str, Any], web_url: str, marker: str
) -> None:
    page = context.new_page()
    sign_in(page, web_url, user(stack, "other_tenant", "member"))
    expect(page.locator("#list-status")).not_to_have_text("Loading…")
    expect(page.locator("#documents")).not_to_contain_text(marker)
    page.get_by_role("link", name="Ask").click()
    page.get_by_label("Your question").fill(f"At what temperature does the {marker} reactor run?")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator(".not-enough")).to_be_visible(timeout=60_000)
    expect(page.locator("#answer")).not_to_contain_text("42 kelvin")
    expect(page.locator("button.citation")).to_have_count(0)
