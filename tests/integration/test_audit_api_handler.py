"""audit_api.handler through Mangum with API Gateway REST proxy events, over moto tables, S3 and KMS."""

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from audit_api.handler import lambda_handler
from audit_ingest.handler import lambda_handler as ingest
from botocore.exceptions import ClientError
from echo_shared.audit import checkpoint_key
from echo_shared.audit.checkpoints import read_checkpoint
from echo_shared.events import EventEnvelope
from echo_shared.lazy import reset_cached_resources
from log_sink.handler import lambda_handler as sink

from tests.conftest import FakeLambdaContext
from tests.integration.audit_notary import in_process_notary  # noqa: F401 (fixture: the ingest seeds the chain)
from tests.integration.authz.conftest import DOCUMENTS_TABLE, POLICY_TABLE
from tests.integration.conftest import AwsResources
from tests.integration.stack_template import AUTHZ

BASE = datetime(2026, 1, 6, 9, tzinfo=UTC)


@pytest.fixture
def decisions(aws: AwsResources, monkeypatch: pytest.MonkeyPatch) -> AwsResources:
    """The in-process Cedar client's tables and the bus its audited decisions go to."""
    for properties in AUTHZ.table_definitions("local").values():
        aws.dynamodb.create_table(
            **{
                key: properties[key]
                for key in ("TableName", "KeySchema", "AttributeDefinitions", "BillingMode")
            }
        )
    boto3.client("sns").create_topic(Name=aws.env["EVENT_TOPIC_ARN"].rsplit(":", 1)[1])
    monkeypatch.setenv("AUTHZ_POLICY_TABLE", POLICY_TABLE)
    monkeypatch.setenv("AUTHZ_DOCUMENTS_TABLE", DOCUMENTS_TABLE)
    reset_cached_resources()
    return aws


@pytest.fixture
def seeded(
    decisions: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    audit_sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
) -> AwsResources:
    """Through the real consumers: the ingest sample, five more acme logins in two batches, logs."""
    assert ingest(sample_event("audit_ingest.sqs.json"), lambda_context) == {"batchItemFailures": []}
    logins = [make_event(actor=f"user:user-{i}", occurred_at=BASE + timedelta(minutes=i)) for i in range(5)]
    for batch in (logins[:3], logins[3:]):
        assert ingest(audit_sqs_event(*(e.to_json() for e in batch)), lambda_context) == {
            "batchItemFailures": []
        }
    assert sink(sample_event("log_sink.sqs.json"), lambda_context) == {"batchItemFailures": []}
    return decisions


def _call(
    event: dict[str, Any], context: FakeLambdaContext, *, tenant: str | None = "acme", **query: str
) -> tuple[int, Any]:
    authorizer = event["requestContext"].setdefault("authorizer", {})
    authorizer.pop("tenant", None)
    if tenant is not None:
        authorizer["tenant"] = tenant
    if query:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    response = lambda_handler(event, context)
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def test_events_sample_filters_by_type_for_the_callers_tenant(
    seeded: AwsResources, sample_event: Callable[[str], dict[str, Any]], lambda_context: FakeLambdaContext
) -> None:
    # Given the events sample (type=user.logged_in, limit=10; stage "local" only in requestContext)
    response = lambda_handler(sample_event("audit_api.events.apigw.json"), lambda_context)

    # Then acme's six logins come back newest first, with chain fields
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert [item["seq"] for item in body["items"]] == [7, 6, 5, 4, 3, 1]
    assert {item["type"] for item in body["items"]} == {"user.logged_in"}
    assert body["items"][-1]["data"] == {"method": "password", "mfa": True}
    assert body["next_cursor"] is None


