"""Typed request dependencies: the current principal and the adapters (overridable in tests)."""

import json
import re
from typing import Annotated, Any

from echo_shared.audit import AuditChainReader, ChainVerifier
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.kms import KmsCheckpointSigner
from echo_shared.audit.s3 import S3CheckpointStore
from echo_shared.authz import AuthzClient, AuthzRequest, EntityRef, ResourceType
from echo_shared.authz.caller import Caller, caller_from_authorizer
from echo_shared.authz.errors import AuthzUnavailable
from echo_shared.authz.runtime import default_client
from echo_shared.events import is_valid_tenant
from echo_shared.lazy import cached_resource
from echo_shared.logs import LogRepository
from echo_shared.logs.dynamodb import DynamoLogRepository
from fastapi import Depends, Request

from audit_api.errors import Unauthenticated
from audit_api.queries import ROLE_ADMIN, DecisionPoint, Principal
from audit_api.settings import AuditApiSettings, AuthMode

TENANT_HEADER = "x-echo-tenant"
API_KEY_SUBJECT = "api-key"
_SUBJECT = re.compile(r"^[^\x00-\x1f\x7f]{1,256}$")
_ROLE_SEPARATORS = re.compile(r"[\s,]+")


@cached_resource
def get_settings() -> AuditApiSettings:
    return AuditApiSettings.from_env()


@cached_resource
def _audit_chain() -> DynamoAuditChainRepository:
    settings = get_settings()
    return DynamoAuditChainRepository(settings.audit_chain_table, settings.audit_event_ids_table)


@cached_resource
def _log_repository() -> DynamoLogRepository:
    return DynamoLogRepository(get_settings().log_table)


@cached_resource
def _chain_verifier() -> ChainVerifier:
    settings = get_settings()
    return ChainVerifier(
        _audit_chain(),
        S3CheckpointStore(settings.checkpoint_bucket),
        KmsCheckpointSigner(settings.checkpoint_key_id),
    )


def get_audit_reader() -> AuditChainReader:
    return _audit_chain()


def get_log_repository() -> LogRepository:
    return _log_repository()


def get_chain_verifier() -> ChainVerifier:
    return _chain_verifier()


def get_current_principal(
    request: Request, settings: Annotated[AuditApiSettings, Depends(get_settings)]
) -> Principal:
    """`api-key` (local/dev only): API Gateway checked the key; the tenant comes from a header and
    the caller is a tenant admin. `authorizer`: tenant, subject and roles from the Lambda authorizer."""
    if settings.auth_mode is AuthMode.API_KEY:
        tenant = request.headers.get(TENANT_HEADER)
        if tenant is None or not is_valid_tenant(tenant):
            raise Unauthenticated("missing or invalid X-Echo-Tenant header")
        return Principal(tenant=tenant, subject=API_KEY_SUBJECT, roles=frozenset({ROLE_ADMIN}))
    event: dict[str, Any] = request.scope.get("aws.event") or {}
    request_context = event.get("requestContext") or {}
    context = request_context.get("authorizer") or {}
    tenant = context.get("tenant")
    subject = context.get("sub") or context.get("principalId")
    if not isinstance(tenant, str) or not is_valid_tenant(tenant):
        raise Unauthenticated("no authenticated tenant")
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        raise Unauthenticated("no authenticated subject")
    decide = None
    if settings.authz_decisions:
        decide = _cedar_decision_point(
            caller_from_authorizer(context), str(request_context.get("requestId", ""))
        )
    # Audit records name their actor `user:<sub>` / `client:<id>`: the caller's own trail is that actor's.
    actor = _actor(context, subject)
    return Principal(tenant=tenant, subject=actor, roles=_roles(context.get("roles")), decide=decide)


def _actor(context: dict[str, Any], subject: str) -> str:
    if context.get("token_type") == "client":
        client_id = context.get("client_id")
        return f"client:{client_id if isinstance(client_id, str) and client_id else subject}"
    return f"user:{subject}"


def _cedar_decision_point(caller: Caller, request_id: str) -> DecisionPoint:
    """Each route asks the authz library once, in-process; the decision is audited like any other."""

    def decide(action: str) -> bool:
        decision = get_authz_client().check(
            AuthzRequest(caller.principal, action, EntityRef(ResourceType.TENANT.value, caller.tenant)),
            request_id=request_id,
            asked_by=caller.label,
        )
        if decision.unavailable:
            raise AuthzUnavailable("the audit API cannot be authorized right now")
        return decision.allowed

    return decide


def get_authz_client() -> AuthzClient:
    return default_client()


def _roles(raw: object) -> frozenset[str]:
    """Authorizer context values are strings: a JSON array, or names separated by spaces/commas."""
    if isinstance(raw, str) and raw.strip().startswith("["):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return frozenset()
    if isinstance(raw, list):
        return frozenset(role for role in raw if isinstance(role, str) and role)
    if isinstance(raw, str):
        return frozenset(role for role in _ROLE_SEPARATORS.split(raw) if role)
    return frozenset()


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]
AuditReader = Annotated[AuditChainReader, Depends(get_audit_reader)]
LogReader = Annotated[LogRepository, Depends(get_log_repository)]
Verifier = Annotated[ChainVerifier, Depends(get_chain_verifier)]
