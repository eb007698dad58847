"""Versions, activation, rollback and history; activation is conditional and audited."""

import pytest
from echo_shared.authz import Effect
from echo_shared.authz.errors import (
    ConcurrentPolicyChange,
    InvalidActivation,
    PolicyVersionNotFound,
    SchemaViolation,
)
from echo_shared.authz.store import ActivationKind, NewPolicyVersion
from echo_shared.timeutil import utc_now

from tests.unit.authz.factories import ADMIN_ACTOR, TENANT, AuthzWorld, ask, tenant_resource, user

AUDITORS_READ_LOGS = """
@id("acme.auditors-read-logs")
permit (principal in Role::"auditor", action == Action::"log:read", resource is Tenant);
"""
MEMBERS_READ_AUDIT = """
@id("acme.members-read-audit")
permit (principal in Role::"member", action == Action::"audit:read", resource is Tenant);
"""


def _propose(world: AuthzWorld, policies: str) -> int:
    return world.admin.propose(
        TENANT, policies=policies, golden=[], description="", actor=ADMIN_ACTOR, request_id="r"
    ).version.number


def _can_read_logs(world: AuthzWorld) -> tuple[bool, str]:
    decision = world.client.check(ask(user("eve", "auditor"), "log:read", tenant_resource()), request_id="r")
    return decision.allowed, decision.policy_version


def test_a_proposed_version_does_not_change_decisions_until_activated(world: AuthzWorld) -> None:
    number = _propose(world, AUDITORS_READ_LOGS)
    assert _can_read_logs(world) == (False, "v0")
    world.admin.activate(TENANT, number, actor=ADMIN_ACTOR, request_id="r")
    world.monotonic.advance(10)
    assert _can_read_logs(world) == (True, "v1")


def test_rollback_restores_the_previous_decisions(world: AuthzWorld) -> None:
    # Given v1 then v2 activated
    first = _propose(world, AUDITORS_READ_LOGS)
    world.admin.activate(TENANT, first, actor=ADMIN_ACTOR, request_id="r")
    second = _propose(world, MEMBERS_READ_AUDIT)
    world.admin.activate(TENANT, second, actor=ADMIN_ACTOR, request_id="r")
    world.monotonic.advance(10)
    assert _can_read_logs(world) == (False, "v2")
    # When an admin rolls back to v1
    activation = world.admin.rollback(TENANT, first, actor=ADMIN_ACTOR, request_id="r")
    world.monotonic.advance(10)
    # Then v1's decisions are back, and the history shows every step, newest first
    assert _can_read_logs(world) == (True, "v1")
    assert activation.previous_version == second
    history = world.admin.history(TENANT)
    assert [(a.kind, a.version, a.previous_version) for a in history] == [
        (ActivationKind.ROLLBACK, 1, 2),
        (ActivationKind.ACTIVATE, 2, 1),
        (ActivationKind.ACTIVATE, 1, 0),
    ]
    assert [e.type for e in world.publisher.published if e.type != "authz.decision"] == [
        "authz.policy_proposed",
        "authz.policy_activated",
        "authz.policy_proposed",
        "authz.policy_activated",
        "authz.policy_rolled_back",
    ]


def test_rollback_to_the_baseline_alone_is_always_possible(world: AuthzWorld) -> None:
    world.admin.activate(TENANT, _propose(world, AUDITORS_READ_LOGS), actor=ADMIN_ACTOR, request_id="r")
    world.admin.rollback(TENANT, 0, actor=ADMIN_ACTOR, request_id="r")
    world.monotonic.advance(10)
    assert _can_read_logs(world) == (False, "v0")


def test_a_version_never_active_is_not_a_rollback_target(world: AuthzWorld) -> None:
    number = _propose(world, AUDITORS_READ_LOGS)
    with pytest.raises(InvalidActivation, match="never active"):
        world.admin.rollback(TENANT, number, actor=ADMIN_ACTOR, request_id="r")


def test_activating_the_active_version_is_refused(world: AuthzWorld) -> None:
    number = _propose(world, AUDITORS_READ_LOGS)
    world.admin.activate(TENANT, number, actor=ADMIN_ACTOR, request_id="r")
    with pytest.raises(InvalidActivation, match="already the active version"):
        world.admin.activate(TENANT, number, actor=ADMIN_ACTOR, request_id="r")


def test_an_unknown_version_cannot_be_activated(world: AuthzWorld) -> None:
    with pytest.raises(PolicyVersionNotFound):
        world.admin.activate(TENANT, 7, actor=ADMIN_ACTOR, request_id="r")
    assert world.store.active(TENANT) is None


def test_activation_is_conditional_on_the_pointer_not_having_moved(world: AuthzWorld) -> None:
    # Given two admins who both read revision 0
    first, second = _propose(world, AUDITORS_READ_LOGS), _propose(world, MEMBERS_READ_AUDIT)
    world.store.activate(
        TENANT, first, expected_revision=0, kind=ActivationKind.ACTIVATE, at=utc_now(), by="a"
    )
    # When the second writes with the revision it read
    with pytest.raises(ConcurrentPolicyChange):
        world.store.activate(
            TENANT, second, expected_revision=0, kind=ActivationKind.ACTIVATE, at=utc_now(), by="b"
        )
    # Then the first activation stands
    pointer = world.store.active(TENANT)
    assert pointer is not None
    assert (pointer.version, pointer.revision) == (first, 1)


def test_activation_validates_again(world: AuthzWorld) -> None:
    # Given a stored version that references an action the schema no longer has
    stale = world.store.create(
        NewPolicyVersion(
            TENANT,
            '@id("old") permit (principal, action == Action::"document:print", resource);',
            "sha256:x",
            (),
            "",
            utc_now(),
            "someone",
        )
    )
    # When an admin activates it, then it is refused and nothing moves
    with pytest.raises(SchemaViolation, match="do not match the schema"):
        world.admin.activate(TENANT, stale.number, actor=ADMIN_ACTOR, request_id="r")
    assert world.store.active(TENANT) is None
    assert world.publisher.published[-1].data["stage"] == "activation"


def test_the_active_version_id_is_in_every_decision_and_record(world: AuthzWorld) -> None:
    world.admin.activate(TENANT, _propose(world, AUDITORS_READ_LOGS), actor=ADMIN_ACTOR, request_id="r")
    decisions = world.client.check_batch(
        [ask(user("eve", "auditor"), action, tenant_resource()) for action in ("log:read", "audit:read")],
        request_id="r",
    )
    records = [e for e in world.publisher.published if e.type == "authz.decision"]
    assert {d.policy_version for d in decisions} == {"v1"}
    assert {r.data["policy_version"] for r in records} == {"v1"}
    assert {r.data["baseline_version"] for r in records} == {world.catalog.baseline_version}
    assert [d.effect for d in decisions] == [Effect.ALLOW, Effect.ALLOW]


def test_overview_lists_versions_newest_first_with_the_active_one(world: AuthzWorld) -> None:
    first = _propose(world, AUDITORS_READ_LOGS)
    _propose(world, MEMBERS_READ_AUDIT)
    world.admin.activate(TENANT, first, actor=ADMIN_ACTOR, request_id="r")
    overview = world.admin.overview(TENANT)
    assert [v.number for v in overview.versions] == [2, 1]
    assert overview.active is not None
    assert (overview.active_version, overview.active.number, overview.revision) == (1, 1, 1)
