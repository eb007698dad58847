"""Identity domain errors, on Echo's one error base (echo_shared.errors): each class states its
HTTP status, Echo's typed-body code and its OAuth error code (RFC 6749 §5.2, RFC 6750 §3.1, OIDC
Core §3.1.2.6), and echo_shared.web maps them all in one handler. Messages are safe to return to
callers and never quote secrets, tokens or passwords.
"""

from echo_shared.errors import (
    Conflict,
    EchoError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "AccessDenied",
    "CodeReplayed",
    "Conflict",
    "EmailTaken",
    "FamilyRevoked",
    "Forbidden",
    "IdentityError",
    "IdentityStoreUnavailable",
    "InsufficientScope",
    "InvalidClient",
    "InvalidGrant",
    "InvalidInput",
    "InvalidRequest",
    "InvalidScope",
    "InvalidToken",
    "LoginRequired",
    "NotFound",
    "OAuthError",
    "PasswordRejected",
    "RefreshTokenReused",
    "SigningUnavailable",
    "TemporarilyUnavailable",
    "TokenRejected",
    "Unauthenticated",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "VerificationTokenExpired",
    "VerificationTokenInvalid",
    "VerificationTokenUsed",
]

IdentityError = EchoError


class OAuthError(EchoError):
    """A protocol error: the OAuth error code is also Echo's code."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.code = cls.oauth_error


class InvalidRequest(OAuthError):
    oauth_error = "invalid_request"


class InvalidClient(OAuthError):
    status, oauth_error = 401, "invalid_client"


class InvalidGrant(OAuthError):
    oauth_error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    oauth_error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    oauth_error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    oauth_error = "unsupported_response_type"


class InvalidScope(OAuthError):
    oauth_error = "invalid_scope"


class InvalidTarget(OAuthError):
    """RFC 8707 2: a `resource` this server does not issue tokens for."""

    oauth_error = "invalid_target"


class AccessDenied(OAuthError):
    status, oauth_error = 403, "access_denied"


class LoginRequired(OAuthError):
    status, oauth_error = 401, "login_required"


class InvalidToken(OAuthError):
    """RFC 6750: the bearer token is missing, malformed, expired, revoked or otherwise invalid."""

    status, oauth_error = 401, "invalid_token"


class InsufficientScope(OAuthError):
    status, oauth_error = 403, "insufficient_scope"


class TemporarilyUnavailable(Unavailable):
    pass


class PasswordRejected(InvalidInput):
    pass


class EmailTaken(Conflict):
    pass


class VerificationTokenInvalid(InvalidInput):
    """Malformed, unknown or forged: the same answer for each, so none can be told apart."""

    code = "verification_token_invalid"


class VerificationTokenExpired(InvalidInput):
    code = "verification_token_expired"


class VerificationTokenUsed(Conflict):
    code = "verification_token_used"


class IdentityStoreUnavailable(Unavailable):
    """DynamoDB throttled or failed; the caller may retry."""


class SigningUnavailable(Unavailable):
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