def test_pagination_and_window_filters(
    seeded: AwsResources, sample_event: Callable[[str], dict[str, Any]], lambda_context: FakeLambdaContext
) -> None:
    # Given a window covering the five later logins, read oldest first two at a time
    query = {
        "since": "2026-01-06T09:00:00Z",
        "until": "2026-01-06T09:04:00Z",
        "order": "oldest",
        "limit": "2",
    }
    seen: list[str] = []
    cursor = None

    # When following the cursors
    for _ in range(5):
        status, body = _call(
            sample_event("audit_api.events.apigw.json"),
            lambda_context,
            **query | ({"cursor": cursor} if cursor else {}),
        )
        assert status == 200
        seen += [item["actor"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break

    # Then the four logins inside [since, until) appear once each, in order
    assert seen == ["user:user-0", "user:user-1", "user:user-2", "user:user-3"]


def test_tenant_isolation(
    seeded: AwsResources, sample_event: Callable[[str], dict[str, Any]], lambda_context: FakeLambdaContext
) -> None:
    status, globex = _call(
        sample_event("audit_api.events.apigw.json"), lambda_context, tenant="globex", limit="100"
    )
    assert status == 200
    assert [item["type"] for item in globex["items"]] == ["authz.decision"]
    status, logs = _call(sample_event("audit_api.logs.apigw.json"), lambda_context, tenant="globex")
    assert (status, logs["items"]) == (200, [])
    status, nobody = _call(sample_event("audit_api.verify.apigw.json"), lambda_context, tenant="initech")
    assert (status, nobody["ok"], nobody["head_seq"]) == (200, True, 0)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"limit": "0"}, 422, "validation_error"),
        ({"limit": "500"}, 422, "validation_error"),
        ({"since": "last tuesday"}, 422, "validation_error"),
        ({"since": "2026-01-06T10:00:00Z", "until": "2026-01-06T09:00:00Z"}, 400, "invalid_filter"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, 400, "invalid_cursor"),
    ],
)
def test_bad_inputs_get_typed_errors(
    seeded: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    query: dict[str, str],
    status: int,
    code: str,
) -> None:
    got_status, body = _call(sample_event("audit_api.events.apigw.json"), lambda_context, **query)
    assert (got_status, body["error"]["code"]) == (status, code)
    assert set(body["error"]) == {"code", "message"}


def test_missing_tenant_is_401(
    decisions: AwsResources, sample_event: Callable[[str], dict[str, Any]], lambda_context: FakeLambdaContext
) -> None:
    status, body = _call(sample_event("audit_api.logs.apigw.json"), lambda_context, tenant=None)
    assert (status, body["error"]["code"]) == (401, "unauthenticated")


def test_unknown_resource_from_the_aws_sample_is_a_typed_404(
    decisions: AwsResources,
    aws_fixture_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
) -> None:
    response = lambda_handler(aws_fixture_event("apiGatewayProxyEvent.json"), lambda_context)
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"error": {"code": "not_found", "message": "not found"}}


def test_logs_sample(
    seeded: AwsResources, sample_event: Callable[[str], dict[str, Any]], lambda_context: FakeLambdaContext
) -> None:
    response = lambda_handler(sample_event("audit_api.logs.apigw.json"), lambda_context)
    assert response["statusCode"] == 200
    items = json.loads(response["body"])["items"]
    assert [item["type"] for item in items] == ["log.warning", "log.error"]
    assert items[1]["data"]["message"] == "vector index unavailable"


def test_verify_sample_is_ok_against_kms_signed_checkpoints(
    seeded: AwsResources, sample_event: Callable[[str], dict[str, Any]], lambda_context: FakeLambdaContext
) -> None:
    response = lambda_handler(sample_event("audit_api.verify.apigw.json"), lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "ok": True,
        "checked": 7,
        "head_seq": 7,
        "first_bad_seq": None,
        "problem": None,
        "detail": "7 records verified against 3 signed checkpoints",
        "checkpoint_seq": 7,
    }


def _edit_item(aws: AwsResources, seq: int, **changes: str) -> None:
    key = {"tenant": {"S": "acme"}, "seq": {"N": str(seq)}}
    item = aws.dynamodb.get_item(TableName=aws.table("AUDIT_CHAIN_TABLE"), Key=key)["Item"]
    item.update({name: {"S": value} for name, value in changes.items()})
    aws.dynamodb.put_item(TableName=aws.table("AUDIT_CHAIN_TABLE"), Item=item)


def _delete_item(aws: AwsResources, seq: int) -> None:
    aws.dynamodb.delete_item(
        TableName=aws.table("AUDIT_CHAIN_TABLE"), Key={"tenant": {"S": "acme"}, "seq": {"N": str(seq)}}
    )


@pytest.mark.parametrize(
    ("tamper", "problem", "first_bad_seq"),
    [
        (lambda aws: _edit_item(aws, 4, actor="mallory"), "hash_mismatch", 4),
        (lambda aws: _edit_item(aws, 5, data='{"method":"none"}'), "hash_mismatch", 5),
        (lambda aws: _delete_item(aws, 3), "missing_record", 3),
        (lambda aws: _delete_item(aws, 7), "truncated", 7),
    ],
)
def test_verify_reports_tampering_at_the_exact_seq(
    seeded: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    tamper: Callable[[AwsResources], None],
    problem: str,
    first_bad_seq: int,
) -> None:
    # Given acme's chain tampered with directly in DynamoDB
    tamper(seeded)

    # When verifying through the API
    status, body = _call(sample_event("audit_api.verify.apigw.json"), lambda_context)

    # Then the problem and its sequence number are reported
    assert status == 200
    assert (body["ok"], body["problem"], body["first_bad_seq"]) == (False, problem, first_bad_seq)


