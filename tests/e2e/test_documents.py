"""The document product on the deployed stack: upload or drop -> parse -> index -> cited answers,
tenant isolation, restricted documents, sharing, deletion, typed errors, audit without text."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from echo_documents.layout import drop_document_id
from echo_shared.identity.claims import Role

from tests.e2e.conftest import wait_for
from tests.e2e.documents_support import DocumentsClient, new_user, pdf_with_pages, signed_in
from tests.unit.parse.documents import SHARED_FIXTURES

# Facts no other document holds: a question about one can only be answered from its document.
REACTOR = "The Zorblax reactor in hall {n} runs at exactly 451 kelvin during the night shift."
VAULT = "The Quillfeather vault combination for project {n} is kept by the harbour master."
GENERATED = (
    ("plain.txt", "text/plain", "Die Kaffeemaschine im dritten Stock wurde 2019 von Frau Okafor repariert.\n"),
    ("page.html", "text/html", "<html><head><script>var x=1</script></head><body><nav>Menu</nav>"
     "<h1>Ferry timetable</h1><p>The Lindqvist ferry leaves pier nine at 07:40.</p></body></html>"),
)  # fmt: skip
SHARED_EXPECTED = {
    "word-export-various.pdf": ("ready", None),
    "tika-sample-word-document.docx": ("ready", None),
    "tika-word-numbered-lists.docx": ("ready", None),
    "rust-book-ch03-02-data-types.md": ("ready", None),
    "pdfminer-six-CHANGELOG.md": ("ready", None),
    "huge-page-count-213804087.pdf": ("failed", "empty"),
    "password-protected.docx": ("failed", "encrypted"),
}


@pytest.fixture(scope="module")
def module_env(stack: dict[str, Any]) -> Iterator[None]:
    """deployed_env for module-scoped fixtures (it is function-scoped)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ENDPOINT_URL": stack["endpoint_url"],
            "AWS_DEFAULT_REGION": stack["region"],
            "AWS_REGION": stack["region"],
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def tenant_users(stack: dict[str, Any], module_env: None) -> dict[str, DocumentsClient]:
    """Fresh users per run in the demo tenant, and the other tenant's member."""
    demo = stack["demo"]["tenant"]
    users = {}
    for name, role in (("owner", Role.MEMBER), ("colleague", Role.MEMBER)):
        user_id, email, password = new_user(stack, demo, role)
        users[name] = signed_in(stack, user_id, demo, email, password)
    other = stack["other_tenant"]
    member = other["users"]["member"]
    users["outsider"] = signed_in(
        stack, member["user_id"], other["tenant"], member["email"], member["password"], seeded="other_tenant"
    )
    return users


@pytest.fixture(scope="module")
def owner(tenant_users: dict[str, DocumentsClient]) -> DocumentsClient:
    return tenant_users["owner"]


@pytest.fixture(scope="module")
def colleague(tenant_users: dict[str, DocumentsClient]) -> DocumentsClient:
    return tenant_users["colleague"]


@pytest.fixture(scope="module")
def outsider(tenant_users: dict[str, DocumentsClient]) -> DocumentsClient:
    return tenant_users["outsider"]


def _cited(answer: dict[str, Any], document_id: str) -> list[dict[str, Any]]:
    return [c for c in answer["citations"] if c["document_id"] == document_id]


def test_a_pdf_upload_is_answered_with_a_citation_of_its_page(owner: DocumentsClient) -> None:
    # Given a three-page PDF whose second page alone holds the fact
    n = uuid.uuid4().hex[:6]
    data = pdf_with_pages(
        ["Introduction to the plant.", REACTOR.format(n=n), "Appendix: safety contacts and phone numbers."]
    )
    started = time.monotonic()
    document_id = owner.upload(f"plant-{n}.pdf", data)
    # When it is processed
    document = owner.wait_terminal(document_id)
    elapsed = time.monotonic() - started
    # Then it is ready with its pages and chunks, timings for every step
    assert document["status"] == "ready", document
    assert document["pages"] == 3
    assert document["chunks"] >= 1
    assert {"created", "uploaded", "parsed", "indexed"} <= set(document["timings"])
    # And a question about the fact is answered citing that document's page 2
    answer = owner.ask(f"At what temperature does the Zorblax reactor in hall {n} run?")
    assert answer["enough_information"] is True, answer
    cited = _cited(answer, document_id)
    assert cited, answer
    assert cited[0]["page"] == 2
    assert "451" in cited[0]["text"]
    assert answer["retrieval"]["candidates"] >= 1
    print(f"upload-to-ready {elapsed:.1f}s")


