"""The storage layout and the S3 notification parser."""

from __future__ import annotations

import json

import pytest
from echo_documents.layout import InvalidObjectKey, locate, original_key, safe_filename
from echo_shared.events import InvalidEvent
from parse.notifications import created_objects

DOC = "3f1c2b9e-8a47-4d2e-9b61-0c5e7a1d2f30"


def test_an_original_key_round_trips() -> None:
    key = original_key("acme", "alice", DOC, "Ünïcode Report 2026.pdf")
    assert key == f"tenants/acme/users/alice/{DOC}/Unicode_Report_2026.pdf"
    location = locate(key)
    assert (location.tenant, location.owner, location.document_id, location.dropped) == (
        "acme",
        "alice",
        DOC,
        False,
    )


def test_drops_get_a_stable_id_per_key() -> None:
    first = locate("tenants/acme/users/bob/drop/a/b.txt")
    again = locate("tenants/acme/users/bob/drop/a/b.txt")
    other = locate("tenants/acme/users/bob/drop/a/c.txt")
    assert first.dropped
    assert first.document_id == again.document_id != other.document_id
    assert first.filename == "b.txt"


@pytest.mark.parametrize(
    "key",
    [
        "tenants/acme/users/alice/not-a-uuid/x.pdf",
        f"tenants/acme/users/alice/{DOC}/nested/x.pdf",
        "tenants/acme/users/alice/drop/",
        "tenants/acme/groups/alice/drop/x",
        "tenants/ac me/users/alice/drop/x",
    ],
)
def test_keys_outside_the_layout_are_refused(key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        locate(key)


@pytest.mark.parametrize(("name", "safe"), [("../../etc/passwd", "etc_passwd"), ("...", "document")])
def test_filenames_become_one_safe_segment(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_notifications_yield_created_objects_with_decoded_keys() -> None:
    body = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Post",
                    "s3": {
                        "bucket": {"name": "docs"},
                        "object": {"key": "tenants/acme/users/bob/drop/a+b%C3%A9.txt", "size": 5},
                    },
                },
                {
                    "eventName": "ObjectRemoved:Delete",
                    "s3": {"bucket": {"name": "docs"}, "object": {"key": "x"}},
                },
            ]
        }
    )
    [created] = created_objects(body)
    assert (created.key, created.size) == ("tenants/acme/users/bob/drop/a bé.txt", 5)


def test_the_s3_test_event_holds_nothing() -> None:
    assert created_objects(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []


@pytest.mark.parametrize(
    "body", ["not json", "[]", "{}", json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]})]
)
def test_other_bodies_are_invalid_events(body: str) -> None:
    with pytest.raises(InvalidEvent):
        created_objects(body)
