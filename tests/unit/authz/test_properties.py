"""Properties that hold for any tenant policies and any question (Hypothesis).

- nothing crosses tenants, whatever the tenant permits;
- a tenant policy never lifts a baseline forbid;
- list returns exactly the documents for which check says allow.
"""

from echo_shared.authz import Classification, DocumentMetadata, Effect, EntityRef, Principal, ResourceType
from echo_shared.authz.catalog import packaged_catalog
from echo_shared.authz.engine import DecisionEngine, Evaluation
from echo_shared.authz.model import AuthzRequest, PrincipalType, ResourceFacts
from echo_shared.authz.store import ActivationKind, NewPolicyVersion
from echo_shared.timeutil import utc_now
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.unit.authz.factories import OTHER, TENANT, build_world

CATALOG = packaged_catalog()
ENGINE = DecisionEngine(CATALOG)
BASELINE_FORBIDS = frozenset(
    policy.annotations["id"]
    for policy in CATALOG.baseline.to_pst().static_policies.values()
    if policy.effect == "forbid"
)
ACTIONS = sorted(CATALOG.actions)
DOCUMENT_ACTIONS = sorted(a for a, spec in CATALOG.actions.items() if "Document" in spec.resource_types)
ROLES = ["admin", "member", "viewer", "auditor", "editor"]
SCOPES = ["documents:read", "audit:read", "authz:check", "policy:admin"]
PEOPLE = ["alice", "bob", "carol", "svc"]
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Tenant policies a careless or hostile tenant admin might write. Validity is not required here:
# whatever the tenant adds, the properties must hold.
TENANT_POLICY_SHAPES = [
    "permit (principal, action, resource);",
    'permit (principal in Role::"{role}", action == Action::"{action}", resource);',
    'permit (principal, action, resource is Document) when {{ resource.classification == "{classification}" }};',
    'permit (principal is Client, action, resource) when {{ principal.scopes.contains("{scope}") }};',
    "permit (principal, action, resource is Document) when {{ resource.tenant != principal.tenant }};",
    "permit (principal, action, resource is Tenant) when {{ resource != principal.tenant }};",
    'permit (principal == User::"{person}", action, resource);',
    "permit (principal, action, resource) when {{ context has mfa && context.mfa }};",
    'forbid (principal in Role::"{role}", action == Action::"{action}", resource);',
    'permit (principal, action, resource) unless {{ principal in Role::"{role}" }};',
    # Policies reading another user's facts: only the asker has an entity, in a batch as alone.
    "permit (principal, action, resource is Document) when {{ resource.owner.tenant == principal.tenant }};",
    'permit (principal, action, resource is Document) when {{ resource.owner in Role::"{role}" }};',
]


@st.composite
def tenant_policies(draw: st.DrawFn) -> str:
    shapes = draw(st.lists(st.sampled_from(TENANT_POLICY_SHAPES), max_size=4))
    return "\n".join(
        f'@id("tenant.p{i}") '
        + shape.format(
            role=draw(st.sampled_from(ROLES)),
            action=draw(st.sampled_from(ACTIONS)),
            classification=draw(st.sampled_from(list(Classification))).value,
            scope=draw(st.sampled_from(SCOPES)),
            person=draw(st.sampled_from(PEOPLE)),
        )
        for i, shape in enumerate(shapes)
    )


@st.composite
def principals(draw: st.DrawFn, tenant: st.SearchStrategy[str]) -> Principal:
    kind = draw(st.sampled_from(list(PrincipalType)))
    name = draw(st.sampled_from(PEOPLE))
    if kind is PrincipalType.CLIENT:
        return Principal.client(name, draw(tenant), frozenset(draw(st.sets(st.sampled_from(SCOPES)))))
    return Principal.user(name, draw(tenant), frozenset(draw(st.sets(st.sampled_from(ROLES)))))


@st.composite
def documents(
    draw: st.DrawFn, tenant: st.SearchStrategy[str], document_id: st.SearchStrategy[str]
) -> DocumentMetadata:
    return DocumentMetadata(
        tenant=draw(tenant),
        document_id=draw(document_id),
        owner=draw(st.sampled_from(PEOPLE)),
        shared_with_users=frozenset(draw(st.sets(st.sampled_from(PEOPLE)))),
        shared_with_roles=frozenset(draw(st.sets(st.sampled_from(ROLES)))),
        classification=draw(st.sampled_from(list(Classification))),
    )


