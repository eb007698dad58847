"""The hot path's shortcuts change no answer and no audit record.

- a batch (identical questions evaluated once, entities joined into one set) decides every question
  exactly as a single check of it does;
- a decision record built without re-validation is the record the envelope's validators accept.
"""

import uuid
from datetime import UTC, datetime

from echo_shared.authz.audit import decision_events
from echo_shared.authz.engine import Evaluation
from echo_shared.authz.model import AuthzRequest, Decision, Effect, EntityRef, Principal
from echo_shared.events import EventEnvelope
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.authz.factories import OTHER, TENANT
from tests.unit.authz.test_properties import ENGINE, PROPERTY_SETTINGS, questions, tenant_policies

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
ANY_QUESTION = st.one_of(
    questions(TENANT, TENANT, TENANT), questions(OTHER, TENANT, TENANT), questions(TENANT, OTHER, TENANT)
)


@PROPERTY_SETTINGS
@given(policies=tenant_policies(), batch=st.lists(ANY_QUESTION, min_size=2, max_size=12))
def test_a_batch_decides_each_question_as_its_single_check(policies: str, batch: list[Evaluation]) -> None:
    # Given a batch that repeats some questions
    batch = batch + batch[: len(batch) // 2]
    compiled = ENGINE.compile(TENANT, 1, policies)
    # When it is decided at once and question by question
    together = ENGINE.evaluate(compiled, batch)
    apart = [ENGINE.evaluate(compiled, [evaluation])[0] for evaluation in batch]
    # Then the outcomes are the same, in order
    assert together == apart


PRINTABLE_OR_NOT = st.text(min_size=1, max_size=600)


@PROPERTY_SETTINGS
@given(
    principal_id=st.text(alphabet=st.characters(min_codepoint=0x20), min_size=1, max_size=256),
    request_id=PRINTABLE_OR_NOT,
    reasons=st.lists(st.text(max_size=80), max_size=30),
    errors=st.lists(st.text(max_size=300), max_size=20),
    allowed=st.booleans(),
)
def test_a_decision_record_is_the_record_validation_accepts(
    principal_id: str, request_id: str, reasons: list[str], errors: list[str], allowed: bool
) -> None:
    # Given a decision with any principal id, request id, reasons and errors
    request = AuthzRequest(Principal.user(principal_id, TENANT), "document:read", EntityRef("Document", "d1"))
    decision = Decision(
        str(uuid.uuid4()),
        Effect.ALLOW if allowed else Effect.DENY,
        "v1",
        tuple(reasons),
        tuple(errors),
        request,
    )
    # When its audit record is built
    try:
        [record] = decision_events(
            [decision],
            request_id=request_id,
            asked_by="service:tests",
            baseline_version="b",
            clock=lambda: AT,
        )
    except ValueError:
        # Only a record the envelope itself refuses (unencodable text) may fail, and loudly.
        return
    # Then the envelope's validators accept it unchanged, and it survives the wire
    assert EventEnvelope.model_validate(record.model_dump()) == record
    assert EventEnvelope.model_validate_json(record.to_json()) == record
