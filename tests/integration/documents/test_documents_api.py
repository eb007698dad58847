"""The documents API handler against moto: presigned POST policy, records, typed errors, audit events."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import boto3

from tests.integration.documents.conftest import BUCKET, DOCUMENTS_TABLE, Bus, identity

ALICE = identity("alice")
BOB = identity("bob")
MALLORY = identity("mallory", roles="admin", tenant="globex")


def test_create_returns_a_presigned_post_pinning_key_size_and_type(
    call: Callable[..., tuple[int, Any]], aws: Bus
) -> None:
    # When alice asks to upload a PDF
    status, body = call("POST", "/documents", {"filename": "report.pdf", "size": 1000}, caller=ALICE)
    # Then she gets a form for her own prefix
    assert status == 201, body
    assert body["status"] == "awaiting_upload"
    fields = body["upload"]["fields"]
    assert fields["key"] == f"tenants/acme/users/alice/{body['document_id']}/report.pdf"
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": fields["key"]} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1, 1024 * 1024] in conditions
    assert {"bucket": BUCKET} in conditions
    # And the record is in the documents table with the attributes the authz entity provider reads
    item = boto3.client("dynamodb").get_item(
        TableName=DOCUMENTS_TABLE, Key={"tenant": {"S": "acme"}, "document_id": {"S": body["document_id"]}}
    )["Item"]
    assert item["owner"] == {"S": "alice"}
    assert item["classification"] == {"S": "internal"}
    assert item["status"] == {"S": "awaiting_upload"}
    # And the decision was audited
    assert [e["type"] for e in aws.drain()] == ["authz.decision"]


def test_the_form_uploads_to_s3(call: Callable[..., tuple[int, Any]]) -> None:
    status, body = call("POST", "/documents", {"filename": "notes.txt"}, caller=ALICE)
    assert status == 201
    key = body["upload"]["fields"]["key"]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"hello", ContentType="text/plain")
    assert boto3.client("s3").head_object(Bucket=BUCKET, Key=key)["ContentLength"] == 5


def test_typed_errors_for_bad_inputs(call: Callable[..., tuple[int, Any]]) -> None:
    cases = [
        ("POST", "/documents", {"filename": "big.pdf", "size": 2 * 1024 * 1024}, 413, "too_large"),
        ("POST", "/documents", {"filename": "tool.exe"}, 415, "unsupported_type"),
        ("POST", "/documents", {"filename": "a.pdf", "content_type": "image/png"}, 415, "unsupported_type"),
        ("POST", "/documents", {"filename": "../a.pdf"}, 422, "validation_error"),
        ("POST", "/documents", {"filename": "a.pdf", "classification": "secret"}, 422, "validation_error"),
        ("GET", "/documents/00000000-0000-0000-0000-000000000001", None, 404, "not_found"),
        ("GET", "/documents/not-an-id", None, 404, "not_found"),
    ]
    for method, path, body, status, code in cases:
        got, answer = call(
            method, path, body, caller=ALICE, resource="/documents/{document_id}" if method == "GET" else None
        )
        assert (got, answer["error"]["code"]) == (status, code), (path, body, answer)


def test_unauthenticated_and_unscoped_calls_are_refused(call: Callable[..., tuple[int, Any]]) -> None:
    status, body = call("GET", "/documents", caller=None)
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    status, body = call(
        "POST", "/documents", {"filename": "a.pdf"}, caller=identity("alice", scope="documents:read")
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")


def test_share_then_delete_through_the_api(call: Callable[..., tuple[int, Any]], aws: Bus) -> None:
    _, created = call(
        "POST", "/documents", {"filename": "plan.md", "classification": "restricted"}, caller=ALICE
    )
    document_id = created["document_id"]
    path = f"/documents/{document_id}"
    # Bob may not read alice's restricted document, and another tenant's admin does not even find it
    assert call("GET", path, caller=BOB)[0] == 403
    assert call("GET", path, caller=MALLORY)[0] == 404
    # Alice shares it with bob: he reads it and it shows in his listing
    status, shared = call("POST", f"{path}/share", {"users": ["bob"]}, caller=ALICE)
    assert status == 200, shared
    assert shared["shared_with"] == {"users": ["bob"], "roles": []}
    assert call("GET", path, caller=BOB)[0] == 200
    assert [d["document_id"] for d in call("GET", "/documents", caller=BOB)[1]["documents"]] == [document_id]
    # Bob may not delete it; alice may, and then nobody finds it
    assert call("DELETE", path, caller=BOB)[0] == 403
    status, deleted = call("DELETE", path, caller=ALICE)
    assert (status, deleted["status"]) == (202, "deleted")
    assert call("GET", path, caller=ALICE)[0] == 404
    assert call("GET", "/documents", caller=BOB)[1]["documents"] == []
    types = [e["type"] for e in aws.drain()]
    assert "document.shared" in types
    assert "document.deleted" in types
