"""Authz API logic: who may ask about whom, and the policy administration guard.

Users ask only about themselves, with the facts of their own token. Service clients holding the
`authz:check` scope ask about any principal; the asker's tenant always decides, so a principal
or resource of another tenant meets the baseline's tenant-isolation forbid and is denied (audited).
"""

import re
from collections.abc import Sequence

from echo_shared.authz import (
    MAX_BATCH,
    AuthzClient,
    AuthzRequest,
    AuthzUnavailable,
    BatchTooLarge,
    Decision,
    EntityRef,
    InvalidAuthzRequest,
    Principal,
    PrincipalType,
    ResourceList,
    ResourceType,
)
from echo_shared.authz.admin import PolicyAdministration
from echo_shared.authz.caller import Caller, TokenType
from echo_shared.authz.entities import EntityProvider
from echo_shared.authz.errors import EntityStoreUnavailable
from echo_shared.authz.store import Activation, ActivationKind
from echo_shared.observability import count

from authz.errors import Forbidden
from authz.schemas import CheckIn, ListIn, PrincipalIn

CHECK_SCOPE = "authz:check"
POLICY_ADMIN_ACTION = "policy:admin"
_VERSION = re.compile(r"^v?(\d{1,9})$")


def check(
    client: AuthzClient, entities: EntityProvider, caller: Caller, question: CheckIn, request_id: str
) -> Decision:
    request = _request(entities, caller, question)
    decision = client.check(request, request_id=request_id, asked_by=caller.actor)
    _count([decision])
    return decision


def check_batch(
    client: AuthzClient,
    entities: EntityProvider,
    caller: Caller,
    questions: Sequence[CheckIn],
    request_id: str,
) -> list[Decision]:
    if len(questions) > MAX_BATCH:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH} requests, got {len(questions)}")
    requests = [_request(entities, caller, question) for question in questions]
    decisions = client.check_batch(requests, request_id=request_id, asked_by=caller.actor)
    _count(decisions)
    return decisions


def list_resources(
    client: AuthzClient, entities: EntityProvider, caller: Caller, question: ListIn, request_id: str
) -> ResourceList:
    try:
        resource_type = ResourceType(question.resource_type)
    except ValueError:
        raise InvalidAuthzRequest(f"unknown resource type {question.resource_type!r}") from None
    principal = principal_for(entities, caller, question.principal)
    count("AuthzListCalls")
    return client.list_resources(
        principal,
        question.action,
        resource_type,
        request_id=request_id,
        context=question.context,
        tenant=caller.tenant,
        asked_by=caller.actor,
    )


def authorize_policy_admin(client: AuthzClient, caller: Caller, request_id: str) -> Decision:
    """Policy administration is itself a (audited) decision: `policy:admin` on the caller's tenant.
    The baseline forbids it to anyone without the tenant `admin` role."""
    count("AuthzPolicyAdminCalls")
    decision = client.check(
        AuthzRequest(
            caller.principal, POLICY_ADMIN_ACTION, EntityRef(ResourceType.TENANT.value, caller.tenant)
        ),
        request_id=request_id,
        asked_by=caller.actor,
    )
    if decision.allowed:
        return decision
    if decision.unavailable:
        raise AuthzUnavailable("policy administration cannot be authorized right now")
    raise Forbidden(f"policy administration needs the tenant admin role (decision {decision.decision_id})")


def move_active_version(
    client: AuthzClient,
    administration: PolicyAdministration,
    caller: Caller,
    label: str,
    kind: ActivationKind,
    request_id: str,
) -> Activation:
    """Activate or roll back; this container then decides on the new version at once (others
    within the refresh interval)."""
    authorize_policy_admin(client, caller, request_id)
    move = administration.rollback if kind is ActivationKind.ROLLBACK else administration.activate
    activation = move(caller.tenant, parse_version(label), actor=caller.actor, request_id=request_id)
    client.policies.invalidate(caller.tenant)
    return activation


def parse_version(label: str) -> int:
    match = _VERSION.fullmatch(label)
    if match is None:
        raise InvalidAuthzRequest("a policy version looks like v3 (or 3)")
    return int(match[1])


def principal_for(entities: EntityProvider, caller: Caller, asked: PrincipalIn) -> Principal:
    if caller.token_type is TokenType.USER:
        if asked.type != PrincipalType.USER.value or asked.id != caller.subject:
            raise Forbidden("users may only ask about themselves")
        if asked.states_facts or asked.tenant not in (None, caller.tenant):
            raise Forbidden("a user's roles and tenant come from their token")
        return caller.principal
    if CHECK_SCOPE not in caller.scopes:
        raise Forbidden(f"service clients need the {CHECK_SCOPE} scope")
    try:
        principal_type = PrincipalType(asked.type)
    except ValueError:
        raise InvalidAuthzRequest(f"unknown principal entity type {asked.type!r}") from None
    tenant = asked.tenant or caller.tenant
    if not asked.states_facts and tenant == caller.tenant:
        if principal_type is PrincipalType.CLIENT and asked.id == caller.principal.id:
            return caller.principal
        try:
            known = entities.principal(tenant, EntityRef(principal_type.value, asked.id))
        except EntityStoreUnavailable as exc:
            raise AuthzUnavailable("principal facts cannot be read right now") from exc
        if known is not None:
            return known
    # The client vouches for the facts it states; a principal of another tenant is still asked about
    # within the caller's tenant, where the baseline forbids every cross-tenant request.
    return Principal(
        type=principal_type,
        id=asked.id,
        tenant=tenant,
        roles=frozenset(asked.roles or ()),
        scopes=_asked_scopes(principal_type, asked.scopes),
    )


def _asked_scopes(principal_type: PrincipalType, scopes: Sequence[str] | None) -> frozenset[str] | None:
    """A client always has its scopes; a user named in a question is bound by scopes only if stated."""
    if scopes is None and principal_type is PrincipalType.USER:
        return None
    return frozenset(scopes or ())


def _count(decisions: Sequence[Decision]) -> None:
    allowed = sum(1 for decision in decisions if decision.allowed)
    count("AuthzAllowed", allowed)
    count("AuthzDenied", len(decisions) - allowed)
    count("AuthzFailedClosed", sum(1 for decision in decisions if decision.errors))


def _request(entities: EntityProvider, caller: Caller, question: CheckIn) -> AuthzRequest:
    principal = principal_for(entities, caller, question.principal)
    resource = EntityRef(question.resource.type, question.resource.id)
    return AuthzRequest(principal, question.action, resource, question.context, tenant=caller.tenant)
