"""Consents: which scopes a user let a third-party client have, remembered per (tenant, user, client)
until the user revokes them. First-party clients (Echo's own apps) never need one."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from echo_shared.identity.clients import OAuthClient

if TYPE_CHECKING:
    from echo_shared.events.envelope import EventEnvelope  # annotations only: no pydantic import here

# What each scope lets an application do, in the words the consent page shows.
SCOPE_DESCRIPTIONS = {
    "openid": "Sign you in with your Echo account and know who you are",
    "profile": "See your roles in your organisation",
    "email": "See your email address",
    "offline_access": "Keep access while you are not using it",
    "documents:read": "Read your documents and ask questions about them",
    "documents:write": "Upload, change, share and delete your documents",
    "audit:read": "Read your organisation's audit trail",
    "logs:read": "Read the application logs",
    "users:admin": "Manage your organisation's users",
    "authz:admin": "Change your organisation's access policies",
    "authz:check": "Ask Echo what users are allowed to do",
}


def describe_scope(scope: str) -> str:
    return SCOPE_DESCRIPTIONS.get(scope, f"Use the permission {scope!r}")


@dataclass(frozen=True, slots=True)
class Consent:
    """`granted_at` is when the user first agreed since they last revoked: refresh-token families
    started before it were started under a consent that was withdrawn."""

    tenant: str
    user_id: str
    client_id: str
    scopes: frozenset[str]
    granted_at: int
    updated_at: int

    def covers(self, scopes: tuple[str, ...] | frozenset[str]) -> bool:
        return set(scopes) <= self.scopes


class ConsentStore(Protocol):
    def get_consent(self, tenant: str, user_id: str, client_id: str) -> Consent | None: ...

    def put_consent(self, consent: Consent, *, events: Sequence["EventEnvelope"] = ()) -> None:
        """Store the consent with `events` in the outbox, in one transaction (ADR 0014)."""
        ...

    def list_consents(self, tenant: str, user_id: str) -> list[Consent]: ...

    def delete_consent(self, consent: Consent, *, events: Sequence["EventEnvelope"] = ()) -> bool:
        """Delete the consent as it was read (`consent`), with `events` in the outbox, in one
        transaction; False (and nothing written) if it is gone or changed since."""
        ...

    def delete_user_consents(self, tenant: str, user_id: str) -> int:
        """Delete every consent of the user; returns how many there were."""
        ...


def scopes_to_consent(
    client: OAuthClient, requested: tuple[str, ...], remembered: Consent | None, *, prompt: bool
) -> tuple[str, ...]:
    """The requested scopes the user has not agreed to yet (all of them with `prompt=consent`);
    empty when the request may be answered without asking."""
    if client.first_party:
        return ()
    if prompt or remembered is None:
        return requested
    return tuple(scope for scope in requested if scope not in remembered.scopes)


def consent_still_given(
    client: OAuthClient, consent: Consent | None, scopes: tuple[str, ...], since: int
) -> bool:
    """Whether a grant to `client` started at `since` for `scopes` still rests on a live consent: one
    that covers the scopes and was not withdrawn (and given anew) after the grant began."""
    if client.first_party:
        return True
    return consent is not None and consent.covers(scopes) and consent.granted_at <= since
