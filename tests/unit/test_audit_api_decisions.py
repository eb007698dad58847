"""The audit API asks its decision point (Cedar, in-process) once per route."""

import pytest
from audit_api.errors import Forbidden
from audit_api.logic import (
    AUDIT_READ,
    AUDIT_VERIFY,
    LOG_READ,
    ListQuery,
    Order,
    list_audit_events,
    list_logs,
    verify_tenant_chain,
)
from echo_shared.audit import (
    ChainVerifier,
)
from echo_shared.authz.caller import caller_from_authorizer
from echo_shared.filters import RecordFilter

from tests.fakes.audit import InMemoryAuditChainRepository, InMemoryCheckpointSigner, InMemoryCheckpointStore
from tests.fakes.logs import InMemoryLogRepository


class RecordingDecisions:
    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.asked: list[str] = []

    def __call__(self, action: str) -> bool:
        self.asked.append(action)
        return action in self.allowed


CALLER = caller_from_authorizer(
    {"sub": "u1", "tenant": "acme", "roles": "admin", "scope": "audit:read logs:read", "token_type": "user"}
)
QUERY = ListQuery(filters=RecordFilter(), limit=10, cursor=None, order=Order.NEWEST)


def test_the_decision_point_overrules_roles() -> None:
    # Given an admin by role whose policies deny log reading
    decisions = RecordingDecisions(allowed={AUDIT_READ})
    # Then the decision point, not the role, decides, once per route
    with pytest.raises(Forbidden):
        list_logs(InMemoryLogRepository(), CALLER, decisions, QUERY)
    verifier = ChainVerifier(
        InMemoryAuditChainRepository(), InMemoryCheckpointStore(), InMemoryCheckpointSigner()
    )
    with pytest.raises(Forbidden):
        verify_tenant_chain(verifier, CALLER, decisions)
    list_audit_events(InMemoryAuditChainRepository(), CALLER, decisions, QUERY)
    assert decisions.asked == [LOG_READ, AUDIT_VERIFY, AUDIT_READ]


def test_a_denied_audit_read_narrows_to_the_callers_own_events() -> None:
    decisions = RecordingDecisions(allowed=set())
    with pytest.raises(Forbidden):
        list_audit_events(
            InMemoryAuditChainRepository(),
            CALLER,
            decisions,
            ListQuery(
                filters=RecordFilter(actor="user:someone-else"), limit=10, cursor=None, order=Order.NEWEST
            ),
        )
    assert decisions.asked == [AUDIT_READ]
