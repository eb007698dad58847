"""The audit API asks a decision point (Cedar, in-process) per route when one is wired."""

import pytest
from audit_api.errors import Forbidden
from audit_api.queries import (
    AUDIT_READ,
    AUDIT_VERIFY,
    LOG_READ,
    ListQuery,
    Order,
    Principal,
    list_audit_events,
    list_logs,
    verify_tenant_chain,
)
from echo_shared.audit import (
    ChainVerifier,
)
from echo_shared.filters import RecordFilter
from echo_shared.logs import InMemoryLogRepository

from tests.fakes.audit import InMemoryAuditChainRepository, InMemoryCheckpointSigner, InMemoryCheckpointStore


class RecordingDecisions:
    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.asked: list[str] = []

    def __call__(self, action: str) -> bool:
        self.asked.append(action)
        return action in self.allowed


QUERY = ListQuery(filters=RecordFilter(), limit=10, cursor=None, order=Order.NEWEST)


def test_the_decision_point_overrules_roles() -> None:
    # Given an admin by role whose policies deny log reading
    decisions = RecordingDecisions(allowed={AUDIT_READ})
    principal = Principal(tenant="acme", subject="u1", roles=frozenset({"admin"}), decide=decisions)
    # Then the decision point, not the role, decides, once per route
    with pytest.raises(Forbidden):
        list_logs(InMemoryLogRepository(), principal, QUERY)
    verifier = ChainVerifier(
        InMemoryAuditChainRepository(), InMemoryCheckpointStore(), InMemoryCheckpointSigner()
    )
    with pytest.raises(Forbidden):
        verify_tenant_chain(verifier, principal)
    list_audit_events(InMemoryAuditChainRepository(), principal, QUERY)
    assert decisions.asked == [LOG_READ, AUDIT_VERIFY, AUDIT_READ]


def test_a_denied_audit_read_narrows_to_the_callers_own_events() -> None:
    decisions = RecordingDecisions(allowed=set())
    principal = Principal(tenant="acme", subject="u1", roles=frozenset({"auditor"}), decide=decisions)
    with pytest.raises(Forbidden):
        list_audit_events(
            InMemoryAuditChainRepository(),
            principal,
            ListQuery(filters=RecordFilter(actor="someone-else"), limit=10, cursor=None, order=Order.NEWEST),
        )
    assert decisions.asked == [AUDIT_READ]


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        ({"admin"}, {AUDIT_READ, AUDIT_VERIFY, LOG_READ}),
        ({"auditor"}, {AUDIT_READ, AUDIT_VERIFY}),
        ({"member"}, set()),
    ],
)
def test_without_a_decision_point_roles_follow_the_baseline(roles: set[str], allowed: set[str]) -> None:
    principal = Principal(tenant="acme", subject="u1", roles=frozenset(roles))
    assert {a for a in (AUDIT_READ, AUDIT_VERIFY, LOG_READ) if principal.may(a)} == allowed
