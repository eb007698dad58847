"""The authz API's caller rules: who may ask about whom (logic level, in-memory adapters)."""

import pytest
from authz import logic
from authz.errors import Forbidden, Unauthenticated
from authz.schemas import BatchIn, CheckIn, ListIn, PrincipalIn
from echo_shared.authz import BatchTooLarge, Effect, InvalidAuthzRequest, Principal, PrincipalType
from echo_shared.authz.caller import Caller, TokenType, caller_from_authorizer

from tests.unit.authz.factories import OTHER, TENANT, AuthzWorld


def _user(
    sub: str = "alice", roles: str = "member", scope: str = "openid audit:read documents:read"
) -> Caller:
    return caller_from_authorizer(
        {"sub": sub, "tenant": TENANT, "roles": roles, "scope": scope, "token_type": "user"}
    )


def _service(scope: str = "authz:check") -> Caller:
    return caller_from_authorizer(
        {
            "sub": "svc-query",
            "client_id": "svc-query",
            "tenant": TENANT,
            "scope": scope,
            "token_type": "client",
        }
    )


def _check(
    principal: dict[str, object], action: str = "audit:read", resource: dict[str, str] | None = None
) -> CheckIn:
    return CheckIn.model_validate(
        {"principal": principal, "action": action, "resource": resource or {"type": "Tenant", "id": TENANT}}
    )


def test_the_authorizer_context_becomes_a_typed_caller() -> None:
    caller = caller_from_authorizer(
        {
            "principalId": "u-1",
            "sub": "u-1",
            "tenant": TENANT,
            "roles": "admin  auditor",
            "scope": "openid profile",
            "client_id": "web",
            "token_type": "user",
            "jti": "t-1",
            "integrationLatency": 3,
        }
    )
    assert caller == Caller("u-1", TENANT, TokenType.USER, frozenset({"admin", "auditor"}),
                            frozenset({"openid", "profile"}), "web", "t-1")  # fmt: skip
    assert caller.principal == Principal.user("u-1", TENANT, {"admin", "auditor"}, {"openid", "profile"})
    assert caller.actor == "user:u-1"


def test_a_client_token_is_a_client_principal_with_its_scopes() -> None:
    caller = _service("authz:check documents:read")
    assert caller.principal == Principal.client("svc-query", TENANT, {"authz:check", "documents:read"})
    assert caller.actor == "client:svc-query"


@pytest.mark.parametrize(
    "context",
    [None, {}, {"sub": "u"}, {"tenant": TENANT}, {"sub": "u", "tenant": "bad tenant"},
     {"sub": "u", "tenant": TENANT, "token_type": "robot"}],
)  # fmt: skip
def test_no_usable_authorizer_context_is_unauthenticated(context: dict[str, object] | None) -> None:
    with pytest.raises(Unauthenticated):
        caller_from_authorizer(context)


def test_invalid_role_names_from_the_token_are_dropped_not_trusted() -> None:
    caller = caller_from_authorizer({"sub": "u", "tenant": TENANT, "roles": 'admin" || true member'})
    assert caller.roles == {"member", "true", "||"} - {"||"}


def test_a_user_asks_about_themselves_with_their_token_facts(world: AuthzWorld) -> None:
    decision = logic.check(world.client, world.entities, _user(roles="auditor"),
                           _check({"type": "User", "id": "alice"}), "r")  # fmt: skip
    assert decision.effect is Effect.ALLOW
    assert decision.request.principal.roles == {"auditor"}


def test_a_users_token_scopes_bound_their_roles(world: AuthzWorld) -> None:
    # Given an auditor whose token was granted documents:read only
    decision = logic.check(world.client, world.entities, _user(roles="auditor", scope="openid documents:read"),
                           _check({"type": "User", "id": "alice"}), "r")  # fmt: skip
    # Then the audit trail stays closed to it, and Cedar says why
    assert decision.effect is Effect.DENY
    assert decision.reasons == ("baseline.scope-bound.audit-read",)


@pytest.mark.parametrize(
    "principal",
    [
        {"type": "User", "id": "bob"},
        {"type": "Client", "id": "alice"},
        {"type": "User", "id": "alice", "roles": ["admin"]},
        {"type": "User", "id": "alice", "tenant": OTHER},
    ],
)
def test_a_user_may_not_ask_about_others_or_state_facts(
    world: AuthzWorld, principal: dict[str, object]
) -> None:
    with pytest.raises(Forbidden):
        logic.check(world.client, world.entities, _user(), _check(principal), "r")
    assert world.publisher.published == []


def test_a_client_needs_the_authz_check_scope(world: AuthzWorld) -> None:
    with pytest.raises(Forbidden, match="authz:check"):
        logic.check(world.client, world.entities, _service("documents:read"),
                    _check({"type": "User", "id": "bob"}), "r")  # fmt: skip