@pytest.mark.parametrize("name", sorted(SHARED_EXPECTED))
def test_real_world_files_reach_their_terminal_state(owner: DocumentsClient, name: str) -> None:
    status, code = SHARED_EXPECTED[name]
    document_id = owner.upload(name, (SHARED_FIXTURES / name).read_bytes())
    document = owner.wait_terminal(document_id)
    assert document["status"] == status, document
    if code is not None:
        assert document["failure"]["code"] == code
    else:
        assert document["chunks"] >= 1


@pytest.mark.parametrize(("name", "content_type", "text"), GENERATED)
def test_generated_files_of_every_type_are_indexed(
    owner: DocumentsClient, name: str, content_type: str, text: str
) -> None:
    document_id = owner.upload(name, text.encode(), content_type)
    assert owner.wait_terminal(document_id)["status"] == "ready"


def test_a_mislabelled_file_fails_as_unsupported(owner: DocumentsClient) -> None:
    # A PNG declared as a PDF: the parser sniffs the bytes, not the label
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    document_id = owner.upload("picture.pdf", png)
    document = owner.wait_terminal(document_id)
    assert (document["status"], document["failure"]["code"]) == ("failed", "unsupported_type")


def test_a_plain_s3_drop_is_processed_the_same_way(
    stack: dict[str, Any], aws: Callable[[str], Any], owner: DocumentsClient
) -> None:
    n = uuid.uuid4().hex[:6]
    key = f"tenants/{owner.tenant}/users/{owner.user_id}/drop/minutes-{n}.md"
    body = f"# Minutes {n}\n\n## Decisions\n\nThe Brackenridge bridge repaint is moved to week {n[:2]}.\n"
    aws("s3").put_object(Bucket=stack["buckets"]["documents"], Key=key, Body=body.encode())
    document_id = drop_document_id(key)
    document = wait_for(
        lambda: (
            (r := owner.document(document_id)).status_code == 200
            and r.json()["status"] in ("ready", "failed")
            and r.json()
        ),
        timeout=180,
    )
    assert document["status"] == "ready", document
    assert (document["owner"], document["filename"]) == (owner.user_id, f"minutes-{n}.md")
    answer = owner.ask(f"When is the Brackenridge bridge repaint in minutes {n}?")
    cited = _cited(answer, document_id)
    assert cited, answer
    assert cited[0]["section"][-1] == "Decisions"


def test_restricted_documents_other_tenants_sharing_and_deletion(
    owner: DocumentsClient, colleague: DocumentsClient, outsider: DocumentsClient
) -> None:
    n = uuid.uuid4().hex[:6]
    question = f"Who keeps the Quillfeather vault combination for project {n}?"
    document_id = owner.upload(f"vault-{n}.txt", VAULT.format(n=n).encode(), classification="restricted")
    assert owner.wait_terminal(document_id)["status"] == "ready"
    # The owner is answered from it
    assert _cited(owner.ask(question), document_id)
    # A member without access and a member of the other tenant get "not enough information"
    for asker in (colleague, outsider):
        answer = asker.ask(question)
        assert answer["enough_information"] is False, answer
        assert answer["citations"] == []
        assert "harbour" not in answer["answer"]
    assert colleague.document(document_id).status_code == 403
    assert outsider.document(document_id).status_code == 404
    # A share makes it answerable for the colleague
    shared = owner.http.post(f"documents/{document_id}/share", json={"users": [colleague.user_id]})
    assert shared.status_code == 200, shared.text
    assert _cited(colleague.ask(question), document_id)
    # Deletion makes it unanswerable the moment the call returns
    deleted = owner.http.delete(f"documents/{document_id}")
    assert deleted.status_code == 202, deleted.text
    for asker in (owner, colleague):
        answer = asker.ask(question)
        assert not _cited(answer, document_id), answer
        assert answer["enough_information"] is False
    assert owner.document(document_id).status_code == 404


