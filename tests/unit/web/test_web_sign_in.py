"""Sign-in, sessions and sign-out of the backend-for-frontend, against in-memory fakes."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from web.errors import ApiRefused, BadInput, CsrfRejected, NotSignedIn, SignInFailed
from web.logic import (
    WebService,
    call_api,
    capabilities,
    current_session,
    finish_sign_in,
    require_csrf,
    safe_return_to,
    sign_out,
    start_sign_in,
)
from web.transport import HttpResponse

from tests.unit.web.fakes import ISSUER, Clock, FakeIdentity, MemorySessionStore


def signed_in(service: WebService, identity: FakeIdentity, tenant: str = "demo") -> tuple[str, object]:
    login_handle, url = start_sign_in(service, tenant, None)
    handle, session, _ = finish_sign_in(service, login_handle, identity.authorize(url))
    return handle, session


def test_authorization_request_uses_pkce_s256_state_and_nonce(service: WebService) -> None:
    # Given / When the sign-in starts
    _, url = start_sign_in(service, "demo", "/v1/app/ask")
    # Then the browser goes to the issuer's /authorize with every protection on
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32
    assert len(query["nonce"]) >= 32
    assert query["client_id"] == "echo-web-demo"
    assert query["redirect_uri"] == "https://app.echo.test/v1/app/callback"


def test_callback_creates_a_server_side_session_and_returns_where_asked(
    service: WebService, identity: FakeIdentity, store: MemorySessionStore
) -> None:
    # Given a started sign-in
    login_handle, url = start_sign_in(service, "demo", "/v1/app/ask")
    # When the identity service calls back with a code
    handle, session, return_to = finish_sign_in(service, login_handle, identity.authorize(url))
    # Then the tokens are stored server side, keyed by the handle's hash only
    assert return_to == "/v1/app/ask"
    assert session.tenant == "demo"
    assert session.user_id == "usr_1"
    assert handle not in store.sessions
    assert session.handle_hash in store.sessions
    assert store.sessions[session.handle_hash][0].access_token.startswith("at-")


def test_a_pending_sign_in_is_redeemed_once(service: WebService, identity: FakeIdentity) -> None:
    login_handle, url = start_sign_in(service, "demo", None)
    params = identity.authorize(url)
    finish_sign_in(service, login_handle, params)
    with pytest.raises(SignInFailed, match="already used"):
        finish_sign_in(service, login_handle, params)


def test_a_state_that_does_not_match_is_refused(service: WebService, identity: FakeIdentity) -> None:
    login_handle, url = start_sign_in(service, "demo", None)
    params = {**identity.authorize(url), "state": "forged"}
    with pytest.raises(SignInFailed, match="does not belong"):
        finish_sign_in(service, login_handle, params)


def test_a_missing_login_cookie_is_refused(service: WebService, identity: FakeIdentity) -> None:
    _, url = start_sign_in(service, "demo", None)
    with pytest.raises(SignInFailed):
        finish_sign_in(service, None, identity.authorize(url))


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"nonce": "another"}, "id_token_nonce"),
        ({"aud": "echo-web-other"}, "id_token_invalid_claim"),
        ({"iss": "https://evil.test"}, "id_token_invalid_claim"),
        ({"exp": 1_000}, "id_token_expired_token"),
        ({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, "id_token_at_hash"),
        ({"tenant": "other"}, "id_token_tenant"),
    ],
)
def test_id_tokens_with_bad_claims_are_refused(
    service: WebService, identity: FakeIdentity, override: dict[str, object], reason: str
) -> None:
    # Given an identity service whose ID token has one claim wrong
    identity.claims_override = override
    login_handle, url = start_sign_in(service, "demo", None)
    # When / Then the callback refuses it, saying which check failed
    with pytest.raises(SignInFailed, match=reason):
        finish_sign_in(service, login_handle, identity.authorize(url))


def test_an_id_token_signed_by_another_key_is_refused(service: WebService, identity: FakeIdentity) -> None:
    from joserfc.jwk import ECKey

    login_handle, url = start_sign_in(service, "demo", None)
    params = identity.authorize(url)
    identity.key, real = ECKey.generate_key("P-256", parameters={"kid": "k1"}), identity.key
    forged = identity.key
    identity.key = real  # JWKS still publishes the real key

    original = identity.id_token

    def forged_token(claims: dict[str, object], **_: object) -> str:
        identity.key = forged
        try:
            return original(claims)
        finally:
            identity.key = real

    identity.id_token = forged_token  # type: ignore[method-assign]
    with pytest.raises(SignInFailed, match="id_token_signature"):
        finish_sign_in(service, login_handle, params)


def test_an_unsigned_id_token_header_is_refused(service: WebService, identity: FakeIdentity) -> None:
    login_handle, url = start_sign_in(service, "demo", None)
    params = identity.authorize(url)
    original = identity.id_token

    def with_hs256(claims: dict[str, object], **_: object) -> str:
        token = original(claims)
        header = json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode()
        import base64

        return base64.urlsafe_b64encode(header).rstrip(b"=").decode() + "." + token.split(".", 1)[1]

    identity.id_token = with_hs256  # type: ignore[method-assign]
    with pytest.raises(SignInFailed, match="id_token_header"):
        finish_sign_in(service, login_handle, params)


def test_an_unknown_tenant_id_is_refused_before_anything(service: WebService) -> None:
    with pytest.raises(BadInput):
        start_sign_in(service, "no spaces allowed", None)


@pytest.mark.parametrize(
    "value", ["https://evil.test/", "//evil.test/v1/app/", "/elsewhere", "/v1/app/\\evil", None, ""]
)
def test_return_to_never_leaves_the_app(service: WebService, value: str | None) -> None:
    assert safe_return_to(service.settings, value) == "/v1/app/documents"


def test_idle_timeout_ends_the_session(service: WebService, identity: FakeIdentity, clock: Clock) -> None:
    handle, _ = signed_in(service, identity)
    clock.now += service.settings.session_idle_seconds + 1
    with pytest.raises(NotSignedIn):
        current_session(service, handle)


def test_activity_keeps_the_session_alive_until_the_absolute_timeout(
    service: WebService, identity: FakeIdentity, clock: Clock
) -> None:
    # Given a session used every 20 minutes
    handle, _ = signed_in(service, identity)
    step = service.settings.session_idle_seconds - 600
    elapsed = 0
    while elapsed + step < service.settings.session_absolute_seconds:
        clock.now += step
        elapsed += step
        current_session(service, handle)
    # When the absolute lifetime passes, Then it ends anyway
    clock.now += step
    with pytest.raises(NotSignedIn):
        current_session(service, handle)


def test_an_expiring_access_token_is_refreshed_server_side(
    service: WebService, identity: FakeIdentity, clock: Clock
) -> None:
    handle, first = signed_in(service, identity)
    clock.now += 900 - 30
    session = current_session(service, handle)
    assert session.access_token != first.access_token  # type: ignore[attr-defined]
    assert session.refresh_token in identity.refresh_tokens


def test_a_refused_refresh_ends_the_session(
    service: WebService, identity: FakeIdentity, clock: Clock, store: MemorySessionStore
) -> None:
    handle, session = signed_in(service, identity)
    identity.refresh_tokens.clear()  # the family was revoked
    clock.now += 900
    with pytest.raises(NotSignedIn):
        current_session(service, handle)
    assert session.handle_hash not in store.sessions  # type: ignore[attr-defined]


def test_csrf_token_and_origin_are_required(service: WebService, identity: FakeIdentity) -> None:
    handle, _ = signed_in(service, identity)
    session = current_session(service, handle)
    require_csrf(session, session.csrf_token, None, service.settings)
    require_csrf(session, session.csrf_token, "https://app.echo.test", service.settings)
    for token, origin in ((None, None), ("wrong", None), (session.csrf_token, "https://evil.test")):
        with pytest.raises(CsrfRejected):
            require_csrf(session, token, origin, service.settings)


def test_sign_out_deletes_the_session_and_hands_over_to_the_identity_logout(
    service: WebService, identity: FakeIdentity, store: MemorySessionStore
) -> None:
    handle, session = signed_in(service, identity)
    location = sign_out(service, current_session(service, handle))
    assert not store.sessions
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{ISSUER}/logout?")
    assert query["post_logout_redirect_uri"] == ["https://app.echo.test/v1/app/signed-out"]
    assert query["id_token_hint"] == [session.id_token]  # type: ignore[attr-defined]
    assert any(call[1] == f"{ISSUER}/revoke" for call in identity.calls)
    with pytest.raises(NotSignedIn):
        current_session(service, handle)


def test_api_calls_carry_the_access_token_and_pass_typed_errors_on(
    service: WebService, identity: FakeIdentity
) -> None:
    seen: list[str] = []

    def api(method: str, url: str, headers: object, body: bytes | None) -> HttpResponse:
        seen.append(headers["Authorization"])  # type: ignore[index]
        if url.endswith("/documents"):
            return HttpResponse(200, b'{"documents": []}')
        return HttpResponse(409, b'{"error": {"code": "conflict", "message": "already shared"}}')

    identity.api = api
    _handle, session = signed_in(service, identity)
    assert call_api(service, session, "GET", "documents") == {"documents": []}  # type: ignore[arg-type]
    with pytest.raises(ApiRefused) as refused:
        call_api(service, session, "POST", "documents/d1/share", body={})  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.code) == (409, "conflict")
    assert seen == [f"Bearer {session.access_token}"] * 2  # type: ignore[attr-defined]


def test_admin_capabilities_come_from_authz_decisions(service: WebService, identity: FakeIdentity) -> None:
    asked: list[dict[str, object]] = []

    def api(method: str, url: str, headers: object, body: bytes | None) -> HttpResponse:
        asked.append(json.loads(body or b"{}"))
        decisions = [{"decision": "allow"}, {"decision": "deny"}, {"decision": "allow"}, {"decision": "deny"}]
        return HttpResponse(200, json.dumps({"decisions": decisions}).encode())

    identity.api = api
    _, session = signed_in(service, identity)
    caps = capabilities(service, session)  # type: ignore[arg-type]
    assert (caps.users, caps.policies, caps.logs, caps.verify) == (True, False, True, False)
    assert asked[0]["requests"][0] == {  # type: ignore[index]
        "principal": {"type": "User", "id": "usr_1"},
        "action": "user:admin",
        "resource": {"type": "Tenant", "id": "demo"},
    }


def test_authz_refusing_the_question_means_no_admin(service: WebService, identity: FakeIdentity) -> None:
    identity.api = lambda *_: HttpResponse(403, b'{"error": {"code": "forbidden", "message": "no"}}')
    _, session = signed_in(service, identity)
    assert not capabilities(service, session).any_admin  # type: ignore[arg-type]
