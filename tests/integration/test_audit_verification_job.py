"""The full-verification job end to end on moto: POST /audit/verifications, the job function
draining its own queue page by page (DynamoDB progress), GET for the result; tampering is pinned
to the same seq as GET /audit/verify."""

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from audit_api.handler import lambda_handler as audit_api
from audit_verification.handler import lambda_handler as job_function
from echo_shared.lazy import reset_cached_resources

from tests.conftest import FakeLambdaContext
from tests.integration.audit_notary import in_process_notary  # noqa: F401 (fixture: the ingest seeds the chain)
from tests.integration.conftest import AwsResources
from tests.integration.test_audit_api_handler import decisions, seeded  # noqa: F401 (fixtures)


@pytest.fixture
def small_pages(seeded: AwsResources, monkeypatch: pytest.MonkeyPatch) -> AwsResources:  # noqa: F811
    """Pages of 2 records, one per invocation: acme's 7 records take 4 invocations."""
    monkeypatch.setenv("AUDIT_VERIFICATION_PAGE_RECORDS", "2")
    monkeypatch.setenv("AUDIT_VERIFICATION_PAGES_PER_INVOCATION", "1")
    reset_cached_resources()
    return seeded


@pytest.fixture
def bus_capture(seeded: AwsResources) -> Callable[[], list[dict[str, Any]]]:  # noqa: F811
    """Every event published to the bus from now on (a raw SQS subscription)."""
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    url = sqs.create_queue(QueueName="echo-test-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=seeded.env["EVENT_TOPIC_ARN"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )

    def read() -> list[dict[str, Any]]:
        found = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    return read


def _api(
    sample_event: Callable[[str], dict[str, Any]],
    context: FakeLambdaContext,
    method: str,
    path: str,
    tenant: str = "acme",
) -> tuple[int, Any]:
    event = sample_event("audit_api.verifications_start.apigw.json")
    event["httpMethod"], event["path"], event["resource"] = method, path, path
    event["requestContext"]["authorizer"]["tenant"] = tenant
    response = audit_api(event, context)
    return response["statusCode"], json.loads(response["body"])


def _drain(
    aws: AwsResources, sample_event: Callable[[str], dict[str, Any]], context: FakeLambdaContext
) -> int:
    """Deliver the job queue's messages to the job function until it is empty; the invocations made."""
    sqs = boto3.client("sqs")
    url = aws.env["AUDIT_VERIFICATION_QUEUE_URL"]
    template = sample_event("audit_verification.sqs.json")["Records"][0]
    invocations = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", []):
        record = template | {"messageId": messages[0]["MessageId"], "body": messages[0]["Body"]}
        assert job_function({"Records": [record]}, context) == {"batchItemFailures": []}
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        invocations += 1
        assert invocations < 50
    return invocations


def test_a_job_verifies_the_chain_across_invocations_and_is_audited(
    small_pages: AwsResources,
    bus_capture: Callable[[], list[dict[str, Any]]],
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
) -> None:
    # Given acme's seeded chain of 7 records
    # When its admin starts a full verification
    status, started = _api(sample_event, lambda_context, "POST", "/audit/verifications")
    assert status == 202, started
    assert (started["status"], started["end_seq"]) == ("running", 7)
    # And the job function drains its queue
    invocations = _drain(small_pages, sample_event, lambda_context)
    # Then it took one invocation per page of 2 and the result says ok up to seq 7
    assert invocations == 4
    status, job = _api(sample_event, lambda_context, "GET", f"/audit/verifications/{started['id']}")
    assert status == 200
    assert (job["status"], job["last_verified_seq"], job["pages"]) == ("finished", 7, 4)
    assert job["result"]["ok"] is True
    # And another tenant cannot see it
    status, body = _api(
        sample_event, lambda_context, "GET", f"/audit/verifications/{started['id']}", "globex"
    )
    assert (status, body["error"]["code"]) == (404, "not_found")
    # And the start, the end and the decisions went to the bus (hence to the audit chain)
    published = bus_capture()
    mine = [e for e in published if e["type"].startswith("audit.verification_")]
    assert [e["type"] for e in mine] == ["audit.verification_started", "audit.verification_finished"]
    assert mine[1]["data"]["ok"] is True
    assert mine[1]["tenant"] == "acme"
    assert any(e["type"] == "authz.decision" for e in published)


@pytest.mark.parametrize("tamper", ["modify", "delete", "swap", "truncate"])
def test_tampering_is_pinned_to_the_same_seq_as_the_synchronous_verification(
    small_pages: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    tamper: str,
) -> None:
    # Given acme's chain tampered with in DynamoDB: record 4 rewritten in place or deleted, records
    # 3 and 5 swapped, or the tail from 6 on deleted
    dynamodb, table = small_pages.dynamodb, small_pages.table("AUDIT_CHAIN_TABLE")

    def key(seq: int) -> dict[str, Any]:
        return {"tenant": {"S": "acme"}, "seq": {"N": str(seq)}}

    def item(seq: int) -> dict[str, Any]:
        found: dict[str, Any] = dynamodb.get_item(TableName=table, Key=key(seq), ConsistentRead=True)["Item"]
        return found

    if tamper == "modify":
        dynamodb.update_item(
            TableName=table,
            Key=key(4),
            UpdateExpression="SET outcome = :o",
            ExpressionAttributeValues={":o": {"S": "failure"}},
        )
    elif tamper == "delete":
        dynamodb.delete_item(TableName=table, Key=key(4))
    elif tamper == "swap":
        three, five = item(3), item(5)
        dynamodb.put_item(TableName=table, Item={**five, "seq": {"N": "3"}})
        dynamodb.put_item(TableName=table, Item={**three, "seq": {"N": "5"}})
    else:
        for seq in (6, 7):
            dynamodb.delete_item(TableName=table, Key=key(seq))
    verify = sample_event("audit_api.verify.apigw.json")
    expected = json.loads(audit_api(verify, lambda_context)["body"])
    assert expected["ok"] is False
    # When a job verifies the whole chain
    _, started = _api(sample_event, lambda_context, "POST", "/audit/verifications")
    _drain(small_pages, sample_event, lambda_context)
    # Then its result names the same first bad seq and problem
    _, job = _api(sample_event, lambda_context, "GET", f"/audit/verifications/{started['id']}")
    assert job["status"] == "finished"
    assert (job["result"]["ok"], job["result"]["first_bad_seq"], job["result"]["problem"]) == (
        False,
        expected["first_bad_seq"],
        expected["problem"],
    )
    assert job["last_verified_seq"] == expected["first_bad_seq"] - 1


def test_a_job_sqs_refuses_to_queue_is_a_503_and_leaves_no_job_behind(
    seeded: AwsResources,  # noqa: F811
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the job queue gone (SQS refuses the first step's message)
    jobs_table = seeded.env["AUDIT_VERIFICATIONS_TABLE"]
    monkeypatch.setenv("AUDIT_VERIFICATION_QUEUE_URL", seeded.env["AUDIT_VERIFICATION_QUEUE_URL"] + "-gone")
    reset_cached_resources()
    # When an admin starts a full verification
    status, body = _api(sample_event, lambda_context, "POST", "/audit/verifications")
    # Then it is a typed 503, and no job was left in the table to look as if it were running
    assert status == 503, body
    assert body["error"]["code"] == "unavailable"
    assert boto3.client("dynamodb").scan(TableName=jobs_table, ConsistentRead=True)["Count"] == 0
