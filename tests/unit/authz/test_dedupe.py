"""Questions that provably have the same answer are evaluated once, and each still has its own
decision and audit record: identical questions, and questions on a Tenant differing only in the
principal's id while no policy names an entity through which that id could count."""

from collections.abc import Sequence
from typing import Any

import cedarpy
import pytest
from echo_shared.authz import AuthzRequest, Classification, DocumentMetadata, Principal, ResourceType
from echo_shared.authz import engine as engine_module
from echo_shared.authz.catalog import PolicyCatalog
from echo_shared.authz.engine import DecisionEngine, Evaluation
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.authz.factories import OTHER, TENANT, AuthzWorld, ask, tenant_resource, user
from tests.unit.authz.test_properties import CATALOG, ENGINE, PEOPLE, PROPERTY_SETTINGS, questions
from tests.unit.authz.test_scopes import scoped_policies


class CedarCalls:
    """Counts the requests the engine hands Cedar."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests = 0
        real = cedarpy.is_authorized_batch

        def counted(requests: Sequence[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
            self.requests += len(requests)
            return real(requests, *args, **kwargs)

        monkeypatch.setattr(engine_module.cedarpy, "is_authorized_batch", counted)


@pytest.fixture
def cedar(monkeypatch: pytest.MonkeyPatch) -> CedarCalls:
    return CedarCalls(monkeypatch)


def test_principals_with_the_same_facts_are_decided_once_and_recorded_each(
    world: AuthzWorld, cedar: CedarCalls
) -> None:
    # Given four auditors and one admin asking to read the tenant's audit log, one of them twice
    people = [user(name, "auditor") for name in ("ann", "ben", "cid", "dee")] + [user("root", "admin")]
    requests = [ask(person, "audit:read", tenant_resource()) for person in people] + [
        ask(people[0], "audit:read", tenant_resource())
    ]
    # When they are decided in one batch
    decisions = world.client.check_batch(requests, request_id="req-7", asked_by="service:tests")
    # Then Cedar evaluated one question per set of facts: the auditors' and the admin's
    assert cedar.requests == 2
    assert [d.allowed for d in decisions] == [True] * 6
    assert [d.reasons for d in decisions[:4]] == [("baseline.auditor-reads-audit",)] * 4
    # And every request has its own decision and its own record, naming its own principal
    records = world.publisher.published
    assert len({d.decision_id for d in decisions}) == len(records) == 6
    for request, decision, record in zip(requests, decisions, records, strict=True):
        assert decision.request == request
        assert str(record.event_id) == decision.decision_id == record.data["decision_id"]
        assert record.data["principal"] == str(request.principal.ref)
        assert record.resource == str(request.resource)
        assert record.request_id == "req-7"


def test_a_policy_naming_a_principal_has_each_principal_decided(world: AuthzWorld, cedar: CedarCalls) -> None:
    # Given a tenant policy that lets one user (by id) read the logs
    world.activate_policies(
        '@id("t.ann-reads-logs") permit (principal == User::"ann", action == Action::"log:read", resource);'
    )
    requests = [ask(user(name), "log:read", tenant_resource()) for name in ("ann", "ben")]
    cedar.requests = 0  # activation evaluated the golden decisions
    # When both users with the same facts ask
    decisions = world.client.check_batch(requests, request_id="r")
    # Then each was evaluated, and only ann may
    assert cedar.requests == 2
    assert [d.allowed for d in decisions] == [True, False]


def test_an_error_names_each_principal(catalog: PolicyCatalog, cedar: CedarCalls) -> None:
    # Given a policy that errs for users without scopes (they have no `scopes` attribute), and an
    # engine of its own (the first principal it sees with a set of facts stands in for the others)
    engine = DecisionEngine(catalog)
    compiled = engine.compile(
        TENANT,
        1,
        '@id("t.scoped") forbid (principal, action == Action::"audit:read", resource)'
        ' when { principal.scopes.contains("x") };',
    )
    evaluations = [
        Evaluation(ask(user(name, "auditor"), "audit:read", tenant_resource()), tenant_resource())
        for name in ("ann", "ben")
    ]
    # When two users with the same facts ask together
    outcomes = engine.evaluate(compiled, evaluations)
    # Then the stand-in erred, so the other was evaluated on its own: each error names its user
    assert cedar.requests == 2
    assert [any('"ann"' in e for e in o.errors) for o in outcomes] == [True, False]
    assert [any('"ben"' in e for e in o.errors) for o in outcomes] == [False, True]
    assert all(o.effect.value == "deny" for o in outcomes)


TENANT_ACTIONS = sorted(a for a, spec in CATALOG.actions.items() if "Tenant" in spec.resource_types)
NAMING_POLICIES = [
    "",
    '@id("t.named") permit (principal == User::"alice", action, resource);',
    '@id("t.named") forbid (principal, action, resource) when { principal in [User::"bob"] };',
]


@st.composite
def lookalike_facts(draw: st.DrawFn) -> tuple[tuple[str, ...], frozenset[str] | None, str, dict[str, object]]:
    roles = draw(st.sampled_from([(), ("auditor",), ("admin",), ("member", "viewer")]))
    scopes = draw(st.sampled_from([None, frozenset({"audit:read"}), frozenset({"logs:read", "x"})]))
    return roles, scopes, draw(st.sampled_from(TENANT_ACTIONS)), draw(st.sampled_from([{}, {"mfa": True}]))


@st.composite
def lookalike_batch(draw: st.DrawFn) -> list[Evaluation]:
    """Questions on the tenant by a few people sharing one of two sets of facts: many lookalikes."""
    variants = [draw(lookalike_facts()), draw(lookalike_facts())]
    batch = []
    for _ in range(draw(st.integers(min_value=2, max_value=12))):
        roles, scopes, action, context = draw(st.sampled_from(variants))
        principal = Principal.user(draw(st.sampled_from(PEOPLE[:3])), TENANT, frozenset(roles), scopes)
        request = AuthzRequest(principal, action, tenant_resource(), context)
        batch.append(Evaluation(request, request.resource))
    return batch + draw(st.lists(questions(TENANT, TENANT, TENANT), max_size=3))


@PROPERTY_SETTINGS
@given(policies=scoped_policies(), naming=st.sampled_from(NAMING_POLICIES), batch=lookalike_batch())
def test_a_batch_of_lookalike_principals_decides_each_as_its_single_check(
    policies: str, naming: str, batch: list[Evaluation]
) -> None:
    # Given questions by few people sharing few facts (many differ only in the principal's id)
    compiled = ENGINE.compile(TENANT, 1, policies + "\n" + naming)
    # When they are decided at once and one by one
    together = ENGINE.evaluate(compiled, batch)
    apart = [ENGINE.evaluate(compiled, [evaluation])[0] for evaluation in batch]
    # Then every outcome is the same: decision, reasons and errors
    assert together == apart


DOCUMENT_RELATION_POLICIES = [
    "",
    '@id("t.own-shared") permit (principal, action, resource is Document)'
    " when { resource.shared_with_users.contains(resource.owner) };",
    '@id("t.unshared") forbid (principal, action, resource is Document)'
    " when { resource.shared_with_users.isEmpty() };",
    '@id("t.owner-tenant") permit (principal, action, resource is Document)'
    " when { resource.owner.tenant == principal.tenant };",  # errs unless the asker owns it
    '@id("t.named-doc") permit (principal, action, resource == Document::"d1");',
    '@id("t.named-user") permit (principal, action, resource is Document)'
    ' when { resource.owner == User::"bob" };',
]


@st.composite
def one_asker_documents(draw: st.DrawFn) -> list[Evaluation]:
    """One principal's questions on many documents naming few users: many alike up to ids."""
    asker = Principal.user(
        draw(st.sampled_from(PEOPLE)), TENANT, frozenset(draw(st.sets(st.sampled_from(["viewer", "member"]))))
    )
    action = draw(st.sampled_from(["document:read", "document:delete"]))
    batch = []
    for index in range(draw(st.integers(min_value=1, max_value=14))):
        facts = DocumentMetadata(
            tenant=draw(st.sampled_from([TENANT, TENANT, OTHER])),
            document_id=f"d{index}",
            owner=draw(st.sampled_from(PEOPLE)),
            shared_with_users=frozenset(draw(st.sets(st.sampled_from(PEOPLE), max_size=3))),
            shared_with_roles=frozenset(draw(st.sets(st.sampled_from(["viewer"])))),
            classification=draw(st.sampled_from([Classification.INTERNAL, Classification.RESTRICTED])),
        )
        batch.append(Evaluation(AuthzRequest(asker, action, facts.ref, tenant=TENANT), facts))
    return batch


