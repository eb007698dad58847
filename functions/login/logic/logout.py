"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): where to send the browser after.

A redirect only ever goes to a `post_logout_redirect_uri` registered for the client named by a
valid `id_token_hint` (our signature, our issuer) or by `client_id`; anything else ends on our page.
"""

from dataclasses import dataclass

from echo_shared.identity.errors import TokenRejected

from login.logic import LoginService
from login.logic.authorization import with_query

MAX_STATE_LENGTH = 512


@dataclass(frozen=True, slots=True)
class LogoutTarget:
    client_id: str | None
    redirect_uri: str | None
    state: str | None

    def location(self) -> str | None:
        if self.redirect_uri is None:
            return None
        return with_query(self.redirect_uri, {"state": self.state})


def logout_target(service: LoginService, params: dict[str, str]) -> LogoutTarget:
    client_id = params.get("client_id")
    hint = params.get("id_token_hint")
    if hint:
        try:
            claims = service.verifier.verify_id_token_hint(hint, client_id=client_id)
        except TokenRejected:
            return LogoutTarget(None, None, None)
        audience = claims.get("aud")
        client_id = audience if isinstance(audience, str) else None
    state = params.get("state")
    if state is not None and len(state) > MAX_STATE_LENGTH:
        state = None
    requested = params.get("post_logout_redirect_uri")
    client = service.clients.get(client_id) if client_id else None
    if client is None or requested is None or not client.has_post_logout_redirect_uri(requested):
        return LogoutTarget(client_id if client else None, None, None)
    return LogoutTarget(client.client_id, requested, state)
