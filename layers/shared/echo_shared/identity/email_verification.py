"""Email verification: a single-use, expiring token proves that a user receives mail at their email.

A token is `<verification id>.<secret>`: the id (128 bits) names the stored record, the secret
(256 bits) is stored only as its SHA-256 digest and checked with a constant-time compare, so a
table read cannot verify anyone and a wrong secret for a real id takes as long as any other. The
record is bound to the email it was sent to (its digest), so it cannot verify a changed address.
Redemption is one conditional write: two clicks race, one wins, the other is `used`.

The verified-email rule (decision, issue 7): a *guest* of a tenant whose email domain the tenant
vouches for (`MEMBER_EMAIL_DOMAINS`, e.g. `demo=demo.echo.test`) becomes a `member` once their
email is verified; everyone else keeps their roles, and an admin promotes them (PUT /users/{id}/roles).
"""

import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from echo_shared.identity.claims import Role
from echo_shared.identity.errors import (
    VerificationTokenExpired,
    VerificationTokenInvalid,
    VerificationTokenUsed,
)
from echo_shared.identity.grants import handle_digest
from echo_shared.identity.users import User

VERIFICATION_TTL_SECONDS = 24 * 3600
VERIFY_EMAIL_PATH = "/verify-email"
_ID_BYTES = 16
_SECRET_BYTES = 32
_ID_LENGTH = 22  # base64url of 16 bytes, unpadded
_SECRET_LENGTH = 43  # base64url of 32 bytes, unpadded
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

if TYPE_CHECKING:
    from echo_shared.events.envelope import EventEnvelope  # annotations only: no pydantic import here


@dataclass(frozen=True, slots=True)
class EmailVerification:
    verification_id: str
    tenant: str
    user_id: str
    email_digest: str
    secret_digest: str
    expires_at: int
    used_at: int | None = None


@dataclass(frozen=True, slots=True)
class IssuedVerification:
    """What the mail carries (`token`, in `link`) and what is stored (`record`, digests only)."""

    token: str
    link: str
    record: EmailVerification


class EmailVerificationStore(Protocol):
    def put_verification(
        self, verification: EmailVerification, *, events: Sequence["EventEnvelope"] = ()
    ) -> None:
        """Store it together with `events` (the notification that carries its link), atomically."""
        ...

    def get_verification(self, verification_id: str) -> EmailVerification | None: ...

    def use_verification(self, verification_id: str, *, now: int) -> None:
        """Mark it used only if it is not yet used (conditional); raises VerificationTokenUsed."""
        ...


def email_digest(email: str) -> str:
    return handle_digest(email)


def issue_verification(
    user: User, *, issuer_url: str, now: int, ttl: int = VERIFICATION_TTL_SECONDS
) -> IssuedVerification:
    verification_id = secrets.token_urlsafe(_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    token = f"{verification_id}.{secret}"
    record = EmailVerification(
        verification_id=verification_id,
        tenant=user.tenant,
        user_id=user.user_id,
        email_digest=email_digest(user.email),
        secret_digest=handle_digest(secret),
        expires_at=now + ttl,
    )
    return IssuedVerification(token, f"{issuer_url}{VERIFY_EMAIL_PATH}?token={token}", record)


def _split(token: str) -> tuple[str, str]:
    verification_id, dot, secret = token.partition(".")
    if (
        not dot
        or len(verification_id) != _ID_LENGTH
        or len(secret) != _SECRET_LENGTH
        or not _ALPHABET.issuperset(verification_id + secret)
    ):
        raise VerificationTokenInvalid("this verification link is not valid")
    return verification_id, secret


def redeem_verification(store: EmailVerificationStore, token: str, *, now: int) -> EmailVerification:
    """The stored record of a genuine, live, unused token, now marked used. Forged and unknown
    tokens are `invalid` (the secret is compared before anything else is told); a genuine one is
    then `used` or `expired`."""
    verification_id, secret = _split(token)
    record = store.get_verification(verification_id)
    expected = record.secret_digest if record is not None else handle_digest("")
    if not hmac.compare_digest(expected, handle_digest(secret)) or record is None:
        raise VerificationTokenInvalid("this verification link is not valid")
    if record.used_at is not None:
        raise VerificationTokenUsed("this verification link was already used")
    if record.expires_at <= now:
        raise VerificationTokenExpired("this verification link has expired; sign in to get a new one")
    store.use_verification(verification_id, now=now)
    return record


def _domain(email: str) -> str:
    return email.rpartition("@")[2]


def promotion_for(user: User, member_domains: Mapping[str, frozenset[str]]) -> tuple[Role, ...] | None:
    """The roles a just-verified user gets by the verified-email rule, or None to keep theirs."""
    if user.roles != (Role.GUEST,):
        return None
    if _domain(user.email) in member_domains.get(user.tenant, frozenset()):
        return (Role.MEMBER,)
    return None


def parse_member_domains(raw: str) -> dict[str, frozenset[str]]:
    """`tenant=domain[,domain] tenant=domain`: which tenants vouch for which email domains."""
    domains: dict[str, frozenset[str]] = {}
    for entry in raw.split():
        tenant, equals, names = entry.partition("=")
        if not equals or not tenant or not names:
            raise ValueError("MEMBER_EMAIL_DOMAINS entries are tenant=domain[,domain]")
        domains[tenant] = domains.get(tenant, frozenset()) | {
            n.strip().lower() for n in names.split(",") if n
        }
    return domains