def test_a_client_asks_about_a_user_of_its_tenant_with_stated_roles(world: AuthzWorld) -> None:
    decision = logic.check(world.client, world.entities, _service(),
                           _check({"type": "User", "id": "bob", "roles": ["auditor"]}), "r")  # fmt: skip
    assert decision.effect is Effect.ALLOW
    assert decision.request.principal == Principal.user("bob", TENANT, {"auditor"})
    assert world.publisher.published[-1].data["asked_by"] == "client:svc-query"


def test_a_client_asks_about_a_known_user_without_stating_facts(world: AuthzWorld) -> None:
    world.entities.add_principal(Principal.user("bob", TENANT, {"admin"}))
    decision = logic.check(
        world.client, world.entities, _service(), _check({"type": "User", "id": "bob"}), "r"
    )
    assert decision.effect is Effect.ALLOW


def test_a_client_question_about_another_tenant_is_denied_and_audited(world: AuthzWorld) -> None:
    # Given a client of acme asking about an admin of globex, on globex's tenant
    question = _check({"type": "User", "id": "boss", "tenant": OTHER, "roles": ["admin"]}, "audit:read",
                      {"type": "Tenant", "id": OTHER})  # fmt: skip
    decision = logic.check(world.client, world.entities, _service(), question, "r")
    # Then the answer is deny by tenant isolation (the question crosses tenants), in acme's audit trail
    assert decision.effect is Effect.DENY
    assert decision.reasons == ("baseline.tenant-isolation.question",)
    record = world.publisher.published[-1]
    assert (record.tenant, record.data["principal_tenant"]) == (TENANT, OTHER)


def test_a_client_cannot_reach_another_tenants_documents(world: AuthzWorld) -> None:
    world.add_document("secret", "boss", tenant=OTHER)
    question = _check({"type": "User", "id": "boss", "tenant": OTHER}, "document:read",
                      {"type": "Document", "id": "secret"})  # fmt: skip
    decision = logic.check(world.client, world.entities, _service(), question, "r")
    assert decision.effect is Effect.DENY
    assert decision.errors == (f'resource Document::"secret" not found in tenant {TENANT}',)


def test_a_batch_of_101_is_refused(world: AuthzWorld) -> None:
    batch = BatchIn.model_validate({"requests": [_check({"type": "User", "id": "alice"}).model_dump()] * 101})
    with pytest.raises(BatchTooLarge, match="at most 100"):
        logic.check_batch(world.client, world.entities, _user(), batch.requests, "r")


def test_list_refuses_an_unknown_resource_type(world: AuthzWorld) -> None:
    question = ListIn.model_validate(
        {"principal": {"type": "User", "id": "alice"}, "action": "document:read", "resource_type": "Folder"}
    )
    with pytest.raises(InvalidAuthzRequest, match="unknown resource type"):
        logic.list_resources(world.client, world.entities, _user(), question, "r")


def test_an_unknown_principal_type_from_a_client_is_refused(world: AuthzWorld) -> None:
    with pytest.raises(InvalidAuthzRequest, match="unknown principal entity type"):
        logic.principal_for(world.entities, _service(), PrincipalIn(type="Robot", id="r2"))


def test_policy_administration_is_an_audited_admin_decision(world: AuthzWorld) -> None:
    admin = _user("root", roles="admin", scope="openid authz:admin")
    assert logic.authorize_policy_admin(world.client, admin, "r").allowed
    with pytest.raises(Forbidden, match="admin role"):
        logic.authorize_policy_admin(world.client, _user(roles="member auditor", scope="authz:admin"), "r")
    with pytest.raises(Forbidden):
        logic.authorize_policy_admin(world.client, _user("root", roles="admin", scope="documents:read"), "r")
    with pytest.raises(Forbidden):
        logic.authorize_policy_admin(world.client, _service("authz:check policy:admin"), "r")
    decisions = [e.data["decision"] for e in world.publisher.published]
    assert decisions == ["allow", "deny", "deny", "deny"]


@pytest.mark.parametrize(("label", "number"), [("v3", 3), ("3", 3), ("v0", 0)])
def test_version_labels(label: str, number: int) -> None:
    assert logic.parse_version(label) == number


@pytest.mark.parametrize("label", ["", "x3", "v-1", "v1.2", "v12345678901"])
def test_bad_version_labels(label: str) -> None:
    with pytest.raises(InvalidAuthzRequest):
        logic.parse_version(label)


def test_principal_types_are_the_schemas() -> None:
    assert {t.value for t in PrincipalType} == {"User", "Client"}
