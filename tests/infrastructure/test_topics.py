"""One topic per producer (ADR 0016): each topic's policy names its only publishers, each function
may publish only on the topics of the producers it speaks for (a decider's decisions go on its own
producer's topic, never on authz's), and the audit subscription gets the SNS envelope (its TopicArn
names the producer). LocalStack does not enforce IAM: these assertions
are what proves the policies; tests/e2e/test_producers.py proves the ingest's TopicArn check."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from echo_shared.events.producers import NAMESPACES

# Producer -> the functions whose roles may publish on its topic (none: the platform's).
# The in-process deciders (echo_shared.authz.runtime) publish their decisions on their own topic:
# users on identity's, the audit API on audit's, documents and query on documents'. The record
# changes' document.* events (documents API, parse, embed) go through the outbox and its relay.
PUBLISHERS = {
    "identity": {"outbox-relay", "users"},
    "authz": {"authz", "outbox-relay"},
    "documents": {"documents", "query", "outbox-relay"},
    "audit": {"audit-verification", "audit-api"},
    "platform": set(),
}


def _topics(template: Template) -> dict[str, str]:
    """Producer -> topic logical id."""
    found = {}
    for logical_id, topic in template.find_resources("AWS::SNS::Topic").items():
        name = topic["Properties"]["TopicName"]
        if name == "echo-prod-events":
            found["platform"] = logical_id
        elif name.startswith("echo-prod-events-"):
            found[name.removeprefix("echo-prod-events-")] = logical_id
    return found


def _roles(template: Template) -> dict[str, str]:
    """Role logical id -> the function (name without the stage prefix)."""
    return {
        f["Properties"]["Role"]["Fn::GetAtt"][0]: f["Properties"]["FunctionName"].removeprefix("echo-prod-")
        for f in template.find_resources("AWS::Lambda::Function").values()
        if isinstance(f["Properties"].get("FunctionName"), str)
    }


def _publish_denials(template: Template, topic_id: str) -> list[dict[str, Any]]:
    statements = [
        statement
        for policy in template.find_resources("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in policy["Properties"]["Topics"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    # (the other deny is enforce_ssl's, on aws:SecureTransport)
    return [
        s
        for s in statements
        if s["Effect"] == "Deny"
        and s["Action"] == "sns:Publish"
        and "aws:PrincipalArn" in json.dumps(s["Condition"])
    ]


def _named(condition: dict[str, Any], roles: dict[str, str]) -> set[str]:
    arns = condition["aws:PrincipalArn"]
    return {roles[arn["Fn::GetAtt"][0]] for arn in (arns if isinstance(arns, list) else [arns])}


def test_one_encrypted_topic_per_producer(prod: Template) -> None:
    topics = _topics(prod)
    assert set(topics) == set(NAMESPACES) == set(PUBLISHERS)
    for logical_id in topics.values():
        assert "KmsMasterKeyId" in prod.find_resources("AWS::SNS::Topic")[logical_id]["Properties"]


@pytest.mark.parametrize("producer", sorted(PUBLISHERS))
def test_each_topic_denies_publishing_to_all_but_its_publishers(prod: Template, producer: str) -> None:
    roles = _roles(prod)
    (deny,) = _publish_denials(prod, _topics(prod)[producer])
    assert deny["Principal"] == {"AWS": "*"}
    if PUBLISHERS[producer]:
        # Every principal whose ARN is not one of its publishers' roles (account admins included)
        assert set(deny["Condition"]) == {"ArnNotEquals"}
        assert _named(deny["Condition"]["ArnNotEquals"], roles) == PUBLISHERS[producer]
    else:
        # The platform topic (seeds, logs): no Echo function may publish on it
        assert set(deny["Condition"]) == {"ArnEquals"}
        assert _named(deny["Condition"]["ArnEquals"], roles) == set(roles.values())


def test_each_function_may_publish_only_on_its_producers_topics(prod: Template) -> None:
    roles, topics = _roles(prod), _topics(prod)
    producer_of_topic = {logical_id: producer for producer, logical_id in topics.items()}
    granted: dict[str, set[str]] = {}
    for policy in prod.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if not any(a.startswith("sns:") or a == "*" for a in actions):
                continue
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for role in policy["Properties"]["Roles"]:
                for resource in resources:
                    # Only Refs to our producer topics: no wildcard, no other topic
                    assert resource["Ref"] in producer_of_topic, (roles[role["Ref"]], resource)
                    granted.setdefault(roles[role["Ref"]], set()).add(producer_of_topic[resource["Ref"]])
    expected: dict[str, set[str]] = {}
    for producer, functions in PUBLISHERS.items():
        for function in functions:
            expected.setdefault(function, set()).add(producer)
    assert granted == expected


def _allowed(template: Template, producer: str) -> set[str]:
    """The functions the producer's topic policy does not deny sns:Publish."""
    (deny,) = _publish_denials(template, _topics(template)[producer])
    condition = deny["Condition"]
    return _named(condition["ArnNotEquals"], _roles(template)) if "ArnNotEquals" in condition else set()