@st.composite
def questions(draw: st.DrawFn, principal_tenant: str, resource_tenant: str, asked_in: str) -> Evaluation:
    """A question about a principal of `principal_tenant` and a resource of `resource_tenant`,
    asked in `asked_in` (whose policies decide)."""
    principal = draw(principals(st.just(principal_tenant)))
    action = draw(st.sampled_from(ACTIONS))
    context = draw(st.sampled_from([{}, {"mfa": True}, {"mfa": False}]))
    facts: ResourceFacts
    if "Document" in CATALOG.actions[action].resource_types:
        facts = draw(documents(st.just(resource_tenant), st.sampled_from(["d1", "d2"])))
        resource = facts.ref
    else:
        facts = resource = EntityRef(ResourceType.TENANT.value, resource_tenant)
    request = AuthzRequest(principal, action, resource, context, tenant=asked_in)
    return Evaluation(request, facts)


def _decide(policies: str, evaluation: Evaluation) -> tuple[Effect, tuple[str, ...]]:
    compiled = ENGINE.compile(TENANT, 1, policies)
    [outcome] = ENGINE.evaluate(compiled, [evaluation])
    return outcome.effect, outcome.reasons


@PROPERTY_SETTINGS
@given(
    policies=tenant_policies(),
    evaluation=st.one_of(
        questions(OTHER, TENANT, TENANT), questions(TENANT, OTHER, TENANT), questions(OTHER, OTHER, TENANT)
    ),
)
def test_cross_tenant_requests_are_never_allowed(policies: str, evaluation: Evaluation) -> None:
    event("with a tenant permit-all" if "permit (principal, action, resource);" in policies else "without")
    assert _decide(policies, evaluation)[0] is Effect.DENY


@PROPERTY_SETTINGS
@given(
    policies=tenant_policies(),
    evaluation=st.one_of(questions(TENANT, TENANT, TENANT), questions(OTHER, TENANT, TENANT)),
)
def test_a_tenant_policy_never_lifts_a_baseline_forbid(policies: str, evaluation: Evaluation) -> None:
    # Given a question the baseline alone denies because of a forbid
    effect, reasons = _decide("", evaluation)
    if effect is Effect.ALLOW or not BASELINE_FORBIDS.intersection(reasons):
        event("baseline does not forbid")
        return
    event("baseline forbids")
    # Then with any tenant policies on top it is still denied
    assert _decide(policies, evaluation)[0] is Effect.DENY


@PROPERTY_SETTINGS
@given(
    policies=tenant_policies(),
    principal=principals(st.sampled_from([TENANT, TENANT, OTHER])),
    action=st.sampled_from(DOCUMENT_ACTIONS),
    stored=st.lists(
        documents(st.sampled_from([TENANT, TENANT, OTHER]), st.sampled_from([f"d{i}" for i in range(8)])),
        max_size=8,
    ),
)
def test_list_equals_the_set_of_allowed_single_checks(
    policies: str, principal: Principal, action: str, stored: list[DocumentMetadata]
) -> None:
    # Given a tenant with these documents and these policies active (stored as-is, unvalidated)
    world = build_world(CATALOG)
    for document in stored:
        world.entities.add_document(document)
    version = world.store.create(NewPolicyVersion(TENANT, policies, "sha256:-", (), "", utc_now(), "t"))
    world.store.activate(
        TENANT, version.number, expected_revision=0, kind=ActivationKind.ACTIVATE, at=utc_now(), by="t"
    )
    # When the principal lists the documents of acme, and checks each one of them
    listing = world.client.list_resources(
        principal, action, ResourceType.DOCUMENT, request_id="r", tenant=TENANT
    )
    candidates = [d.document_id for d in world.entities.documents(TENANT)]
    checks = (
        world.client.check_batch(
            [
                AuthzRequest(principal, action, EntityRef("Document", d), {}, tenant=TENANT)
                for d in candidates
            ],
            request_id="r",
        )
        if candidates
        else []
    )
    # Then list returns exactly the allowed ones
    event("some allowed" if listing.resource_ids else "none allowed")
    assert sorted(listing.resource_ids) == sorted(d.request.resource.id for d in checks if d.allowed)
    assert listing.policy_version == "v1"
