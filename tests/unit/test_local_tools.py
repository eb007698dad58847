"""`make invoke`: a sample written for any stage reaches the deployed stack's own topics."""

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tools() -> Iterator[ModuleType]:
    sys.path.insert(0, str(REPO / "localstack"))
    try:
        import tools as module  # the developer tools (localstack/tools.py), not a package

        yield module
    finally:
        sys.path.remove(str(REPO / "localstack"))


DEPLOYED = {
    "identity": "arn:aws:sns:us-east-1:000000000000:echo-local-events-identity",
    "authz": "arn:aws:sns:us-east-1:000000000000:echo-local-events-authz",
    "platform": "arn:aws:sns:us-east-1:000000000000:echo-local-events",
}


def test_the_audit_ingest_sample_names_the_deployed_producer_topics(tools: ModuleType) -> None:
    sample = (REPO / "events" / "audit_ingest.sqs.json").read_text()
    records = json.loads(tools.for_deployed_stack(sample, DEPLOYED))["Records"]
    arns = [json.loads(record["body"])["TopicArn"] for record in records]
    assert arns
    assert set(arns) <= set(DEPLOYED.values())
    assert "arn:aws:sns:us-east-1:000000000000:echo-local-events-identity" in arns


def test_only_echo_topic_arns_change_and_an_unknown_producer_stays_as_written(tools: ModuleType) -> None:
    text = (
        '{"a": "arn:aws:sns:eu-west-1:123456789012:echo-test-events", '
        '"b": "arn:aws:sns:eu-west-1:123456789012:echo-test-events-robots", '
        '"c": "arn:aws:sns:eu-west-1:123456789012:other-topic"}'
    )
    assert json.loads(tools.for_deployed_stack(text, DEPLOYED)) == {
        "a": DEPLOYED["platform"],
        "b": "arn:aws:sns:eu-west-1:123456789012:echo-test-events-robots",
        "c": "arn:aws:sns:eu-west-1:123456789012:other-topic",
    }
