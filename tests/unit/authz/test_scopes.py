"""Cedar evaluates a question on the policies whose scope can match it: the same decision, reasons
and errors as on the whole set, for any tenant policies (erroring ones included)."""

import dataclasses

import cedarpy
from echo_shared.authz.engine import CompiledPolicies, Evaluation
from echo_shared.authz.scopes import PolicySlices, action_ancestors
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.authz.factories import OTHER, TENANT
from tests.unit.authz.test_properties import (
    ACTIONS,
    CATALOG,
    ENGINE,
    PROPERTY_SETTINGS,
    ROLES,
    questions,
    tenant_policies,
)

# Scopes of every form, and conditions that error on some questions (missing attributes).
SCOPED_SHAPES = [
    'forbid (principal is Client, action in [Action::"{action}", Action::"{other}"], resource);',
    'permit (principal is User in Role::"{role}", action, resource is Tenant);',
    'permit (principal in Role::"{role}", action == Action::"{action}", resource is Document);',
    'permit (principal == User::"alice", action, resource) when {{ resource.owner == principal }};',
    'forbid (principal, action == Action::"{action}", resource) when {{ principal.scopes.contains("x") }};',
    'permit (principal, action, resource == Tenant::"acme") when {{ resource.classification == "public" }};',
]


class _WholeSet:
    """No slicing: every question on the whole set (and on its own, ids counting)."""

    principal_ids_may_count = True

    def __init__(self, policy_set: cedarpy.PolicySet) -> None:
        self._policy_set = policy_set

    def for_question(self, *_: str) -> cedarpy.PolicySet:
        return self._policy_set


@st.composite
def scoped_policies(draw: st.DrawFn) -> str:
    shapes = draw(st.lists(st.sampled_from(SCOPED_SHAPES), max_size=4))
    extra = "\n".join(
        f'@id("scoped.p{i}") '
        + shape.format(
            action=draw(st.sampled_from(ACTIONS)),
            other=draw(st.sampled_from(ACTIONS)),
            role=draw(st.sampled_from(ROLES)),
        )
        for i, shape in enumerate(shapes)
    )
    return draw(tenant_policies()) + "\n" + extra


ANY_QUESTION = st.one_of(
    questions(TENANT, TENANT, TENANT), questions(OTHER, TENANT, TENANT), questions(TENANT, OTHER, TENANT)
)


@PROPERTY_SETTINGS
@given(policies=scoped_policies(), batch=st.lists(ANY_QUESTION, min_size=1, max_size=8))
def test_a_question_on_its_slice_is_decided_as_on_the_whole_set(
    policies: str, batch: list[Evaluation]
) -> None:
    # Given a policy set (baseline + tenant) and some questions
    compiled = ENGINE.compile(TENANT, 1, policies)
    whole: CompiledPolicies = dataclasses.replace(compiled, slices=_WholeSet(compiled.policy_set))  # type: ignore[arg-type]
    # When they are decided on their slices and on the whole set
    sliced = ENGINE.evaluate(compiled, batch)
    unsliced = ENGINE.evaluate(whole, batch)
    # Then decisions, reasons and errors are the same
    assert sliced == unsliced


def test_a_slice_keeps_only_the_policies_whose_scope_can_match() -> None:
    # Given the baseline's slices
    slices = PolicySlices(CATALOG.baseline, action_ancestors(CATALOG.schema_document))
    names = CATALOG.baseline_names
    # When a user asks to read the audit log of a tenant
    kept = {names[policy_id] for policy_id in slices.policy_ids("User", "audit:read", "Tenant")}
    # Then only policies about any action, audit:read, users and tenants are evaluated
    assert kept == {
        "baseline.tenant-isolation.question",
        "baseline.tenant-isolation.tenant",
        "baseline.scope-bound.audit-read",
        "baseline.admin-manages-tenant",
        "baseline.auditor-reads-audit",
        "baseline.guest-acts-on-no-tenant",
    }


def test_action_groups_of_the_schema_count_as_the_actions_they_hold() -> None:
    # Given a schema where document:read is in a group, itself in another
    document = {
        "": {
            "actions": {
                "document:read": {"memberOf": [{"id": "reads"}]},
                "reads": {"memberOf": [{"id": "everything"}]},
                "everything": {},
            }
        }
    }
    # Then document:read belongs to both groups
    assert action_ancestors(document)["document:read"] == frozenset({"reads", "everything"})
