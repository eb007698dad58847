"""Fail closed: missing entities, evaluation errors, unreachable stores and erroring forbids deny,
and the errors are in the answer and in its audit record."""

from collections.abc import Iterator

import pytest
from echo_shared.authz import (
    AuthzClient,
    Classification,
    DocumentMetadata,
    Effect,
    EntityRef,
    Principal,
    ResourceType,
)
from echo_shared.authz import engine as engine_module
from echo_shared.authz.catalog import PolicyCatalog
from echo_shared.authz.engine import CompiledPolicies, DecisionEngine, Evaluation
from echo_shared.authz.errors import EntityStoreUnavailable, PolicyStoreUnavailable
from echo_shared.authz.store import ActivationKind, ActivePointer, PolicyVersion
from echo_shared.timeutil import utc_now

from tests.fakes.authz import InMemoryEntityProvider, InMemoryPolicyStore
from tests.fakes.events import InMemoryEventPublisher
from tests.unit.authz.factories import TENANT, AuthzWorld, ask, document, tenant_resource, user

# Valid against the schema, but errors at run time whenever the owner's entity is not loaded
# (only principals and resources are): a realistic mistake in a tenant's forbid.
ERRORING_FORBID = """
@id("acme.owner-in-tenant")
forbid (principal, action == Action::"document:read", resource)
when { resource.owner.tenant != principal.tenant };

@id("acme.everyone-reads")
permit (principal, action == Action::"document:read", resource);
"""


class UnreachablePolicyStore(InMemoryPolicyStore):
    def active(self, tenant: str) -> ActivePointer | None:
        raise PolicyStoreUnavailable("connection refused")


class UnreachableDocuments(InMemoryEntityProvider):
    def document(self, tenant: str, document_id: str) -> DocumentMetadata | None:
        raise EntityStoreUnavailable("timeout")

    def documents(self, tenant: str) -> Iterator[DocumentMetadata]:
        raise EntityStoreUnavailable("timeout")


def test_an_erroring_forbid_denies_what_a_permit_would_allow(world: AuthzWorld) -> None:
    # Given a tenant forbid that errors for documents of other owners, next to a permit that matches
    world.activate_policies(ERRORING_FORBID)
    world.add_document("doc-1", "alice", classification=Classification.CONFIDENTIAL)
    request = ask(user("bob"), "document:read", document("doc-1"))
    # When asked (Cedar alone would allow: it skips the erroring forbid)
    decision = world.client.check(request, request_id="r")
    # Then Echo denies and reports the error, naming the policy
    assert decision.effect is Effect.DENY
    assert decision.reasons == ()
    assert any("acme.owner-in-tenant" in error for error in decision.errors)
    # And the audit record carries the same errors
    event = world.publisher.published[-1]
    assert event.type == "authz.decision"
    assert event.data["decision_id"] == decision.decision_id
    assert event.data["decision"] == "deny"
    assert event.data["errors"] == list(decision.errors)


def test_the_same_policy_allows_when_nothing_errors(world: AuthzWorld) -> None:
    world.activate_policies(ERRORING_FORBID)
    world.add_document("doc-1", "bob", classification=Classification.CONFIDENTIAL)
    decision = world.client.check(ask(user("bob"), "document:read", document("doc-1")), request_id="r")
    assert decision.effect is Effect.ALLOW
    assert "acme.everyone-reads" in decision.reasons


def test_a_missing_document_denies_with_the_reason(world: AuthzWorld) -> None:
    decision = world.client.check(
        ask(user("root", "admin"), "document:read", document("ghost")), request_id="r"
    )
    assert decision.effect is Effect.DENY
    assert decision.errors == (f'resource Document::"ghost" not found in tenant {TENANT}',)


def test_an_unreachable_policy_store_denies_everything(catalog: PolicyCatalog) -> None:
    publisher = InMemoryEventPublisher()
    client = AuthzClient(
        store=UnreachablePolicyStore(),
        entities=InMemoryEntityProvider(),
        publisher=publisher,
        asked_by="t",
        catalog=catalog,
    )
    decision = client.check(ask(user("root", "admin"), "audit:read", tenant_resource()), request_id="r")
    assert decision.effect is Effect.DENY
    assert decision.unavailable
    assert decision.policy_version == "unavailable"
    assert decision.errors[0].startswith("policy_store_unavailable")
    assert publisher.published[0].data["errors"] == list(decision.errors)


