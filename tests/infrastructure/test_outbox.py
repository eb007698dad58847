"""The transactional outbox in the synthesized stack (ADR 0014): the table and its stream, the relay's
event source mapping and DLQ, the relay's role, and producers that no longer publish themselves."""

import json
from typing import Any

from aws_cdk.assertions import Template

from tests.infrastructure.test_identity import _actions, _function, _statements

OUTBOX_PRODUCERS = ("login", "token_service", "users", "authz")
# Login and the token service publish nothing themselves; the users API and the authz API still
# publish their own authz decisions (request-scoped audit, ADR 0014), each on its own producer's
# topic (identity's, authz's: a decision belongs to its decider, ADR 0016).
DIRECT_PUBLISHERS_NO_MORE = ("login", "token_service")


def _outbox_table(template: Template) -> tuple[str, dict[str, Any]]:
    tables = template.find_resources("AWS::DynamoDB::Table")
    (found,) = [(k, t) for k, t in tables.items() if t["Properties"]["TableName"] == "echo-prod-outbox"]
    return found


def test_the_outbox_table_streams_new_images_keyed_by_tenant_with_ttl_pitr_and_encryption(
    prod: Template,
) -> None:
    _, table = _outbox_table(prod)
    properties = table["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "tenant", "KeyType": "HASH"},
        {"AttributeName": "position", "KeyType": "RANGE"},
    ]
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


def test_the_relay_reads_the_stream_in_order_retries_and_sends_failures_to_its_dlq(prod: Template) -> None:
    table_id, _ = _outbox_table(prod)
    (mapping,) = [
        m["Properties"]
        for m in prod.find_resources("AWS::Lambda::EventSourceMapping").values()
        if table_id in json.dumps(m["Properties"]["EventSourceArn"])
    ]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 100
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 10000
    assert mapping["MaximumRecordAgeInSeconds"] == 86400
    assert mapping["ParallelizationFactor"] == 1  # one batch per shard at a time: order per tenant
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination["Fn::GetAtt"][0].startswith("OutboxRelayDlq")
    relay_id, _ = _function(prod, "outbox_relay")
    assert mapping["FunctionName"] == {"Ref": relay_id}


def test_only_the_relay_publishes_for_the_outboxed_producers(prod: Template) -> None:
    relay = set().union(*(_actions(s) for s in _statements(prod, "outbox_relay")))
    assert relay == {
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",  # the on-failure destination's grant (SqsDlq)
        "sqs:GetQueueUrl",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    table_id, _ = _outbox_table(prod)
    for package in OUTBOX_PRODUCERS:
        statements = _statements(prod, package)
        (outbox_write,) = [s for s in statements if table_id in json.dumps(s["Resource"])]
        # Producers add events and never read, change or delete them
        assert _actions(outbox_write) == {"dynamodb:PutItem"}, package
        _, function = _function(prod, package)
        assert "OUTBOX_TABLE" in function["Properties"]["Environment"]["Variables"], package
    for package in DIRECT_PUBLISHERS_NO_MORE:
        granted = set().union(*(_actions(s) for s in _statements(prod, package)))
        assert "sns:Publish" not in granted, package
        _, function = _function(prod, package)
        assert "EVENT_TOPIC_ARN" not in function["Properties"]["Environment"]["Variables"], package


def test_the_relay_dlq_is_alarmed_on_like_every_dlq(prod: Template) -> None:
    alarms = prod.find_resources("AWS::CloudWatch::Alarm")
    assert any("OutboxRelayDlq" in json.dumps(alarm["Properties"]) for alarm in alarms.values())
