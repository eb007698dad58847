"""Who is calling: the claims the Lambda authorizer put in `requestContext.authorizer`."""

from dataclasses import dataclass

from echo_shared.events import is_valid_tenant
from echo_shared.identity.claims import PrincipalType, Role
from echo_shared.identity.errors import Forbidden, Unauthenticated
from echo_shared.identity.web import lambda_event
from fastapi import Request


@dataclass(frozen=True, slots=True)
class Caller:
    subject: str
    tenant: str
    roles: frozenset[str]
    principal_type: PrincipalType

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN.value in self.roles

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this needs the admin role")

    def require_user(self) -> None:
        if self.principal_type is not PrincipalType.USER:
            raise Forbidden("this needs a user's access token")


def caller_from_request(request: Request) -> Caller:
    """API Gateway only invokes these routes after the authorizer allowed the token."""
    context = (lambda_event(request).get("requestContext") or {}).get("authorizer") or {}
    subject, tenant = context.get("sub"), context.get("tenant")
    if (
        not isinstance(subject, str)
        or not subject
        or not isinstance(tenant, str)
        or not is_valid_tenant(tenant)
    ):
        raise Unauthenticated("no verified caller")
    try:
        principal_type = PrincipalType(str(context.get("token_type")))
    except ValueError:
        raise Unauthenticated("no verified caller") from None
    roles = frozenset(str(context.get("roles") or "").split())
    return Caller(subject=subject, tenant=tenant, roles=roles, principal_type=principal_type)