def test_an_unreachable_document_store_denies(catalog: PolicyCatalog) -> None:
    client = AuthzClient(
        store=InMemoryPolicyStore(),
        entities=UnreachableDocuments(),
        publisher=InMemoryEventPublisher(),
        asked_by="t",
        catalog=catalog,
    )
    decision = client.check(ask(user("alice"), "document:read", document("doc-1")), request_id="r")
    assert decision.effect is Effect.DENY
    assert decision.unavailable
    listing = client.list_resources(user("alice"), "document:read", ResourceType.DOCUMENT, request_id="r")
    assert listing.resource_ids == ()
    assert listing.unavailable


def test_an_active_version_that_no_longer_parses_denies(world: AuthzWorld) -> None:
    # Given a stored active version the current engine cannot parse (e.g. written by an older release)
    broken = PolicyVersion(TENANT, 1, "permit (", "sha256:x", (), "", utc_now(), "someone")
    world.store.seed([broken])
    world.store.activate(
        TENANT, 1, expected_revision=0, kind=ActivationKind.ACTIVATE, at=utc_now(), by="someone"
    )
    # When anyone asks
    decision = world.client.check(ask(user("root", "admin"), "audit:read", tenant_resource()), request_id="r")
    # Then the answer is deny, saying why
    assert decision.effect is Effect.DENY
    assert decision.errors[0].startswith("policy_unusable")
    assert not decision.unavailable


def test_an_unknown_principal_referenced_by_policies_errors_into_deny(engine: DecisionEngine) -> None:
    # Given facts Cedar cannot use (an entity type the schema does not know)
    compiled = engine.compile(TENANT, 0, "")
    request = ask(Principal.user("alice", TENANT), "document:read", EntityRef("Folder", "x"))
    facts = EntityRef("Folder", "x")
    # When evaluated anyway (the client refuses this earlier; the engine must still fail closed)
    [outcome] = engine.evaluate(compiled, [Evaluation(request, facts)])
    # Then it is a deny with Cedar's reason
    assert outcome.effect is Effect.DENY
    assert outcome.errors


def test_problems_known_before_evaluation_deny_without_evaluating(engine: DecisionEngine) -> None:
    compiled: CompiledPolicies = engine.compile(TENANT, 0, "")
    request = ask(user("alice"), "document:read", document("d"))
    facts = DocumentMetadata(TENANT, "d", "alice")
    [outcome] = engine.evaluate(compiled, [Evaluation(request, facts, problems=("principal unknown",))])
    assert outcome.effect is Effect.DENY
    assert outcome.errors == ("principal unknown",)


@pytest.mark.parametrize("tenant_policies", ["", ERRORING_FORBID])
def test_a_decision_is_never_allow_with_errors(world: AuthzWorld, tenant_policies: str) -> None:
    if tenant_policies:
        world.activate_policies(tenant_policies)
    world.add_document("doc-1", "bob")
    world.add_document("doc-2", "alice", classification=Classification.RESTRICTED)
    world.add_document("doc-3", "alice", classification=Classification.CONFIDENTIAL)
    requests = [
        ask(user(who, "member"), "document:read", document(d))
        for who in ("bob", "carol")
        for d in ("doc-1", "doc-2", "doc-3", "ghost")
    ]
    for decision in world.client.check_batch(requests, request_id="r"):
        assert not (decision.allowed and decision.errors)


def test_a_batch_whose_entities_do_not_parse_is_denied_each_time(
    catalog: PolicyCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an entity document Cedar refuses (as it would facts that break the schema), and an
    # engine of its own (it keeps what Cedar said of each document)
    engine = DecisionEngine(catalog)

    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("entity does not conform to the schema")

    monkeypatch.setattr(engine_module.cedarpy.Entities, "from_json_str", refuse)
    compiled = engine.compile(TENANT, 1, "")
    batch = [
        Evaluation(
            ask(user(name, "viewer"), "document:read", document("d1")), DocumentMetadata(TENANT, "d1", name)
        )
        for name in ("ann", "ben")
    ]
    # When the same batch is decided twice (the second time from the kept parse result)
    first, second = engine.evaluate(compiled, batch), engine.evaluate(compiled, batch)
    # Then every question is denied with Cedar's reason, both times
    assert first == second
    assert [o.effect for o in first] == [Effect.DENY, Effect.DENY]
    assert all(o.errors == ("evaluation failed: entity does not conform to the schema",) for o in first)