@PROPERTY_SETTINGS
@given(
    policies=st.lists(st.sampled_from(DOCUMENT_RELATION_POLICIES), max_size=3), batch=one_asker_documents()
)
def test_a_list_of_lookalike_documents_decides_each_as_its_single_check(
    policies: list[str], batch: list[Evaluation]
) -> None:
    # Given one principal's questions on documents alike but for their ids, under policies that
    # compare the users a document names (some err, some name a document or a user)
    compiled = ENGINE.compile(TENANT, 1, "\n".join(dict.fromkeys(policies)))
    # When they are decided as a list and one by one
    listed = ENGINE.evaluate_for_one_principal(compiled, batch, chunk=4)
    apart = [ENGINE.evaluate(compiled, [evaluation])[0] for evaluation in batch]
    # Then every outcome is the same: decision, reasons and errors
    assert listed == apart


def test_documents_alike_but_for_ids_are_listed_through_one_evaluation(
    world: AuthzWorld, cedar: CedarCalls
) -> None:
    # Given five documents of others, alike but for their ids and owners, and one of the asker's
    for index, owner in enumerate(["bob", "cid", "dee", "eve", "fay"]):
        world.add_document(f"d{index}", owner, shared_with_roles=frozenset({"viewer"}))
    world.add_document("mine", "ann")
    # When a viewer lists what they may read
    listing = world.client.list_resources(
        user("ann", "viewer"), "document:read", ResourceType.DOCUMENT, request_id="r"
    )
    # Then Cedar evaluated one question for the five lookalikes and one for the asker's own
    assert cedar.requests == 2
    assert sorted(listing.resource_ids) == ["d0", "d1", "d2", "d3", "d4", "mine"]
    assert listing.evaluated == 6


def test_an_erring_lookalike_document_is_evaluated_on_its_own(engine: Any, cedar: CedarCalls) -> None:
    # Given a policy that errs on documents the asker does not own (their owner has no entity)
    compiled = engine.compile(
        TENANT,
        1,
        '@id("t.owner-tenant") permit (principal, action, resource is Document)'
        " when { resource.owner.tenant == principal.tenant };",
    )
    asker = user("ann")
    documents = [DocumentMetadata(TENANT, f"d{i}", owner) for i, owner in enumerate(["bob", "cid"])]
    evaluations = [Evaluation(AuthzRequest(asker, "document:read", d.ref), d) for d in documents]
    # When both are decided as one principal's list
    outcomes = engine.evaluate_for_one_principal(compiled, evaluations, chunk=10)
    # Then the stand-in erred, so the other was evaluated too: each error names its own owner
    assert cedar.requests == 2
    assert [any('"bob"' in e for e in o.errors) for o in outcomes] == [True, False]
    assert [any('"cid"' in e for e in o.errors) for o in outcomes] == [False, True]
