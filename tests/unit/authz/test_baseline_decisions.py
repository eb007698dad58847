"""Decision tables for the baseline policies (no tenant policies active)."""

import pytest
from echo_shared.authz import Classification, Effect, Principal
from echo_shared.authz.catalog import PolicyCatalog, packaged_catalog
from echo_shared.authz.engine import CompiledPolicies, DecisionEngine, Evaluation
from echo_shared.authz.golden import GoldenDecision

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

GOLDEN = packaged_catalog().golden


@pytest.fixture(scope="module")
def baseline(engine: DecisionEngine) -> CompiledPolicies:
    return engine.compile(TENANT, 0, "")


@pytest.mark.parametrize("case", GOLDEN, ids=[case.name for case in GOLDEN])
def test_golden_decision_holds_on_the_baseline(
    case: GoldenDecision, engine: DecisionEngine, baseline: CompiledPolicies
) -> None:
    # Given a golden case kept with the baseline
    request, facts = case.materialize(TENANT)
    # When the baseline alone decides it
    [outcome] = engine.evaluate(baseline, [Evaluation(request, facts)])
    # Then the answer is the expected one, without errors
    assert outcome.effect is case.expect
    assert outcome.errors == ()


DOCUMENT_TABLE: list[tuple[str, Principal, str, Classification, dict[str, frozenset[str]], Effect]] = [
    # who, action, classification, sharing -> decision (document doc-1 owned by alice in acme)
    ("owner reads", user("alice"), "document:read", Classification.CONFIDENTIAL, {}, Effect.ALLOW),
    ("owner without roles writes", user("alice"), "document:write", Classification.INTERNAL, {}, Effect.ALLOW),
    ("owner queries restricted", user("alice"), "document:query", Classification.RESTRICTED, {}, Effect.ALLOW),
    ("member reads public", user("bob", "member"), "document:read", Classification.PUBLIC, {}, Effect.ALLOW),
    ("member reads internal", user("bob", "member"), "document:query", Classification.INTERNAL, {}, Effect.ALLOW),
    ("member never writes others'", user("bob", "member"), "document:write", Classification.PUBLIC, {}, Effect.DENY),
    ("member never deletes others'", user("bob", "member"), "document:delete", Classification.PUBLIC, {}, Effect.DENY),
    ("viewer reads internal", user("vic", "viewer"), "document:read", Classification.INTERNAL, {}, Effect.ALLOW),
    ("viewer shared a confidential reads", user("vic", "viewer"), "document:read", Classification.CONFIDENTIAL,
     {"shared_with_users": frozenset({"vic"})}, Effect.ALLOW),
    ("role share opens confidential", user("eve", "auditor"), "document:read", Classification.CONFIDENTIAL,
     {"shared_with_roles": frozenset({"auditor"})}, Effect.ALLOW),
    ("role share never opens restricted", user("eve", "auditor"), "document:read", Classification.RESTRICTED,
     {"shared_with_roles": frozenset({"auditor"})}, Effect.DENY),
    ("admin reads confidential", user("root", "admin"), "document:read", Classification.CONFIDENTIAL, {}, Effect.ALLOW),
    ("admin shares", user("root", "admin"), "document:share", Classification.INTERNAL, {}, Effect.ALLOW),
    ("admin never reads restricted", user("root", "admin"), "document:read", Classification.RESTRICTED, {}, Effect.DENY),
    ("admin+viewer still deletes", user("root", "admin", "viewer"), "document:delete", Classification.INTERNAL, {},
     Effect.ALLOW),
    ("auditor reads no documents", user("eve", "auditor"), "document:read", Classification.PUBLIC, {}, Effect.DENY),
    ("client with scope reads public", service("svc", "documents:read"), "document:read", Classification.PUBLIC, {},
     Effect.ALLOW),
    ("client never reads confidential", service("svc", "documents:read"), "document:read",
     Classification.CONFIDENTIAL, {}, Effect.DENY),
    ("guest reads no internal", user("gus", "guest"), "document:read", Classification.INTERNAL, {}, Effect.DENY),
    ("guest reads no public", user("gus", "guest"), "document:query", Classification.PUBLIC, {}, Effect.DENY),
    ("guest role share stays closed", user("gus", "guest"), "document:read", Classification.PUBLIC,
     {"shared_with_roles": frozenset({"guest"})}, Effect.DENY),
    ("guest shared by id reads", user("gus", "guest"), "document:read", Classification.CONFIDENTIAL,
     {"shared_with_users": frozenset({"gus"})}, Effect.ALLOW),
    ("guest shared by id queries", user("gus", "guest"), "document:query", Classification.INTERNAL,
     {"shared_with_users": frozenset({"gus"})}, Effect.ALLOW),
    ("guest shared by id never writes", user("gus", "guest"), "document:write", Classification.INTERNAL,
     {"shared_with_users": frozenset({"gus"})}, Effect.DENY),
    ("guest shared by id never shares", user("gus", "guest"), "document:share", Classification.INTERNAL,
     {"shared_with_users": frozenset({"gus"})}, Effect.DENY),
    ("guest owner manages own", user("alice", "guest"), "document:delete", Classification.INTERNAL, {},
     Effect.ALLOW),
    ("foreign owner namesake", user("alice", "admin", tenant=OTHER), "document:read", Classification.PUBLIC, {},
     Effect.DENY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("principal", "action", "classification", "sharing", "expected"),
    [row[1:] for row in DOCUMENT_TABLE],
    ids=[row[0] for row in DOCUMENT_TABLE],
)
def test_document_decision_table(
    world: AuthzWorld,
    principal: Principal,
    action: str,
    classification: Classification,
    sharing: dict[str, frozenset[str]],
    expected: Effect,
) -> None:
    # Given alice's document in acme, classified and shared as the row says
    world.add_document(
        "doc-1",
        "alice",
        classification=classification,
        shared_with_users=sharing.get("shared_with_users", frozenset()),
        shared_with_roles=sharing.get("shared_with_roles", frozenset()),
    )
    # When a service of acme asks about the principal (through the client, as every service does)
    decision = world.client.check(
        ask(principal, action, document("doc-1"), tenant=TENANT), request_id="req-1"
    )
    # Then the baseline answers as the table says, on the baseline-only version
    assert decision.effect is expected
    assert decision.policy_version == "v0"
    assert decision.errors == ()


PLATFORM_TABLE: list[tuple[Principal, str, Effect]] = [
    (user("root", "admin"), "audit:read", Effect.ALLOW),
    (user("root", "admin"), "audit:verify", Effect.ALLOW),
    (user("root", "admin"), "log:read", Effect.ALLOW),
    (user("root", "admin"), "policy:admin", Effect.ALLOW),
    (user("root", "admin"), "user:admin", Effect.ALLOW),
    (user("root", "admin"), "document:create", Effect.ALLOW),
    (user("eve", "auditor"), "audit:read", Effect.ALLOW),
    (user("eve", "auditor"), "audit:verify", Effect.ALLOW),
    (user("eve", "auditor"), "log:read", Effect.DENY),
    (user("eve", "auditor"), "policy:admin", Effect.DENY),
    (user("bob", "member"), "document:create", Effect.ALLOW),
    (user("bob", "member"), "audit:read", Effect.DENY),
    (user("bob", "member"), "user:admin", Effect.DENY),
    (user("vic", "viewer"), "document:create", Effect.DENY),
    (user("vic", "viewer", "member"), "document:create", Effect.ALLOW),
    (user("nobody"), "audit:read", Effect.DENY),
    (user("gus", "guest"), "document:create", Effect.DENY),
    (user("gus", "guest"), "audit:read", Effect.DENY),
    (user("gus", "guest"), "user:admin", Effect.DENY),
    (service("svc", "audit:read"), "audit:read", Effect.ALLOW),
    (service("svc", "audit:read"), "audit:verify", Effect.ALLOW),
    (service("svc", "audit:read"), "log:read", Effect.DENY),
    (service("svc", "logs:read"), "log:read", Effect.ALLOW),
    (service("svc", "logs:read"), "audit:read", Effect.DENY),
    (service("svc", "authz:check"), "audit:read", Effect.DENY),
    (service("svc", "policy:admin"), "policy:admin", Effect.DENY),
]


@pytest.mark.parametrize(("principal", "action", "expected"), PLATFORM_TABLE, ids=lambda v: str(v)[:40])
def test_platform_route_decision_table(
    world: AuthzWorld, principal: Principal, action: str, expected: Effect
) -> None:
    decision = world.client.check(ask(principal, action, tenant_resource()), request_id="req-1")
    assert decision.effect is expected


@pytest.mark.parametrize(
    "action", ["audit:read", "policy:admin", "user:admin", "log:read", "document:create"]
)
def test_an_admin_never_acts_on_another_tenant(world: AuthzWorld, action: str) -> None:
    # Given an admin of acme, when they act on the globex tenant
    decision = world.client.check(ask(user("root", "admin"), action, tenant_resource(OTHER)), request_id="r")
    # Then the tenant-isolation forbid denies, and says so
    assert decision.effect is Effect.DENY
    assert decision.reasons == ("baseline.tenant-isolation.tenant",)


def test_a_deny_names_the_forbid_that_decided_it(world: AuthzWorld) -> None:
    world.add_document("doc-r", "alice", classification=Classification.RESTRICTED)
    decision = world.client.check(
        ask(user("root", "admin"), "document:read", document("doc-r")), request_id="r"
    )
    assert decision.reasons == ("baseline.restricted-documents",)


def test_an_allow_names_the_permits_that_grant_it(world: AuthzWorld) -> None:
    world.add_document("doc-1", "alice")
    decision = world.client.check(
        ask(user("alice", "member"), "document:read", document("doc-1")), request_id="r"
    )
    assert set(decision.reasons) == {
        "baseline.owner-manages-document",
        "baseline.members-read-open-documents",
    }


def test_every_invariant_is_a_property_the_baseline_is_built_on(catalog: PolicyCatalog) -> None:
    # The invariants cover each baseline forbid and the admin's own access (no lock-out).
    names = " ".join(case.name for case in catalog.golden if case.invariant)
    for topic in (
        "cross-tenant",
        "restricted",
        "administration",
        "viewer",
        "guest",
        "an admin can administer",
    ):
        assert topic in names


def test_a_tenant_policy_cannot_open_documents_to_guests(world: AuthzWorld) -> None:
    # Given a tenant policy that lets every principal read every document
    world.add_document("doc-1", "alice", classification=Classification.PUBLIC)
    world.add_document("doc-2", "alice", shared_with_users=frozenset({"gus"}))
    world.activate_policies(
        '@id("tenant.everyone-reads") permit (principal, action == Action::"document:read", resource);'
    )
    guest = user("gus", "guest")
    # When a guest reads a document nobody shared with them, and one shared with them by id
    closed = world.client.check(ask(guest, "document:read", document("doc-1")), request_id="r")
    shared = world.client.check(ask(guest, "document:read", document("doc-2")), request_id="r")
    # Then the guest forbid wins over the tenant's permit; the share by id still opens
    assert closed.effect is Effect.DENY
    assert closed.reasons == ("baseline.guest-reads-only-what-is-shared",)
    assert shared.effect is Effect.ALLOW
