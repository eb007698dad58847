"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3).

A client authenticates with exactly the method it registered: `client_secret_basic`,
`client_secret_post`, or `none` (public clients only, which must then prove possession with PKCE).
Secrets are verified with a keyed hash (echo_shared.identity.client_secrets); an unknown client
costs the same HMAC and constant-time compare.
"""

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from echo_shared.identity.client_secrets import ClientSecretHasher
from echo_shared.identity.clients import AuthMethod, ClientRepository, OAuthClient
from echo_shared.identity.errors import InvalidClient, InvalidRequest

MAX_CLIENT_ID_LENGTH = 128
MAX_SECRET_LENGTH = 256


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    secret: str | None
    method: AuthMethod


def read_client_credentials(params: dict[str, str], authorization: str | None) -> ClientCredentials:
    basic = _parse_basic(authorization) if authorization else None
    if basic is not None:
        if "client_secret" in params:
            raise InvalidRequest("use exactly one client authentication method")
        basic_id, basic_secret = basic
        if params.get("client_id", basic_id) != basic_id:
            raise InvalidRequest("client_id does not match the authenticated client")
        return ClientCredentials(basic_id, basic_secret, AuthMethod.SECRET_BASIC)
    client_id = params.get("client_id")
    if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
        raise InvalidClient("client authentication failed")
    posted_secret = params.get("client_secret")
    if posted_secret is not None:
        return ClientCredentials(client_id, posted_secret[:MAX_SECRET_LENGTH], AuthMethod.SECRET_POST)
    return ClientCredentials(client_id, None, AuthMethod.NONE)


def _parse_basic(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise InvalidClient("client authentication failed")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("client authentication failed") from None
    client_id, separator, secret = decoded.partition(":")
    if not separator or not client_id:
        raise InvalidClient("client authentication failed")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    return unquote_plus(client_id)[:MAX_CLIENT_ID_LENGTH], unquote_plus(secret)[:MAX_SECRET_LENGTH]


def authenticate_client(
    credentials: ClientCredentials, clients: ClientRepository, secrets: ClientSecretHasher
) -> OAuthClient:
    client = clients.get(credentials.client_id)
    if client is None or credentials.method is not client.auth_method:
        if credentials.secret is not None:
            secrets.verify(credentials.secret, None)
        raise InvalidClient("client authentication failed")
    if client.auth_method is AuthMethod.NONE:
        # A confidential client (one that was given a secret, or client credentials) never
        # authenticates with `none`, whatever its registration says.
        if client.is_confidential:
            raise InvalidClient("client authentication failed")
        return client
    if credentials.secret is None or not secrets.verify(credentials.secret, client.secret_hash):
        raise InvalidClient("client authentication failed")
    return client


def require_confidential(client: OAuthClient) -> OAuthClient:
    if not client.is_confidential or client.auth_method is AuthMethod.NONE:
        raise InvalidClient("this endpoint is for confidential clients")
    return client