def test_deletion_removes_object_parsed_text_and_segment_within_the_bound(
    stack: dict[str, Any], aws: Callable[[str], Any], owner: DocumentsClient
) -> None:
    document_id = owner.upload("short-lived.txt", b"The Marrowby lighthouse keeper retires in May.")
    assert owner.wait_terminal(document_id)["status"] == "ready"
    bucket = stack["buckets"]["documents"]
    s3 = aws("s3")
    prefixes = (
        f"tenants/{owner.tenant}/users/{owner.user_id}/{document_id}/",
        f"parsed/{owner.tenant}/{document_id}",
        f"index/{owner.tenant}/segments/{document_id}",
    )

    def stored() -> list[str]:
        return [
            o["Key"]
            for p in prefixes
            for o in s3.list_objects_v2(Bucket=bucket, Prefix=p).get("Contents", [])
        ]

    keys = stored()
    assert len(keys) == 3, keys  # original, parsed text, index segment
    started = time.monotonic()
    assert owner.http.delete(f"documents/{document_id}").status_code == 202

    def purged() -> bool:
        manifest = json.loads(
            s3.get_object(Bucket=bucket, Key=f"index/{owner.tenant}/manifest.json")["Body"].read()
        )
        return not stored() and document_id not in json.dumps(manifest)

    wait_for(purged, timeout=60)  # docs/documents.md: deletion bound
    print(f"purge {time.monotonic() - started:.1f}s")


def test_bad_inputs_get_typed_errors(owner: DocumentsClient, outsider: DocumentsClient) -> None:
    cases = [
        (owner.create("huge.pdf", size=26 * 1024 * 1024), 413, "too_large"),
        (owner.create("tool.exe"), 415, "unsupported_type"),
        (owner.create("a.pdf", content_type="image/png"), 415, "unsupported_type"),
        (owner.create(""), 422, "validation_error"),
        (owner.document(str(uuid.uuid4())), 404, "not_found"),
        (owner.http.post("query", json={"question": ""}), 422, "validation_error"),
        (owner.http.post("query", json={"question": "x", "top_k": 500}), 422, "validation_error"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    # Another tenant's document id is not found, not forbidden
    document_id = owner.upload("mine.txt", b"Owned by the demo tenant.")
    assert outsider.document(document_id).status_code == 404
    assert outsider.http.delete(f"documents/{document_id}").status_code == 404
    assert outsider.http.post(f"documents/{document_id}/share", json={"users": ["x"]}).status_code == 404


def test_uploads_queries_and_deletions_are_audited_without_text(
    owner: DocumentsClient, audit_api: Any, stack: dict[str, Any]
) -> None:
    n = uuid.uuid4().hex[:6]
    secret = f"The Pellucid archive password hint {n} is a blue heron."
    document_id = owner.upload(f"hint-{n}.txt", secret.encode())
    assert owner.wait_terminal(document_id)["status"] == "ready"
    question = f"What is the Pellucid archive password hint {n}?"
    assert _cited(owner.ask(question), document_id)
    assert owner.http.delete(f"documents/{document_id}").status_code == 202

    def trail() -> list[dict[str, Any]]:
        events = audit_api.all_events(owner.tenant)
        mine = [e for e in events if document_id in json.dumps(e) or e["type"] == "query.answered"]
        types = {e["type"] for e in mine}
        wanted = {
            "document.uploaded",
            "document.parsed",
            "document.indexed",
            "document.deleted",
            "query.answered",
        }
        return mine if wanted <= types else []

    events = wait_for(trail, timeout=90)
    everything = json.dumps(audit_api.all_events(owner.tenant)) + json.dumps(
        [audit_api.get("/logs", owner.tenant, limit=100).json()]
    )
    for text in (secret, question, "blue heron", "Pellucid archive"):
        assert text not in everything
    answered = [e for e in events if e["type"] == "query.answered"]
    assert any(e["data"]["question_chars"] == len(question) for e in answered)
