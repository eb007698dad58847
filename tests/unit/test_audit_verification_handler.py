"""The job function's handler: poison messages go to the DLQ with their reason, store failures come
back to the queue."""

import json
from typing import Any

import pytest
from audit_verification import handler
from audit_verification.logic import JobDependencies
from echo_shared.audit import AuditStoreThrottled, ChainVerifier

from tests.conftest import FakeLambdaContext
from tests.fakes.audit import (
    InMemoryAuditChainRepository,
    InMemoryCheckpointSigner,
    InMemoryCheckpointStore,
    InMemoryVerificationJobStore,
    RecordingJobQueue,
)
from tests.fakes.dead_letters import InMemoryDeadLetterSink
from tests.fakes.events import InMemoryEventPublisher


class ThrottledStore(InMemoryVerificationJobStore):
    def get(self, tenant: str, job_id: str) -> Any:
        raise AuditStoreThrottled("throttled")


def _record(message_id: str, body: str) -> dict[str, Any]:
    return {"messageId": message_id, "body": body, "eventSource": "aws:sqs"}


@pytest.fixture
def deps(monkeypatch: pytest.MonkeyPatch) -> JobDependencies:
    repo = InMemoryAuditChainRepository()
    verifier = ChainVerifier(repo, InMemoryCheckpointStore(), InMemoryCheckpointSigner())
    found = JobDependencies(ThrottledStore(), verifier, RecordingJobQueue(), InMemoryEventPublisher())
    monkeypatch.setattr(handler, "get_dependencies", lambda: found)
    return found


@pytest.fixture
def dlq(monkeypatch: pytest.MonkeyPatch) -> InMemoryDeadLetterSink:
    sink = InMemoryDeadLetterSink()
    monkeypatch.setattr(handler, "get_dead_letters", lambda: sink)
    return sink


def test_a_poison_message_goes_to_the_dlq_and_a_throttled_store_sends_the_message_back(
    deps: JobDependencies, dlq: InMemoryDeadLetterSink, lambda_context: FakeLambdaContext
) -> None:
    # Given a message that is not a job message and one whose job cannot be read right now
    event = {
        "Records": [
            _record("poison", "not json"),
            _record("wrong-tenant", json.dumps({"tenant": "_integrity", "job_id": "j"})),
            _record("throttled", json.dumps({"tenant": "acme", "job_id": "j-1"})),
        ]
    }
    # When the handler runs
    reply = handler.lambda_handler(event, lambda_context)
    # Then only the throttled one comes back (the poison ones can never succeed)
    assert reply == {"batchItemFailures": [{"itemIdentifier": "throttled"}]}
    assert deps.queue.sent == []  # type: ignore[attr-defined]
    # And the poison ones are in the DLQ, each with its body and the reason it was refused
    assert [(m["message_id"], m["body"]) for m in dlq.messages] == [
        ("poison", "not json"),
        ("wrong-tenant", json.dumps({"tenant": "_integrity", "job_id": "j"})),
    ]
    assert all(m["reason"] for m in dlq.messages)


def test_a_poison_message_the_dlq_refuses_comes_back_for_sqs_to_redrive(
    deps: JobDependencies, dlq: InMemoryDeadLetterSink, lambda_context: FakeLambdaContext
) -> None:
    # Given a DLQ that refuses messages
    dlq.failing = True
    # When a poison message arrives
    reply = handler.lambda_handler({"Records": [_record("poison", "not json")]}, lambda_context)
    # Then it is not dropped: it fails, so the queue's redrive policy moves it later
    assert reply == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
