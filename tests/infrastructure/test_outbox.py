"""The transactional outbox in the synthesized stack (ADR 0014): one table per outboxed producer
(ADR 0016) and its stream, the relay's event source mappings and DLQ, the relay's role, and writers
that reach only their own producer's outbox and no longer publish themselves."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infrastructure.test_identity import _actions, _function, _statements

# Producer -> its outbox table, and the functions writing it.
OUTBOX_TABLES = {
    "identity": "echo-prod-outbox",
    "authz": "echo-prod-outbox-authz",
    "documents": "echo-prod-outbox-documents",
}
OUTBOX_WRITERS = {
    "login": "identity",
    "token_service": "identity",
    "users": "identity",
    "authz": "authz",
    "documents": "documents",
    "parse": "documents",
    "embed": "documents",
}
# Login, the token service, parse and embed publish nothing themselves; the users API, the authz
# API and the documents API still publish their own authz decisions (request-scoped audit, ADR
# 0014), each on its own producer's topic (identity's, authz's, documents': a decision belongs to
# its decider, ADR 0016).
DIRECT_PUBLISHERS_NO_MORE = ("login", "token_service", "parse", "embed")


def _outbox_tables(template: Template) -> dict[str, tuple[str, dict[str, Any]]]:
    """Producer -> (logical id, table) of its outbox."""
    tables = template.find_resources("AWS::DynamoDB::Table")
    by_name = {t["Properties"]["TableName"]: (k, t) for k, t in tables.items()}
    return {producer: by_name[name] for producer, name in OUTBOX_TABLES.items()}


def _outbox_table(template: Template) -> tuple[str, dict[str, Any]]:
    """Identity's outbox (the historical `outbox` table)."""
    return _outbox_tables(template)["identity"]


@pytest.mark.parametrize("producer", sorted(OUTBOX_TABLES))
def test_each_outbox_table_streams_new_images_keyed_by_tenant_with_ttl_pitr_and_encryption(
    prod: Template, producer: str
) -> None:
    _, table = _outbox_tables(prod)[producer]
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


def test_identitys_outbox_keeps_its_logical_id_so_it_is_not_replaced(prod: Template) -> None:
    table_id, _ = _outbox_table(prod)
    assert table_id.startswith("OutboxTable")
    assert _outbox_tables(prod)["authz"][0].startswith("OutboxAuthzTable")
    assert _outbox_tables(prod)["documents"][0].startswith("OutboxDocumentsTable")


@pytest.mark.parametrize("producer", sorted(OUTBOX_TABLES))
def test_the_relay_reads_each_stream_in_order_retries_and_sends_failures_to_its_dlq(
    prod: Template, producer: str
) -> None:
    table_id, _ = _outbox_tables(prod)[producer]
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


def test_the_relay_knows_each_outboxs_producer(prod: Template) -> None:
    _, relay = _function(prod, "outbox_relay")
    variables = relay["Properties"]["Environment"]["Variables"]
    rendered = json.dumps(variables["OUTBOX_TABLES"])
    for producer, (table_id, _) in _outbox_tables(prod).items():
        assert f'\\"{producer}\\":' in rendered
        assert table_id in rendered
    assert "OUTBOX_TABLE" not in variables


def test_the_relay_and_producers_get_least_privilege(prod: Template) -> None:
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
    tables = {producer: table_id for producer, (table_id, _) in _outbox_tables(prod).items()}
    for package, producer in OUTBOX_WRITERS.items():
        statements = _statements(prod, package)
        # Each writer reaches its own producer's outbox only (a writer of one cannot speak for the other)
        for other, table_id in tables.items():
            on_table = [s for s in statements if table_id in json.dumps(s["Resource"])]
            if other != producer:
                assert on_table == [], (package, other)
                continue
            (outbox_write,) = on_table
            # Producers add events and never read, change or delete them
            assert _actions(outbox_write) == {"dynamodb:PutItem"}, package
        _, function = _function(prod, package)
        outbox_table = function["Properties"]["Environment"]["Variables"]["OUTBOX_TABLE"]
        assert outbox_table == {"Ref": tables[producer]}, package
    for package in DIRECT_PUBLISHERS_NO_MORE:
        granted = set().union(*(_actions(s) for s in _statements(prod, package)))
        assert "sns:Publish" not in granted, package
        _, function = _function(prod, package)
        assert "EVENT_TOPIC_ARN" not in function["Properties"]["Environment"]["Variables"], package


def test_the_relay_dlq_is_alarmed_on_like_every_dlq(prod: Template) -> None:
    alarms = prod.find_resources("AWS::CloudWatch::Alarm")
    assert any("OutboxRelayDlq" in json.dumps(alarm["Properties"]) for alarm in alarms.values())


def test_stack_json_keeps_the_outbox_key_and_adds_one_per_producer(prod: Template) -> None:
    outputs = prod.find_outputs("*")
    tables = {producer: table_id for producer, (table_id, _) in _outbox_tables(prod).items()}
    assert outputs["TableOutbox"]["Value"] == {"Ref": tables["identity"]}
    assert outputs["TableOutboxIdentity"]["Value"] == {"Ref": tables["identity"]}
    assert outputs["TableOutboxAuthz"]["Value"] == {"Ref": tables["authz"]}
    assert outputs["TableOutboxDocuments"]["Value"] == {"Ref": tables["documents"]}