def test_the_audit_api_publishes_its_decisions_on_the_audit_topic_only(prod: Template) -> None:
    # A decision belongs to its decider: the read-only audit API cannot speak for authz
    # (no forged authz.policy_activated), identity, documents nor the platform.
    for producer in _topics(prod):
        assert ("audit-api" in _allowed(prod, producer)) == (producer == "audit"), producer


def test_no_decider_but_the_authz_service_may_publish_on_the_authz_topic(prod: Template) -> None:
    assert _allowed(prod, "authz") == {"authz", "outbox-relay"}
    for decider, producer in (("users", "identity"), ("documents", "documents"), ("query", "documents")):
        assert decider not in _allowed(prod, "authz"), decider
        assert decider in _allowed(prod, producer), decider


def test_each_decider_says_its_decisions_on_its_own_topic(prod: Template) -> None:
    topics = _topics(prod)
    functions = {
        f["Properties"]["FunctionName"].removeprefix("echo-prod-"): f["Properties"]["Environment"][
            "Variables"
        ]
        for f in prod.find_resources("AWS::Lambda::Function").values()
        if isinstance(f["Properties"].get("FunctionName"), str)
    }
    for function, producer in (
        ("authz", "authz"),
        ("users", "identity"),
        ("audit-api", "audit"),
        ("documents", "documents"),
        ("query", "documents"),
    ):
        assert functions[function]["EVENT_TOPIC_ARN"] == {"Ref": topics[producer]}, function
        assert "AUTHZ_EVENT_TOPIC_ARN" not in functions[function], function


def test_the_audit_queue_gets_every_topics_sns_envelope_and_others_raw_from_their_producer(
    prod: Template,
) -> None:
    topics = _topics(prod)
    queues = {
        logical_id: q["Properties"]["QueueName"].removeprefix("echo-prod-")
        for logical_id, q in prod.find_resources("AWS::SQS::Queue").items()
    }
    subscribed: dict[str, set[str]] = {}
    for subscription in prod.find_resources("AWS::SNS::Subscription").values():
        properties = subscription["Properties"]
        queue = queues[properties["Endpoint"]["Fn::GetAtt"][0]]
        producer = next(p for p, t in topics.items() if properties["TopicArn"] == {"Ref": t})
        subscribed.setdefault(queue, set()).add(producer)
        # Raw delivery off for the audit queue only: SNS writes the TopicArn, the publisher cannot
        assert properties.get("RawMessageDelivery", False) is (queue != "audit"), queue
        assert "RedrivePolicy" in properties
    assert subscribed == {
        "audit": set(NAMESPACES),
        "logs": {"platform"},
        "embed": {"documents"},
        "notifications": {"identity"},
    }


def test_the_ingest_and_the_relay_know_the_producers_topics(prod: Template) -> None:
    topics = _topics(prod)
    functions = {
        f["Properties"]["FunctionName"]: f["Properties"]["Environment"]["Variables"]
        for f in prod.find_resources("AWS::Lambda::Function").values()
        if isinstance(f["Properties"].get("FunctionName"), str)
    }
    for name, producers in (
        ("echo-prod-audit-ingest", set(NAMESPACES)),
        ("echo-prod-outbox-relay", {"identity", "authz", "documents"}),
    ):
        rendered = json.dumps(functions[name]["PRODUCER_TOPICS"])
        for producer in NAMESPACES:
            assert (f'\\"{producer}\\":' in rendered) == (producer in producers), (name, producer)
            if producer in producers:
                assert topics[producer] in rendered
        assert "EVENT_TOPIC_ARN" not in functions[name]


def test_only_our_topics_can_write_the_audit_queue(prod: Template) -> None:
    # The TopicArn of an SNS envelope is trustworthy only if nothing but SNS writes the queue
    (audit_id,) = [
        k
        for k, q in prod.find_resources("AWS::SQS::Queue").items()
        if q["Properties"]["QueueName"] == "echo-prod-audit"
    ]
    for policy in prod.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert audit_id not in json.dumps(statement["Resource"]) or "sqs:SendMessage" not in json.dumps(
                statement["Action"]
            )
    topics = {f"{{'Ref': '{t}'}}" for t in _topics(prod).values()}
    senders = set()
    for policy in prod.find_resources("AWS::SQS::QueuePolicy").values():
        if {"Ref": audit_id} not in policy["Properties"]["Queues"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow" and "sqs:SendMessage" in statement["Action"]:
                assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
                senders.add(str(statement["Condition"]["ArnEquals"]["aws:SourceArn"]))
    assert senders == topics
