"""Bad policy sets are refused with a reason, before anything is stored or activated."""

import pytest
from echo_shared.authz.errors import (
    BaselineOverride,
    GoldenDecisionFailed,
    MalformedPolicy,
    PolicyRejected,
    PolicySetTooLarge,
    SchemaViolation,
    UnsupportedPolicy,
)
from echo_shared.authz.golden import GoldenDecision
from echo_shared.authz.validation import MAX_POLICY_BYTES, MAX_TENANT_POLICIES

from tests.unit.authz.factories import TENANT, AuthzWorld

GOOD = """
@id("acme.auditors-read-logs")
permit (principal in Role::"auditor", action == Action::"log:read", resource is Tenant);
"""


def _golden(**overrides: object) -> GoldenDecision:
    case: dict[str, object] = {
        "name": "auditors read logs",
        "principal": {"type": "User", "id": "eve", "roles": ["auditor"]},
        "action": "log:read",
        "resource": {"type": "Tenant", "id": "{tenant}"},
        "expect": "allow",
    }
    case.update(overrides)
    return GoldenDecision.model_validate(case)


BAD_POLICY_SETS: list[tuple[str, str, type[PolicyRejected], str]] = [
    ("malformed Cedar", '@id("x") permit (principal, action, resource', MalformedPolicy, "do not parse"),
    ("unknown entity type", '@id("x") permit (principal is Robot, action, resource);', SchemaViolation,
     "Robot"),
    ("unknown action", '@id("x") permit (principal, action == Action::"document:fly", resource);',
     SchemaViolation, "document:fly"),
    ("unknown attribute", '@id("x") permit (principal, action, resource is Document) when { resource.size > 1 };',
     SchemaViolation, "size"),
    ("optional context unchecked", '@id("x") permit (principal, action, resource) when { context.mfa };',
     SchemaViolation, "mfa"),
    ("no @id", "permit (principal, action, resource is Document);", UnsupportedPolicy, "no @id"),
    ("duplicate @id", '@id("x") permit (principal, action, resource);\n@id("x") forbid (principal, action, resource);',
     UnsupportedPolicy, "used twice"),
    ("template", '@id("x") permit (principal == ?principal, action, resource);', UnsupportedPolicy, "templates"),
    ("redefines a baseline policy",
     '@id("baseline.tenant-isolation.document") permit (principal, action, resource);', BaselineOverride,
     "baseline.tenant-isolation.document"),
    ("locks the admins out",
     '@id("x") forbid (principal, action == Action::"policy:admin", resource);', GoldenDecisionFailed,
     "an admin can administer"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policies", "error", "reason"),
    [row[1:] for row in BAD_POLICY_SETS],
    ids=[row[0] for row in BAD_POLICY_SETS],
)
def test_a_bad_policy_set_is_refused_with_the_reason_and_nothing_is_stored(
    world: AuthzWorld, policies: str, error: type[PolicyRejected], reason: str
) -> None:
    # When an admin proposes the set
    with pytest.raises(error, match=reason):
        world.admin.propose(TENANT, policies=policies, golden=[], description="", actor="a", request_id="r")
    # Then no version exists, nothing is active, and the refusal is audited
    assert world.store.versions(TENANT) == []
    assert world.store.active(TENANT) is None
    [event] = world.publisher.published
    assert event.type == "authz.policy_rejected"
    assert event.outcome == "failure"
    assert event.data["reason"] == error.__name__


def test_an_oversized_policy_text_is_refused(world: AuthzWorld) -> None:
    padding = "// " + "x" * MAX_POLICY_BYTES + "\n"
    with pytest.raises(PolicySetTooLarge, match=f"limit is {MAX_POLICY_BYTES}"):
        world.admin.propose(
            TENANT, policies=padding + GOOD, golden=[], description="", actor="a", request_id="r"
        )


def test_too_many_policies_are_refused(world: AuthzWorld) -> None:
    many = "\n".join(
        f'@id("p{i}") permit (principal in Role::"member", action == Action::"log:read", resource);'
        for i in range(MAX_TENANT_POLICIES + 1)
    )
    with pytest.raises(PolicySetTooLarge, match=f"limit is {MAX_TENANT_POLICIES}"):
        world.admin.propose(TENANT, policies=many, golden=[], description="", actor="a", request_id="r")


def test_too_many_golden_decisions_are_refused(world: AuthzWorld) -> None:
    golden = [_golden(name=f"case {i}") for i in range(101)]
    with pytest.raises(PolicySetTooLarge, match="golden decisions"):
        world.admin.propose(TENANT, policies=GOOD, golden=golden, description="", actor="a", request_id="r")


def test_the_tenants_own_golden_decisions_must_hold(world: AuthzWorld) -> None:
    wrong = _golden(name="auditors do not read logs", expect="deny")
    with pytest.raises(GoldenDecisionFailed, match="auditors do not read logs"):
        world.admin.propose(TENANT, policies=GOOD, golden=[wrong], description="", actor="a", request_id="r")


def test_golden_decisions_the_schema_cannot_express_are_refused(world: AuthzWorld) -> None:
    wrong = _golden(action="audit:read", resource={"type": "Document", "id": "d", "owner": "alice"})
    with pytest.raises(GoldenDecisionFailed, match="does not apply to resources of type Document"):
        world.admin.propose(TENANT, policies=GOOD, golden=[wrong], description="", actor="a", request_id="r")


def test_a_good_set_with_its_golden_decisions_becomes_an_inactive_version(world: AuthzWorld) -> None:
    proposal = world.admin.propose(
        TENANT, policies=GOOD, golden=[_golden()], description="auditors", actor="a", request_id="r"
    )
    assert proposal.version.label == "v1"
    assert proposal.golden_checked == len([c for c in world.catalog.golden if c.invariant]) + 1
    assert world.store.active(TENANT) is None
    assert world.publisher.published[-1].type == "authz.policy_proposed"


def test_an_empty_set_is_a_valid_version_meaning_the_baseline_alone(world: AuthzWorld) -> None:
    proposal = world.admin.propose(TENANT, policies="", golden=[], description="", actor="a", request_id="r")
    assert proposal.version.policies == ""


def test_schema_errors_name_the_tenant_policy_not_a_position(world: AuthzWorld) -> None:
    policies = (
        GOOD
        + '\n@id("acme.broken") permit (principal, action, resource is Document) when { resource.size > 1 };'
    )
    with pytest.raises(SchemaViolation) as raised:
        world.admin.propose(TENANT, policies=policies, golden=[], description="", actor="a", request_id="r")
    assert "acme.broken" in str(raised.value)
    assert "policy1" not in str(raised.value)
