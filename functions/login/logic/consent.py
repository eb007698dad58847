"""Consent for third-party clients (OIDC Core §3.1.2.4): asked once per (tenant, user, client) and
again only for scopes not yet granted or with `prompt=consent`; listed and revoked by the user."""

from dataclasses import dataclass

from echo_shared.authz.caller import user_actor
from echo_shared.identity.claims import format_scope
from echo_shared.identity.clients import OAuthClient
from echo_shared.identity.consents import Consent, describe_scope, scopes_to_consent
from echo_shared.identity.events import IdentityEvent
from echo_shared.identity.grants import AuthorizationRequest
from echo_shared.identity.users import User

from login.logic import LoginService
from login.logic.authorization import AuthorizationRedirectError, issue_code


@dataclass(frozen=True, slots=True)
class ScopeLine:
    """One line of the consent page (or of the list of consents)."""

    scope: str
    description: str
    already_granted: bool = False


@dataclass(frozen=True, slots=True)
class ConsentListing:
    client_id: str
    client_name: str
    scopes: tuple[ScopeLine, ...]


def pending_consent(
    service: LoginService, client: OAuthClient, request: AuthorizationRequest, user: User
) -> tuple[str, ...]:
    """The scopes the user must still agree to before a code is issued (empty: answer at once)."""
    if client.first_party:
        return ()
    remembered = service.consents.get_consent(user.tenant, user.user_id, client.client_id)
    return scopes_to_consent(client, request.scope, remembered, prompt=request.consent_prompt)


def consent_lines(request: AuthorizationRequest, pending: tuple[str, ...]) -> tuple[ScopeLine, ...]:
    return tuple(ScopeLine(scope, describe_scope(scope), scope not in pending) for scope in request.scope)


def consent_required(request: AuthorizationRequest) -> AuthorizationRedirectError:
    """`prompt=none` when consent is needed (OIDC Core §3.1.2.6)."""
    return AuthorizationRedirectError(
        "consent_required", "the user must consent to this application", request.redirect_uri, request.state
    )


def decide(
    service: LoginService,
    request: AuthorizationRequest,
    user: User,
    auth_time: int,
    *,
    approved: bool,
    request_id: str,
) -> str:
    """The user's answer on the consent page: the redirect back to the client, with a code for the
    approved scopes or `access_denied`."""
    if not approved:
        denied = AuthorizationRedirectError(
            "access_denied", "the user denied access", request.redirect_uri, request.state
        )
        return denied.location(service.issuer_url)
    grant_consent(service, user, request.client_id, request.scope, request_id=request_id)
    return issue_code(service, request, user, auth_time)


def grant_consent(
    service: LoginService, user: User, client_id: str, scope: tuple[str, ...], *, request_id: str
) -> Consent:
    """Remember `scope` for the client, on top of what was granted before (same `granted_at`)."""
    now = service.now()
    existing = service.consents.get_consent(user.tenant, user.user_id, client_id)
    consent = Consent(
        tenant=user.tenant,
        user_id=user.user_id,
        client_id=client_id,
        scopes=frozenset(scope) | (existing.scopes if existing else frozenset()),
        granted_at=existing.granted_at if existing else now,
        updated_at=now,
    )
    granted = service.events.build(
        IdentityEvent.CONSENT_GRANTED,
        tenant=user.tenant,
        actor=user_actor(user.user_id),
        resource=f"client/{client_id}",
        request_id=request_id,
        data={"client_id": client_id, "scope": format_scope(scope), "granted": format_scope(consent.scopes)},
    )
    service.consents.put_consent(consent, events=[granted])
    return consent


def list_consents(service: LoginService, user: User) -> list[ConsentListing]:
    listings = []
    for consent in service.consents.list_consents(user.tenant, user.user_id):
        client = service.clients.get(consent.client_id)
        listings.append(
            ConsentListing(
                client_id=consent.client_id,
                client_name=client.name if client is not None else consent.client_id,
                scopes=tuple(ScopeLine(s, describe_scope(s)) for s in sorted(consent.scopes)),
            )
        )
    return listings


def revoke_consent(service: LoginService, user: User, client_id: str, *, request_id: str) -> bool:
    """Forget the consent. The client's refresh-token families for this user stop working at once:
    the token service refuses (and revokes) a family whose consent is gone or was given anew after
    the family started."""
    consent = service.consents.get_consent(user.tenant, user.user_id, client_id)
    if consent is None:
        return False
    revoked = service.events.build(
        IdentityEvent.CONSENT_REVOKED,
        tenant=user.tenant,
        actor=user_actor(user.user_id),
        resource=f"client/{client_id}",
        request_id=request_id,
        data={"client_id": client_id, "scope": format_scope(consent.scopes)},
    )
    # The deletion and its consent.revoked commit together; a consent granted anew in between
    # is not deleted by a revocation of what it replaced (the page shows it again).
    return service.consents.delete_consent(consent, events=[revoked])
