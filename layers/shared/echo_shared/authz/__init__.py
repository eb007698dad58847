"""Echo's authorization: Cedar policies (baseline + per-tenant versions), decided in-process.

    from echo_shared.authz import AuthzRequest, EntityRef, Principal
    from echo_shared.authz.runtime import default_client

    decision = default_client().check(
        AuthzRequest(Principal.user(sub, tenant, roles), "document:read", EntityRef("Document", doc_id)),
        request_id=request_id,
    )
    if not decision.allowed: ...

Every decision is audited (`authz.decision`) before it is returned; any error denies.
"""

from typing import TYPE_CHECKING, Any

from echo_shared.authz.errors import (
    AuthzError,
    AuthzUnavailable,
    BatchTooLarge,
    DecisionNotAudited,
    InvalidAuthzRequest,
    ListTooLarge,
)
from echo_shared.authz.model import (
    AuthzRequest,
    Classification,
    Decision,
    DocumentMetadata,
    Effect,
    EntityRef,
    Principal,
    PrincipalType,
    ResourceList,
    ResourceType,
)

if TYPE_CHECKING:
    from echo_shared.authz.client import MAX_BATCH, MAX_LIST_CANDIDATES, AuthzClient, PolicyCache

_CLIENT_NAMES = frozenset({"MAX_BATCH", "MAX_LIST_CANDIDATES", "AuthzClient", "PolicyCache"})


def __getattr__(name: str) -> Any:
    """The client (and so cedarpy) loads on first use: the caller and model stay cheap to import
    for functions that only write actors or build principals (login, token service)."""
    if name in _CLIENT_NAMES:
        from echo_shared.authz import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MAX_BATCH",
    "MAX_LIST_CANDIDATES",
    "AuthzClient",
    "AuthzError",
    "AuthzRequest",
    "AuthzUnavailable",
    "BatchTooLarge",
    "Classification",
    "Decision",
    "DecisionNotAudited",
    "DocumentMetadata",
    "Effect",
    "EntityRef",
    "InvalidAuthzRequest",
    "ListTooLarge",
    "PolicyCache",
    "Principal",
    "PrincipalType",
    "ResourceList",
    "ResourceType",
]
