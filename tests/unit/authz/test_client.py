"""The in-process client: parsed once per container, refreshed on change, audited one to one."""

from collections.abc import Sequence

import pytest
from echo_shared.authz import (
    AuthzClient,
    BatchTooLarge,
    Classification,
    DecisionNotAudited,
    Effect,
    EntityRef,
    InvalidAuthzRequest,
    PolicyCache,
    ResourceType,
)
from echo_shared.authz.caller import principal_actor
from echo_shared.authz.catalog import PolicyCatalog
from echo_shared.authz.engine import CompiledPolicies, DecisionEngine
from echo_shared.events import EventEnvelope, PublishFailed

from tests.fakes.authz import InMemoryEntityProvider, InMemoryPolicyStore
from tests.fakes.events import InMemoryEventPublisher
from tests.unit.authz.factories import (
    OTHER,
    TENANT,
    AuthzWorld,
    ask,
    document,
    service,
    tenant_resource,
    user,
)

LOGS_FOR_AUDITORS = """
@id("acme.auditors-read-logs")
permit (principal in Role::"auditor", action == Action::"log:read", resource is Tenant);
"""


class CountingEngine(DecisionEngine):
    def __init__(self, catalog: PolicyCatalog) -> None:
        super().__init__(catalog)
        self.compiled: list[int] = []

    def compile(self, tenant: str, version: int, tenant_policies: str) -> CompiledPolicies:
        self.compiled.append(version)
        return super().compile(tenant, version, tenant_policies)


class BrokenBus(InMemoryEventPublisher):
    def publish(self, event: EventEnvelope) -> None:
        raise PublishFailed([str(event.event_id)], ["InternalError"])

    def publish_batch(self, events: Sequence[EventEnvelope]) -> None:
        raise PublishFailed([str(e.event_id) for e in events], ["InternalError"] * len(events))


def test_policies_are_parsed_once_and_the_version_checked_at_most_every_refresh(world: AuthzWorld) -> None:
    # Given a client whose engine counts compilations
    engine = CountingEngine(world.catalog)
    world.client = AuthzClient(
        store=world.store,
        entities=world.entities,
        publisher=world.publisher,
        asked_by="t",
        engine=engine,
        refresh_seconds=5,
        monotonic=world.monotonic,
    )
    question = ask(user("eve", "auditor"), "log:read", tenant_resource())
    # When it decides many times within the refresh interval
    for _ in range(50):
        world.client.check(question, request_id="r")
    # Then it parsed once and read the active pointer once
    assert engine.compiled == [0]
    assert world.store.active_reads == 1
    # When the interval passes without a change, the pointer is read again but nothing is parsed
    world.monotonic.advance(6)
    world.client.check(question, request_id="r")
    assert (engine.compiled, world.store.active_reads) == ([0], 2)
    # When a new version is activated, the next refresh parses it, and decisions change
    world.activate_policies(LOGS_FOR_AUDITORS)
    assert not world.client.check(question, request_id="r").allowed
    world.monotonic.advance(6)
    decision = world.client.check(question, request_id="r")
    assert decision.allowed
    assert engine.compiled == [0, 1]


def test_every_decision_publishes_exactly_one_matching_record(world: AuthzWorld) -> None:
    world.add_document("doc-1", "alice")
    requests = [
        ask(user("alice"), "document:read", document("doc-1")),
        ask(user("bob", "member"), "document:write", document("doc-1")),
        ask(user("bob", "member"), "document:read", document("nope")),
        ask(service("svc", "audit:read"), "audit:read", tenant_resource()),
        ask(user("alice", tenant=OTHER), "document:read", document("doc-1"), tenant=TENANT),
    ] * 5
    decisions = world.client.check_batch(requests, request_id="req-42", asked_by='Client::"gateway"')
    records = world.publisher.published
    assert len(records) == len(decisions) == 25
    for decision, record in zip(decisions, records, strict=True):
        assert str(record.event_id) == decision.decision_id
        assert record.type == "authz.decision"
        assert record.tenant == TENANT
        assert record.request_id == "req-42"
        assert record.data["principal"] == str(decision.request.principal.ref)
        assert record.actor == principal_actor(decision.request.principal)
        assert record.resource == str(decision.request.resource) == record.data["resource"]
        assert record.data["action"] == decision.request.action
        assert record.data["decision"] == decision.effect.value
        assert record.outcome == ("success" if decision.allowed else "denied")
        assert record.data["policy_version"] == decision.policy_version
        assert record.data["reasons"] == list(decision.reasons)
        assert record.data["errors"] == list(decision.errors)
        assert record.data["asked_by"] == 'Client::"gateway"'
    assert len({d.decision_id for d in decisions}) == 25


def test_a_decision_that_cannot_be_audited_is_not_returned(catalog: PolicyCatalog) -> None:
    client = AuthzClient(
        store=InMemoryPolicyStore(),
        entities=InMemoryEntityProvider(),
        publisher=BrokenBus(),
        asked_by="t",
        catalog=catalog,
    )
    with pytest.raises(DecisionNotAudited):
        client.check(ask(user("root", "admin"), "audit:read", tenant_resource()), request_id="r")


