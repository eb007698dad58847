"""Documents API logic with the real Cedar engine over in-memory records."""

from __future__ import annotations

from typing import Any

import pytest
from documents import logic
from documents.logic import InvalidDocumentRequest, NewDocument, UnsupportedUploadType, UploadTooLarge
from echo_documents.errors import DocumentNotFound, DocumentStoreUnavailable
from echo_documents.records import DocumentStatus
from echo_shared.authz import Classification
from echo_shared.authz.caller import Caller
from echo_shared.web import Forbidden

from tests.unit.documents.conftest import OTHER_TENANT, DocumentWorld, user_caller


def _upload(world: DocumentWorld, caller: Caller, filename: str = "report.pdf", **kwargs: Any) -> str:
    new = NewDocument(
        filename=filename,
        content_type=kwargs.get("content_type"),
        size=kwargs.get("size"),
        classification=kwargs.get("classification", Classification.INTERNAL),
    )
    return logic.create_document(world.service, caller, new, "req-1").record.document_id


def test_create_pins_the_key_under_the_callers_tenant_and_user(world: DocumentWorld, alice: Caller) -> None:
    # When alice asks for an upload form for a PDF
    created = logic.create_document(
        world.service,
        alice,
        NewDocument("Q3 Report (final).pdf", None, 2048, Classification.INTERNAL),
        "req-1",
    )
    # Then the form pins her prefix, the type from the extension and the configured size limit
    signed = world.uploads.signed[-1]
    assert signed["key"] == f"tenants/acme/users/alice/{created.record.document_id}/Q3_Report_final_.pdf"
    assert signed["content_type"] == "application/pdf"
    assert signed["max_bytes"] == 1024 * 1024
    # And the record waits for the upload
    record = world.repository.get("acme", created.record.document_id)
    assert record is not None
    assert record.status is DocumentStatus.AWAITING_UPLOAD
    assert record.owner == "alice"
    assert record.filename == "Q3 Report (final).pdf"
    # And the decision was audited
    assert "authz.decision" in world.event_types()


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("evil.exe", None), ("noextension", None), ("notes.txt", "application/x-msdownload")],
)
def test_wrong_types_are_refused(
    world: DocumentWorld, alice: Caller, filename: str, content_type: str | None
) -> None:
    with pytest.raises(UnsupportedUploadType):
        _upload(world, alice, filename, content_type=content_type)
    assert world.repository.records == {}


def test_oversized_declared_uploads_are_refused(world: DocumentWorld, alice: Caller) -> None:
    with pytest.raises(UploadTooLarge):
        _upload(world, alice, size=1024 * 1024 + 1)


def test_viewers_cannot_create_documents(world: DocumentWorld) -> None:
    with pytest.raises(Forbidden):
        _upload(world, user_caller("vera", "viewer"))


def test_a_token_without_the_write_scope_cannot_create(world: DocumentWorld) -> None:
    with pytest.raises(Forbidden, match="may not create"):
        _upload(world, user_caller("alice", "member", scopes=("documents:read",)))


def test_members_read_internal_documents_but_not_restricted_ones(
    world: DocumentWorld, alice: Caller, bob: Caller
) -> None:
    # Given alice's internal and restricted documents
    internal = _upload(world, alice, "internal.pdf")
    restricted = _upload(world, alice, "restricted.pdf", classification=Classification.RESTRICTED)
    # Then bob reads the internal one and is refused the restricted one
    assert logic.get_document(world.service, bob, internal, "req-2").document_id == internal
    with pytest.raises(Forbidden):
        logic.get_document(world.service, bob, restricted, "req-3")
    # And bob's listing shows only the internal one; alice sees both
    listed = logic.list_documents(world.service, bob, "req-4", limit=100, cursor=None)
    assert [r.document_id for r in listed.documents] == [internal]
    mine = logic.list_documents(world.service, alice, "req-5", limit=100, cursor=None)
    assert {r.document_id for r in mine.documents} == {internal, restricted}


def test_sharing_a_restricted_document_lets_the_user_read_it(
    world: DocumentWorld, alice: Caller, bob: Caller
) -> None:
    restricted = _upload(world, alice, "restricted.pdf", classification=Classification.RESTRICTED)
    # When alice shares it with bob
    shared = logic.share_document(world.service, alice, restricted, users=["bob"], roles=[], request_id="r")
    # Then bob may read it, and the share is an event
    assert shared.shared_with_users == frozenset({"bob"})
    assert logic.get_document(world.service, bob, restricted, "req-2").document_id == restricted
    assert "document.shared" in world.event_types()


def test_only_owners_and_admins_share(world: DocumentWorld, alice: Caller, bob: Caller) -> None:
    document = _upload(world, alice)
    with pytest.raises(Forbidden):
        logic.share_document(world.service, bob, document, users=["carol"], roles=[], request_id="r")


