"""The producer table (ADR 0016): namespaces, who may say a decision, TopicArn -> producer, the
ingest's attribution."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from echo_shared.events import EventEnvelope
from echo_shared.events.parsing import Delivery
from echo_shared.events.producers import (
    DECIDERS,
    DECISION_TYPES,
    NAMESPACES,
    ForeignEvent,
    TopicProducers,
    UnknownProducer,
    attribute,
    may_publish,
    may_say,
    parse_producer_topics,
    producer_of,
)

from tests.fakes.events import TEST_TOPICS

REPO = Path(__file__).resolve().parents[2]


def test_no_prefix_belongs_to_two_producers() -> None:
    prefixes = [prefix for owned in NAMESPACES.values() for prefix in owned]
    assert len(prefixes) == len(set(prefixes))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*\.", prefix) for prefix in prefixes)
    assert not any(a != b and a.startswith(b) for a in prefixes for b in prefixes)


@pytest.mark.parametrize(
    ("event_type", "producer"),
    [
        ("user.logged_in", "identity"),
        ("token.reuse_detected", "identity"),
        ("consent.granted", "identity"),
        ("key.rotated", "identity"),
        ("notification.email_verification", "identity"),
        ("authz.decision", "authz"),
        ("authz.policy_activated", "authz"),
        ("document.uploaded", "documents"),
        ("query.answered", "documents"),
        ("audit.verification_finished", "audit"),
        ("tenant.created", "platform"),
        ("log.warning", "platform"),
    ],
)
def test_each_type_in_use_has_exactly_its_producer(event_type: str, producer: str) -> None:
    assert producer_of(event_type) == producer


def test_every_type_the_code_emits_has_a_producer() -> None:
    # The literal `noun.verb` types written in the production code (functions and layers)
    sources = [*REPO.glob("functions/**/*.py"), *REPO.glob("layers/*/echo_*/**/*.py")]
    emitted = {
        match
        for path in sources
        for match in re.findall(
            r"\"((?:user|token|consent|key|notification|authz|document|query|audit)\.[a-z_]+)\"",
            path.read_text(),
        )
    }
    assert len(emitted) > 20
    for event_type in emitted:
        producer_of(event_type)


@pytest.mark.parametrize("decider", ["authz", "identity", "audit", "documents"])
def test_a_decider_may_say_a_decision_and_nothing_else_of_authz(decider: str) -> None:
    assert decider in DECIDERS
    assert may_say(decider, "authz.decision")
    assert may_say(decider, "authz.policy_activated") == (decider == "authz")
    assert may_say(decider, "authz.policy_rolled_back") == (decider == "authz")


def test_the_platform_decides_nothing_and_a_decision_stays_authzs_type() -> None:
    assert {"authz", "identity", "audit", "documents"} == DECIDERS
    assert not may_say("platform", "authz.decision")
    assert may_say("platform", "tenant.created")
    assert not may_say("billing", "authz.decision")
    # The owner of the namespace is still one producer: saying a decision is not owning the type
    assert {producer_of(event_type) for event_type in DECISION_TYPES} == {"authz"}
    # And a decider's own namespace is untouched
    assert may_say("documents", "query.answered")
    assert not may_say("documents", "user.created")


def test_a_type_of_no_producer_is_refused() -> None:
    with pytest.raises(UnknownProducer):
        producer_of("invoice.paid")


def test_producer_topics_are_parsed_strictly() -> None:
    assert parse_producer_topics(json.dumps(TEST_TOPICS)) == TEST_TOPICS
    with pytest.raises(ValueError, match="unknown producers"):
        parse_producer_topics(json.dumps({"billing": "arn:b"}))
    with pytest.raises(ValueError, match="share a topic"):
        parse_producer_topics(json.dumps({"identity": "arn:t", "authz": "arn:t"}))
    with pytest.raises(ValueError, match="not JSON"):
        parse_producer_topics("identity=arn")


def test_the_producer_is_the_topics_and_nothing_else() -> None:
    producers = TopicProducers(TEST_TOPICS)
    assert producers.producer(TEST_TOPICS["documents"]) == "documents"
    assert producers.producer(TEST_TOPICS["platform"]) == "platform"
    assert producers.producer("arn:aws:sns:eu-west-1:123456789012:echo-test-events-billing") is None
    assert producers.producer(None) is None


def test_attribution_stamps_the_producer_only_inside_its_namespace(
    make_event: Callable[..., EventEnvelope],
) -> None:
    producers = TopicProducers(TEST_TOPICS)
    decision = make_event(type="authz.decision")
    stamped = attribute(Delivery(decision, TEST_TOPICS["authz"]), producers)
    assert stamped.producer == "authz"
    assert stamped.model_copy(update={"producer": None}) == decision
    assert may_publish("authz", decision)
    # A decision belongs to its decider: documents may say one on its own topic, not a policy change
    assert attribute(Delivery(decision, TEST_TOPICS["documents"]), producers).producer == "documents"
    activation = make_event(type="authz.policy_activated")
    assert not may_publish("documents", activation)
    with pytest.raises(ForeignEvent, match="outside the documents producer's namespace"):
        attribute(Delivery(activation, TEST_TOPICS["documents"]), producers)
    with pytest.raises(ForeignEvent, match="outside the platform producer's namespace"):
        attribute(Delivery(decision, TEST_TOPICS["platform"]), producers)
    with pytest.raises(ForeignEvent, match="cannot be told"):
        attribute(Delivery(decision, None), producers)


def test_an_envelope_without_producer_keeps_its_wire_format_and_hash_material(
    make_event: Callable[..., EventEnvelope],
) -> None:
    event = make_event()
    assert "producer" not in json.loads(event.to_json())
    assert "producer" not in event.ledger_fields()
    stamped = event.from_producer("identity")
    assert json.loads(stamped.to_json())["producer"] == "identity"
    assert stamped.ledger_fields()["producer"] == "identity"
