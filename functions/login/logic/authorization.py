"""The authorization endpoint (OIDC Core §3.1.2, RFC 9700): validate, then answer with a code.

Until the client and its redirect URI are known to be genuine, errors are shown as a page (never
redirected: that would make us an open redirector). After that, errors go back to the client with
`state` and `iss` (RFC 9207). Only `response_type=code`, and PKCE with S256 only.
"""

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from echo_shared.identity.claims import parse_scope
from echo_shared.identity.clients import GrantType, OAuthClient
from echo_shared.identity.grants import (
    AuthorizationCode,
    AuthorizationRequest,
    Session,
    handle_digest,
    new_handle,
)
from echo_shared.identity.users import User

from login.logic import LoginService

_CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(SHA-256) is exactly 43 characters
MAX_STATE_LENGTH = 512
MAX_NONCE_LENGTH = 256
MAX_LOGIN_HINT_LENGTH = 254
MAX_AGE_LIMIT = 365 * 24 * 3600
SUPPORTED_PROMPTS = frozenset({"none", "login", "consent"})


class AuthorizationPageError(Exception):
    """The request cannot be trusted enough to redirect: show this message on our own page."""


class AuthorizationRedirectError(Exception):
    """A protocol error to send back to the (validated) client's redirect URI."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state

    def location(self, issuer: str) -> str:
        return with_query(
            self.redirect_uri,
            {"error": self.error, "error_description": self.description, "state": self.state, "iss": issuer},
        )


def with_query(uri: str, params: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def validate_request(
    service: LoginService, params: dict[str, list[str]]
) -> tuple[OAuthClient, AuthorizationRequest]:
    """Raises AuthorizationPageError before the redirect URI is trusted, AuthorizationRedirectError after."""
    single = _single_values(params)
    client_id = single.get("client_id")
    client = service.clients.get(client_id) if client_id and len(client_id) <= 128 else None
    if client is None:
        raise AuthorizationPageError("The application that sent you here is not registered.")
    redirect_uri = single.get("redirect_uri")
    if not redirect_uri or not client.has_redirect_uri(redirect_uri):
        raise AuthorizationPageError("The application sent you to an address it has not registered.")
    state = single.get("state")

    def fail(error: str, description: str) -> AuthorizationRedirectError:
        return AuthorizationRedirectError(error, description, redirect_uri, state)

    repeated = sorted(name for name, values in params.items() if len(values) > 1)
    if repeated:
        raise fail("invalid_request", f"parameter {repeated[0]} repeated")
    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise fail("invalid_request", "state is too long")
    if "request" in single:
        raise fail("request_not_supported", "request objects are not supported")
    if "request_uri" in single:
        raise fail("request_uri_not_supported", "request_uri is not supported")
    if single.get("response_type") != "code":
        raise fail("unsupported_response_type", "only response_type=code is supported")
    if single.get("response_mode", "query") != "query":
        raise fail("invalid_request", "only response_mode=query is supported")
    if not client.allows_grant(GrantType.AUTHORIZATION_CODE):
        raise fail("unauthorized_client", "the client may not use the authorization code flow")
    try:
        requested = parse_scope(single.get("scope", ""))
    except ValueError:
        raise fail("invalid_scope", "scope is required and must be well-formed") from None
    # OIDC Core 3.1.2.1: scope values that are not understood are ignored. Echo also leaves out
    # those the client is not registered for; the token response states what was granted.
    scope = tuple(name for name in requested if name in client.allowed_scopes)
    if not scope:
        raise fail("invalid_scope", "none of the requested scopes is available to this client")
    method = single.get("code_challenge_method")
    challenge = single.get("code_challenge")
    if not challenge or method is None:
        raise fail("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256")
    if method != "S256":
        raise fail("invalid_request", "only the S256 code_challenge_method is supported")
    if not _CODE_CHALLENGE.fullmatch(challenge):
        raise fail("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)")
    nonce = single.get("nonce")
    if nonce is not None and not 0 < len(nonce) <= MAX_NONCE_LENGTH:
        raise fail("invalid_request", "nonce is too long")
    prompts = set(single.get("prompt", "").split()) if single.get("prompt") else set()
    if not prompts <= SUPPORTED_PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise fail("invalid_request", "prompt must be none, login or consent (none alone)")
    try:
        max_age = _parse_max_age(single.get("max_age"))
    except ValueError:
        raise fail("invalid_request", "max_age must be a non-negative integer of seconds") from None
    resource = single.get("resource")
    if resource is not None and resource != service.audience:
        # RFC 8707 §2: Echo's API is the one resource server (ADR 0012); any other is refused.
        raise fail("invalid_target", "tokens are issued for this server's API only")
    login_hint = single.get("login_hint")
    if login_hint is not None and len(login_hint) > MAX_LOGIN_HINT_LENGTH:
        login_hint = None
    request = AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=challenge,
        state=state,
        nonce=nonce,
        prompt="none" if "none" in prompts else "login" if "login" in prompts else None,
        max_age=max_age,
        login_hint=login_hint,
        consent_prompt="consent" in prompts,
        resource=resource,
    )
    return client, request


def _single_values(params: dict[str, list[str]]) -> dict[str, str]:
    return {name: values[0] for name, values in params.items() if values}


def _parse_max_age(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_AGE_LIMIT:
        raise ValueError("max_age")
    return int(raw)


def session_satisfies(
    service: LoginService, session: Session | None, client: OAuthClient, request: AuthorizationRequest
) -> bool:
    """An existing session answers the request without a sign-in page (same tenant, fresh enough)."""
    if session is None or session.tenant != client.tenant or request.prompt == "login":
        return False
    return request.max_age is None or service.now() - session.auth_time <= request.max_age


def issue_code(service: LoginService, request: AuthorizationRequest, user: User, auth_time: int) -> str:
    """Store a single-use code (hash only), bound to the request's resource, and return the client
    redirect carrying it."""
    code = new_handle()
    now = service.now()
    service.codes.put_code(
        AuthorizationCode(
            code_hash=handle_digest(code),
            client_id=request.client_id,
            tenant=user.tenant,
            user_id=user.user_id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            code_challenge=request.code_challenge,
            auth_time=auth_time,
            expires_at=now + service.auth_code_ttl,
            nonce=request.nonce,
            resource=request.resource,
        )
    )
    return with_query(request.redirect_uri, {"code": code, "state": request.state, "iss": service.issuer_url})