@pytest.mark.parametrize(("users", "roles"), [([], []), (["a/b"], []), ([], ["no spaces"])])
def test_share_needs_valid_names(
    world: DocumentWorld, alice: Caller, users: list[str], roles: list[str]
) -> None:
    document = _upload(world, alice)
    with pytest.raises(InvalidDocumentRequest):
        logic.share_document(world.service, alice, document, users=users, roles=roles, request_id="r")


def test_deletion_hides_the_document_at_once_and_announces_the_cleanup(
    world: DocumentWorld, alice: Caller
) -> None:
    document = _upload(world, alice)
    # When alice deletes it
    deleted = logic.delete_document(world.service, alice, document, "req-del")
    # Then it is gone for every reader before the cleanup ran
    assert deleted.status is DocumentStatus.DELETED
    with pytest.raises(DocumentNotFound):
        logic.get_document(world.service, alice, document, "req-2")
    assert logic.list_documents(world.service, alice, "req-3", limit=10, cursor=None).documents == []
    # And document.deleted names the object to remove
    event = next(e for e in world.outbox.published if e.type == "document.deleted")
    assert event.data["object_key"] == deleted.object_key
    # And deleting again is not found
    with pytest.raises(DocumentNotFound):
        logic.delete_document(world.service, alice, document, "req-4")


def test_other_tenants_ids_are_not_found(world: DocumentWorld, alice: Caller) -> None:
    document = _upload(world, alice)
    intruder = user_caller("mallory", "admin", tenant=OTHER_TENANT)
    for operation in (logic.get_document, logic.delete_document):
        with pytest.raises(DocumentNotFound):
            operation(world.service, intruder, document, "req-x")


def test_malformed_and_unknown_ids_are_not_found(world: DocumentWorld, alice: Caller) -> None:
    for document_id in ("../etc/passwd", "00000000-0000-0000-0000-00000000abcd"):
        with pytest.raises(DocumentNotFound):
            logic.get_document(world.service, alice, document_id, "req")


def test_listing_pages_by_cursor(world: DocumentWorld, alice: Caller) -> None:
    ids = [_upload(world, alice, f"doc-{n}.txt") for n in range(5)]
    first = logic.list_documents(world.service, alice, "r1", limit=2, cursor=None)
    second = logic.list_documents(world.service, alice, "r2", limit=2, cursor=first.next_cursor)
    third = logic.list_documents(world.service, alice, "r3", limit=2, cursor=second.next_cursor)
    assert [r.document_id for r in first.documents + second.documents + third.documents] == sorted(ids)
    assert third.next_cursor is None


def test_events_never_carry_the_filename(world: DocumentWorld, alice: Caller) -> None:
    document = _upload(world, alice, "Secret merger plan.pdf")
    logic.delete_document(world.service, alice, document, "req-del")
    for event in [*world.publisher.published, *world.outbox.published]:
        assert "Secret merger plan" not in event.to_json()


def test_a_deletion_and_its_event_are_stored_together_or_not_at_all(
    world: DocumentWorld, alice: Caller
) -> None:
    document = _upload(world, alice)
    # Given an outbox DynamoDB refuses
    world.repository.outbox_down = True
    # When alice deletes the document, the store is unavailable (503)
    with pytest.raises(DocumentStoreUnavailable):
        logic.delete_document(world.service, alice, document, "req-del")
    # Then it is still live and no document.deleted waits to start a cleanup
    assert logic.get_document(world.service, alice, document, "req-2").status.is_live
    assert "document.deleted" not in world.event_types()
    # And once the outbox is back, the retry deletes it with exactly one event
    world.repository.outbox_down = False
    deleted = logic.delete_document(world.service, alice, document, "req-del")
    [event] = [e for e in world.outbox.published if e.type == "document.deleted"]
    assert event.data["status"] == "deleted"
    assert world.repository.get("acme", document) == deleted


def test_a_share_returns_what_it_stored_and_commits_its_event_with_it(
    world: DocumentWorld, alice: Caller
) -> None:
    document = _upload(world, alice)
    shared = logic.share_document(
        world.service, alice, document, users=["bob", "bob"], roles=["auditor"], request_id="r"
    )
    assert world.repository.get("acme", document) == shared
    [event] = world.outbox.published
    assert (event.type, event.data["added_users"], event.data["added_roles"]) == (
        "document.shared",
        ["bob"],
        ["auditor"],
    )
    # And a share the outbox refuses adds no reader
    world.repository.outbox_down = True
    with pytest.raises(DocumentStoreUnavailable):
        logic.share_document(world.service, alice, document, users=["carol"], roles=[], request_id="r2")
    stored = world.repository.get("acme", document)
    assert stored is not None
    assert stored.shared_with_users == frozenset({"bob"})
    assert len(world.outbox.published) == 1
