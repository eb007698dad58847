"""AWS resources for integration tests, under moto's `mock_aws`.

The table, bucket and key definitions live here and nowhere else, so they can later be derived from
the synthesized CDK template (each entry is keyed by the environment variable CDK sets).
"""

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from echo_shared.lazy import reset_cached_resources
from moto import mock_aws

from tests.fakes.events import sns_notification

TABLE_DEFINITIONS: dict[str, dict[str, Any]] = {
    "AUDIT_CHAIN_TABLE": {
        "KeySchema": [
            {"AttributeName": "tenant", "KeyType": "HASH"},
            {"AttributeName": "seq", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "tenant", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    },
    "AUDIT_EVENT_IDS_TABLE": {
        "KeySchema": [{"AttributeName": "event_id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "event_id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    },
    "LOG_TABLE": {
        "KeySchema": [
            {"AttributeName": "tenant", "KeyType": "HASH"},
            {"AttributeName": "sort_key", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "tenant", "AttributeType": "S"},
            {"AttributeName": "sort_key", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    },
    "AUDIT_VERIFICATIONS_TABLE": {
        "KeySchema": [
            {"AttributeName": "tenant", "KeyType": "HASH"},
            {"AttributeName": "job_id", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "tenant", "AttributeType": "S"},
            {"AttributeName": "job_id", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    },
}
TIME_TO_LIVE = {"LOG_TABLE": "expires_at", "AUDIT_VERIFICATIONS_TABLE": "expires_at"}
CHECKPOINT_KEY_SPEC = {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}


@dataclass
class AwsResources:
    env: dict[str, str]
    dynamodb: Any
    s3: Any
    kms: Any
    key_arn: str
    sqs: Any

    def dead_letters(self) -> list[dict[str, Any]]:
        """Messages in the consumer's DLQ: body plus the failure reason attributes."""
        response = self.sqs.receive_message(
            QueueUrl=self.env["DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return [
            {
                "body": message["Body"],
                **{
                    name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()
                },
            }
            for message in response.get("Messages", [])
        ]

    def table(self, env_name: str) -> str:
        return self.env[env_name]

    def chain_items(self, tenant: str) -> list[dict[str, Any]]:
        response = self.dynamodb.query(
            TableName=self.table("AUDIT_CHAIN_TABLE"),
            KeyConditionExpression="tenant = :t",
            ExpressionAttributeValues={":t": {"S": tenant}},
            ConsistentRead=True,
        )
        return list(response["Items"])

    def guard_count(self) -> int:
        return int(self.dynamodb.scan(TableName=self.table("AUDIT_EVENT_IDS_TABLE"), Select="COUNT")["Count"])

    def log_items(self, tenant: str) -> list[dict[str, Any]]:
        response = self.dynamodb.query(
            TableName=self.table("LOG_TABLE"),
            KeyConditionExpression="tenant = :t",
            ExpressionAttributeValues={":t": {"S": tenant}},
        )
        return list(response["Items"])

    def checkpoint_keys(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.table("CHECKPOINT_BUCKET"))
        return sorted(entry["Key"] for entry in listed.get("Contents", []))


@pytest.fixture
def aws(echo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsResources]:
    """Fresh tables (with TTL), checkpoint bucket and ECC signing key; env points the code at them."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for env_name, definition in TABLE_DEFINITIONS.items():
            dynamodb.create_table(TableName=echo_env[env_name], **definition)
        for env_name, attribute in TIME_TO_LIVE.items():
            dynamodb.update_time_to_live(
                TableName=echo_env[env_name],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
            )
        s3 = boto3.client("s3")
        # Like the stack's bucket: versioned under Object Lock (the notary sets each retention).
        s3.create_bucket(
            Bucket=echo_env["CHECKPOINT_BUCKET"],
            CreateBucketConfiguration={"LocationConstraint": echo_env["AWS_DEFAULT_REGION"]},
            ObjectLockEnabledForBucket=True,
        )
        kms = boto3.client("kms")
        key_arn = kms.create_key(Description="echo test checkpoints", **CHECKPOINT_KEY_SPEC)["KeyMetadata"][
            "Arn"
        ]
        monkeypatch.setenv("CHECKPOINT_KEY_ID", key_arn)
        sqs = boto3.client("sqs")
        dlq_url = sqs.create_queue(QueueName="echo-test-dlq")["QueueUrl"]
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
        jobs_url = sqs.create_queue(QueueName="echo-test-audit-verification")["QueueUrl"]
        monkeypatch.setenv("AUDIT_VERIFICATION_QUEUE_URL", jobs_url)
        env = echo_env | {
            "CHECKPOINT_KEY_ID": key_arn,
            "DEAD_LETTER_QUEUE_URL": dlq_url,
            "AUDIT_VERIFICATION_QUEUE_URL": jobs_url,
        }
        reset_cached_resources()
        yield AwsResources(env=env, dynamodb=dynamodb, s3=s3, kms=kms, key_arn=key_arn, sqs=sqs)
        reset_cached_resources()


@pytest.fixture
def sqs_event(sample_event: Callable[[str], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Build an SQS batch around the given bodies, shaped like the ingest sample's records."""
    template = sample_event("audit_ingest.sqs.json")["Records"][0]

    def build(*bodies: str, receive_count: int = 1, sent_at: datetime | None = None) -> dict[str, Any]:
        sent = int((sent_at or datetime(2026, 1, 5, 10, tzinfo=UTC)).timestamp() * 1000)
        records = []
        for body in bodies:
            record = dict(template)
            record["messageId"] = str(uuid.uuid4())
            record["body"] = body
            record["messageAttributes"] = {}
            record["attributes"] = template["attributes"] | {
                "ApproximateReceiveCount": str(receive_count),
                "SentTimestamp": str(sent),
                "ApproximateFirstReceiveTimestamp": str(sent + 5),
            }
            records.append(record)
        return {"Records": records}

    return build


@pytest.fixture
def audit_sqs_event(sqs_event: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Like sqs_event, as the audit queue receives them (ADR 0016: no raw delivery): each envelope
    body in an SNS notification from the topic of the producer owning its type; other bodies as given."""

    def build(*bodies: str, **options: Any) -> dict[str, Any]:
        return sqs_event(*(_as_delivered(body) for body in bodies), **options)

    return build


def _as_delivered(body: str) -> str:
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return body
    if isinstance(document, dict) and "Type" not in document and "type" in document:
        return sns_notification(body)
    return body


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, ClientError, int], None]:
    """Make the next `times` calls of an AWS operation fail, as the service does after the SDK's retries."""
    original = BaseClient._make_api_call
    planned: dict[str, tuple[ClientError, int]] = {}

    def call(self: BaseClient, operation_name: str, params: dict[str, Any]) -> Any:
        error, remaining = planned.get(operation_name, (None, 0))
        if error is not None and remaining > 0:
            planned[operation_name] = (error, remaining - 1)
            raise error
        return original(self, operation_name, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)

    def inject(operation_name: str, error: ClientError, times: int) -> None:
        planned[operation_name] = (error, times)

    return inject
