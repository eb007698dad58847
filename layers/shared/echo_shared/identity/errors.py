"""Identity domain errors. They carry no HTTP status: `web.ERROR_TABLE` maps them in one place.

OAuth errors carry their protocol error code (RFC 6749 §5.2, RFC 6750 §3.1, OIDC Core §3.1.2.6),
which is part of the protocol, not of the transport. Messages are safe to return to callers and
never quote secrets, tokens or passwords.
"""

from typing import ClassVar


class IdentityError(Exception):
    """Base class: the message is safe to show to the caller."""


class OAuthError(IdentityError):
    error: ClassVar[str] = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"


class LoginRequired(OAuthError):
    error = "login_required"


class InvalidToken(OAuthError):
    """RFC 6750: the bearer token is missing, malformed, expired, revoked or otherwise invalid."""

    error = "invalid_token"


class InsufficientScope(OAuthError):
    error = "insufficient_scope"


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"


class InvalidInput(IdentityError):
    """A request value the domain refuses (email syntax, password policy, unknown role)."""


class PasswordRejected(InvalidInput):
    pass


class Unauthenticated(IdentityError):
    pass


class Forbidden(IdentityError):
    pass


class NotFound(IdentityError):
    pass


class Conflict(IdentityError):
    pass


class EmailTaken(Conflict):
    pass


class IdentityStoreUnavailable(IdentityError):
    """DynamoDB throttled or failed; the caller may retry."""


class SigningUnavailable(IdentityError):
    """No active signing key, or KMS refused or failed to sign."""


class TokenRejected(Exception):
    """A JWT failed verification. `reason` is a short code for logs and metrics, never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CodeReplayed(Exception):
    """An authorization code was presented again; carries what the first exchange issued."""

    def __init__(self, family_id: str | None, access_jti: str | None, access_exp: int | None) -> None:
        super().__init__("authorization code already used")
        self.family_id = family_id
        self.access_jti = access_jti
        self.access_exp = access_exp


class RefreshTokenReused(Exception):
    """An already-rotated refresh token was presented: its family must be revoked."""

    def __init__(self, family_id: str) -> None:
        super().__init__("refresh token reused")
        self.family_id = family_id


class FamilyRevoked(Exception):
    def __init__(self, family_id: str) -> None:
        super().__init__("refresh token family revoked")
        self.family_id = family_id
