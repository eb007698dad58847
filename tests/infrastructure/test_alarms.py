"""The alarms construct: on where the stage asks for alarms, every alarm notifies the alarm topic."""

import json
from typing import Any

from aws_cdk.assertions import Template

from tests.infrastructure.test_stack import FUNCTIONS_LOCAL, resources


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def _dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def test_the_local_stage_has_no_alarms_or_alarm_topic(local: Template) -> None:
    # LocalStack's open-source edition has no CloudWatch alarms; `alarms` is false on local
    assert not resources(local, "AWS::CloudWatch::Alarm")
    topics = [t["Properties"].get("TopicName") for t in resources(local, "AWS::SNS::Topic").values()]
    assert "echo-local-alarms" not in topics


def test_every_prod_alarm_notifies_the_encrypted_alarm_topic(prod: Template) -> None:
    # Given the prod alarm topic
    topic_id, topic = next(
        (logical_id, t)
        for logical_id, t in resources(prod, "AWS::SNS::Topic").items()
        if t["Properties"]["TopicName"] == "echo-prod-alarms"
    )
    assert "KmsMasterKeyId" in topic["Properties"]
    # Then every alarm fires on the first occurrence and notifies it
    alarms = _alarms(prod)
    assert alarms
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
        assert alarm["TreatMissingData"] == "notBreaching"


def test_tamper_and_checkpoint_failures_are_alarmed(prod: Template) -> None:
    alarms = _alarms(prod)
    tamper = alarms["echo-prod-audit-tamper-detected"]
    assert (tamper["Namespace"], tamper["MetricName"]) == ("Echo", "AuditTamperDetected")
    assert _dimensions(tamper) == {"service": "audit_ingest", "stage": "prod"}
    failures = alarms["echo-prod-audit-checkpoint-failures"]
    assert failures["MetricName"] == "AuditCheckpointFailures"
    notary = alarms["echo-prod-audit-notary-errors"]
    assert (notary["Namespace"], notary["MetricName"]) == ("AWS/Lambda", "Errors")
    assert "Notary" in json.dumps(notary["Dimensions"])
    assert alarms["echo-prod-audit-verification-tamper-detected"]["MetricName"] == "AuditChainTamperDetected"


def test_every_dead_letter_queue_has_a_depth_alarm(prod: Template) -> None:
    # Given every queue that is some redrive policy's, rule's or name's dead-letter queue
    queues = resources(prod, "AWS::SQS::Queue")
    dead_letters = {
        logical_id for logical_id, q in queues.items() if q["Properties"]["QueueName"].endswith("-dlq")
    }
    for queue in queues.values():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive:
            dead_letters.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
    assert len(dead_letters) >= 4
    # Then each has an alarm on its visible messages
    alarmed = {
        _dimensions(alarm)["QueueName"]["Fn::GetAtt"][0]
        for alarm in _alarms(prod).values()
        if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert alarmed == dead_letters


def test_every_function_is_alarmed_on_events_it_could_not_publish(prod: Template) -> None:
    services = {
        _dimensions(alarm)["service"]
        for alarm in _alarms(prod).values()
        if alarm["MetricName"] == "EventsNotPublished"
    }
    assert services >= FUNCTIONS_LOCAL