def test_verify_reports_a_forged_checkpoint_signature(
    seeded: AwsResources, sample_event: Callable[[str], dict[str, Any]], lambda_context: FakeLambdaContext
) -> None:
    # Given acme's checkpoint at seq 5 with its signature replaced
    bucket, key = seeded.table("CHECKPOINT_BUCKET"), checkpoint_key("acme", 5)
    document = json.loads(seeded.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    document["signature"] = base64.b64encode(b"\x30" * 70).decode()
    seeded.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode())

    # Then KMS Verify rejects it
    status, body = _call(sample_event("audit_api.verify.apigw.json"), lambda_context)
    assert (status, body["problem"], body["first_bad_seq"], body["checkpoint_seq"]) == (
        200,
        "bad_signature",
        5,
        2,
    )


def test_the_caller_comes_from_the_authorizer_and_a_member_sees_their_own_trail(
    seeded: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
) -> None:
    # Given a header claiming globex while the authorizer says acme
    event = sample_event("audit_api.events.apigw.json")
    event["headers"]["X-Echo-Tenant"] = "globex"

    # Then the authorizer wins: acme's whole trail for its auditor, nothing of globex's
    status, body = _call(event, lambda_context, limit="100")
    assert status == 200
    assert [item["seq"] for item in body["items"]] == [7, 6, 5, 4, 3, 2, 1]

    # And a plain member with a default-scope token sees only the events producers wrote as theirs
    member = sample_event("audit_api.events.apigw.json")
    member["requestContext"]["authorizer"] = {
        "principalId": "user-2",
        "sub": "user-2",
        "tenant": "acme",
        "roles": "member",
        "scope": "openid profile email offline_access",
        "token_type": "user",
    }
    status, body = _call(member, lambda_context, limit="100")
    assert (status, [item["actor"] for item in body["items"]]) == (200, ["user:user-2"])
    # Without an authorizer context it is a 401
    status, body = _call(sample_event("audit_api.verify.apigw.json") | {"requestContext": {}}, lambda_context)
    assert (status, body["error"]["code"]) == (401, "unauthenticated")


def test_custom_domain_base_path_is_stripped(
    seeded: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a custom domain mapping `/echo` in front of the API
    monkeypatch.setenv("AUDIT_API_BASE_PATH", "/echo")
    reset_cached_resources()
    event = sample_event("audit_api.verify.apigw.json")
    event["path"] = "/echo/audit/verify"

    # Then the route still matches
    assert lambda_handler(event, lambda_context)["statusCode"] == 200


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({"since": "2026-01-05T11:15:00Z", "until": "2026-01-05T11:16:00Z"}, ["log.error"]),
        ({"until": "2026-01-05T11:16:00Z"}, ["log.error"]),
        ({"since": "2026-01-05T11:16:00Z"}, ["log.warning"]),
        ({"since": "2026-01-05T11:16:00.000001Z"}, []),
    ],
)
def test_log_time_window_is_since_inclusive_until_exclusive(
    seeded: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    window: dict[str, str],
    expected: list[str],
) -> None:
    # Given log events at 11:15:30.5 (error) and exactly 11:16:00 (warning), keyed by time in LOG_TABLE
    status, body = _call(sample_event("audit_api.logs.apigw.json"), lambda_context, **window)

    # Then the key condition keeps [since, until)
    assert status == 200
    assert [item["type"] for item in body["items"]] == expected


def test_a_signature_of_the_key_over_another_message_is_a_bad_signature_not_an_outage(
    seeded: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
) -> None:
    # Given acme's first checkpoint (seq 2) rewritten with a genuine signature of the checkpoint key
    # over another message (verified locally with the key's public key, as KMS Verify would)
    bucket, key = seeded.table("CHECKPOINT_BUCKET"), checkpoint_key("acme", 2)
    stored = read_checkpoint(seeded.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert stored is not None
    other = seeded.kms.sign(
        KeyId=seeded.key_arn, Message=b"another message", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]
    seeded.s3.put_object(Bucket=bucket, Key=key, Body=replace(stored, signature=other).to_json())

    # Then that checkpoint is reported as badly signed
    status, body = _call(sample_event("audit_api.verify.apigw.json"), lambda_context)
    assert (status, body["problem"], body["first_bad_seq"], body["checkpoint_seq"]) == (
        200,
        "bad_signature",
        2,
        None,
    )


def test_kms_outage_during_verify_is_a_typed_503(
    seeded: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    faults: Callable[[str, ClientError, int], None],
) -> None:
    faults(
        "GetPublicKey",
        ClientError({"Error": {"Code": "KMSInternalException", "Message": "x"}}, "GetPublicKey"),
        1,
    )
    status, body = _call(sample_event("audit_api.verify.apigw.json"), lambda_context)
    assert (status, body["error"]["code"]) == (503, "unavailable")
    assert "KMS" not in body["error"]["message"]