def test_a_batch_of_101_is_refused_and_nothing_decided(world: AuthzWorld) -> None:
    requests = [ask(user("root", "admin"), "audit:read", tenant_resource())] * 101
    with pytest.raises(BatchTooLarge, match="at most 100"):
        world.client.check_batch(requests, request_id="r")
    assert world.publisher.published == []


def test_a_batch_with_one_malformed_question_decides_nothing(world: AuthzWorld) -> None:
    requests = [
        ask(user("root", "admin"), "audit:read", tenant_resource()),
        ask(user("root", "admin"), "audit:read", EntityRef("Folder", "f")),
    ]
    with pytest.raises(InvalidAuthzRequest, match="unknown resource entity type 'Folder'"):
        world.client.check_batch(requests, request_id="r")
    assert world.publisher.published == []


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ask(user("root", "admin"), "audit:read", tenant_resource(), mfa="yes"), "context field"),
        (ask(user("root", "admin"), "audit:read", tenant_resource(), device="x"), "context field"),
        (ask(user("root", "admin"), "audit:read", EntityRef("Tenant", "bad tenant!")), "not a valid tenant"),
        (
            ask(user("root", "admin", tenant="bad tenant"), "audit:read", tenant_resource()),
            "not a valid tenant",
        ),
        (ask(user("", "admin"), "audit:read", tenant_resource()), "principal id"),
        (ask(user("root", "no spaces allowed"), "audit:read", tenant_resource()), "roles"),
        (ask(user("root"), "document:read", document("x" * 300)), "resource id"),
        (ask(user("root"), "document:read", tenant_resource()), "does not apply"),
    ],
)
def test_malformed_questions_are_refused(world: AuthzWorld, request_: object, message: str) -> None:
    with pytest.raises(InvalidAuthzRequest, match=message):
        world.client.check(request_, request_id="r")  # type: ignore[arg-type]


def test_context_is_passed_to_policies(world: AuthzWorld) -> None:
    world.activate_policies(
        '@id("acme.mfa-for-audit") forbid (principal, action == Action::"audit:read", resource)'
        " unless { context has mfa && context.mfa };"
    )
    admin = user("root", "admin")
    assert not world.client.check(ask(admin, "audit:read", tenant_resource()), request_id="r").allowed
    assert world.client.check(ask(admin, "audit:read", tenant_resource(), mfa=True), request_id="r").allowed


def test_list_returns_exactly_the_documents_check_allows(world: AuthzWorld) -> None:
    world.add_document("mine", "bob", classification=Classification.RESTRICTED)
    world.add_document("open", "alice", classification=Classification.INTERNAL)
    world.add_document("closed", "alice", classification=Classification.CONFIDENTIAL)
    world.add_document(
        "shared", "alice", classification=Classification.CONFIDENTIAL, shared_with_users=frozenset({"bob"})
    )
    world.add_document("foreign", "bob", tenant=OTHER)
    bob = user("bob", "member")
    listing = world.client.list_resources(bob, "document:read", ResourceType.DOCUMENT, request_id="r")
    assert sorted(listing.resource_ids) == ["mine", "open", "shared"]
    assert listing.evaluated == 4
    assert listing.policy_version == "v0"
    # And one audit record summarizes the answer
    [record] = world.publisher.published
    assert record.data["kind"] == "list"
    assert record.data["decision_id"] == listing.decision_id
    assert record.data["allowed"] == 3
    assert record.resource == "Document::*"


def test_list_of_tenants_is_the_own_tenant_or_nothing(world: AuthzWorld) -> None:
    admin = world.client.list_resources(
        user("root", "admin"), "audit:read", ResourceType.TENANT, request_id="r"
    )
    member = world.client.list_resources(
        user("bob", "member"), "audit:read", ResourceType.TENANT, request_id="r"
    )
    assert (admin.resource_ids, member.resource_ids) == ((TENANT,), ())


def test_list_refuses_an_action_that_does_not_apply_to_the_type(world: AuthzWorld) -> None:
    with pytest.raises(InvalidAuthzRequest, match="does not apply"):
        world.client.list_resources(user("bob"), "audit:read", ResourceType.DOCUMENT, request_id="r")


def test_the_same_answers_for_conflicting_facts_in_one_batch(world: AuthzWorld) -> None:
    # Two callers describe principal "bob" differently; each question is judged on its own facts.
    requests = [
        ask(user("bob", "admin"), "audit:read", tenant_resource()),
        ask(user("bob"), "audit:read", tenant_resource()),
    ]
    assert [d.effect for d in world.client.check_batch(requests, request_id="r")] == [
        Effect.ALLOW,
        Effect.DENY,
    ]


def test_cached_tenants_are_bounded(world: AuthzWorld, engine: DecisionEngine) -> None:
    cache = PolicyCache(world.store, engine, max_tenants=2)
    for tenant in ("t1", "t2", "t3", "t2"):
        cache.get(tenant)
    assert cache.cached_tenants == ["t3", "t2"]
