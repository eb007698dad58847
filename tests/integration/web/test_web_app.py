"""The web app's HTTP surface (FastAPI app, DynamoDB session table under moto, fake identity)."""

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from echo_shared.lazy import reset_cached_resources
from fastapi.testclient import TestClient
from moto import mock_aws
from web.app import app
from web.dependencies import get_service
from web.logic import WebService
from web.oidc import OidcClient
from web.sessions import DynamoSessionStore
from web.settings import WebSettings
from web.transport import HttpResponse

from tests.unit.web.conftest import ENV
from tests.unit.web.fakes import Clock, FakeIdentity

BASE = "/v1/app/"


@pytest.fixture
def identity() -> FakeIdentity:
    identity = FakeIdentity(Clock())

    def api(method: str, url: str, headers: Any, body: bytes | None) -> HttpResponse:
        if url.endswith("/authz/batch"):
            return HttpResponse(
                200,
                b'{"decisions": [{"decision": "deny"}, {"decision": "deny"}, {"decision": "deny"}, {"decision": "deny"}]}',
            )
        if url.endswith("/query"):
            return HttpResponse(200, b'{"answer": "x", "citations": [], "enough_information": true}')
        return HttpResponse(200, b'{"documents": []}')

    identity.api = api
    return identity


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, identity: FakeIdentity) -> Iterator[TestClient]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=ENV["SESSION_TABLE"],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        reset_cached_resources()
        settings = WebSettings.from_env(ENV)
        oidc = OidcClient(
            issuer=settings.issuer,
            client_secret=lambda: identity.secret,
            redirect_uri=settings.redirect_uri,
            scope=settings.scope,
            transport=identity,
            now=identity.clock,
        )
        service = WebService(
            settings=settings,
            store=DynamoSessionStore(settings.session_table, clock_seconds=identity.clock),
            oidc=oidc,
            transport=identity,
            now=identity.clock,
        )
        app.dependency_overrides[get_service] = lambda: service
        with TestClient(app, base_url="https://app.echo.test", follow_redirects=False) as test_client:
            yield test_client
        app.dependency_overrides.clear()
        reset_cached_resources()


def sign_in(client: TestClient, identity: FakeIdentity) -> str:
    started = client.get("/app/login", params={"tenant": "demo", "return_to": BASE + "ask"})
    params = identity.authorize(started.headers["location"])
    done = client.get("/app/callback", params=params)
    assert done.status_code == 303
    assert done.headers["location"] == BASE + "ask"
    page = client.get("/app/documents")
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_pages_send_an_unsigned_browser_to_sign_in(client: TestClient) -> None:
    response = client.get("/app/documents")
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE}login?return_to={BASE}documents"
    asked = client.get("/app/login")
    assert asked.status_code == 200
    assert 'name="tenant"' in asked.text


def test_the_json_api_answers_401_without_a_session(client: TestClient) -> None:
    response = client.get("/app/api/documents")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_signed_in"


def test_cookies_are_host_prefixed_secure_httponly_lax(client: TestClient, identity: FakeIdentity) -> None:
    started = client.get("/app/login", params={"tenant": "demo"})
    cookie = started.headers["set-cookie"]
    assert cookie.startswith("__Host-echo_web_login=")
    for attribute in ("HttpOnly", "Path=/", "SameSite=lax", "Secure"):
        assert attribute in cookie
    assert "Domain" not in cookie
    done = client.get("/app/callback", params=identity.authorize(started.headers["location"]))
    session_cookie = [c for c in done.headers.get_list("set-cookie") if c.startswith("__Host-echo_web=")]
    assert session_cookie
    assert "HttpOnly" in session_cookie[0]
    assert "Secure" in session_cookie[0]
    assert "at-" not in done.text
    assert "rt-" not in " ".join(done.headers.values())


def test_every_page_carries_a_strict_csp(client: TestClient, identity: FakeIdentity) -> None:
    sign_in(client, identity)
    page = client.get("/app/documents")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "connect-src 'self' https://uploads.echo.test" in csp
    assert "<script>" not in page.text
    assert " on" + "click=" not in page.text
    assert page.headers["x-frame-options"] == "DENY"


def test_state_changing_calls_need_the_csrf_header(client: TestClient, identity: FakeIdentity) -> None:
    csrf = sign_in(client, identity)
    refused = client.post("/app/api/query", json={"question": "what?"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_rejected"
    wrong = client.post("/app/api/query", json={"question": "what?"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    cross = client.post(
        "/app/api/query",
        json={"question": "q"},
        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.test"},
    )
    assert cross.status_code == 403
    ok = client.post("/app/api/query", json={"question": "what?"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert ok.json()["answer"] == "x"


def test_sign_out_needs_the_csrf_form_field(client: TestClient, identity: FakeIdentity) -> None:
    csrf = sign_in(client, identity)
    assert client.post("/app/logout", data={}).status_code == 403
    out = client.post("/app/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    target = urlsplit(out.headers["location"])
    assert target.path == "/v1/logout"
    assert parse_qs(target.query)["client_id"] == ["echo-web-demo"]
    assert client.get("/app/api/documents").status_code == 401


def test_admin_pages_are_refused_when_authz_says_no(client: TestClient, identity: FakeIdentity) -> None:
    sign_in(client, identity)
    for path in ("/app/admin/users", "/app/admin/policies", "/app/admin/logs"):
        response = client.get(path)
        assert response.status_code == 403, path
    page = client.get("/app/documents")
    assert "admin/users" not in page.text


def test_bad_input_gets_a_typed_error(client: TestClient, identity: FakeIdentity) -> None:
    csrf = sign_in(client, identity)
    empty = client.post("/app/api/query", json={"question": ""}, headers={"X-CSRF-Token": csrf})
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "invalid_input"
    extra = client.post(
        "/app/api/documents", json={"filename": "a.pdf", "owner": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert extra.status_code == 422
    assert client.get("/app/api/documents/..%2Fetc").status_code in (404, 422)


def test_static_assets_are_served_and_nothing_else(client: TestClient) -> None:
    script = client.get("/app/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/app/static/settings.py").status_code in (400, 404)
    assert client.get("/app/static/..%2Fsettings.py").status_code in (400, 404)
