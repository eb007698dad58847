"""Registration is off unless a client turns it on (issue 7)."""

from __future__ import annotations

from echo_shared.identity.clients import AuthMethod, ClientType, GrantType, OAuthClient
from echo_shared.identity.dynamodb import DynamoClientRepository

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.flows import RelyingParty, csrf_token
from tests.integration.identity.gateway import ISSUER


def test_registration_is_off_unless_the_client_turns_it_on(identity: IdentityWorld) -> None:
    # Given a client registered with the defaults (no allow_registration)
    clients = DynamoClientRepository(identity.tables["IDENTITY_TABLE"])
    clients.put(
        OAuthClient(
            client_id="echo-demo-plain",
            tenant="demo",
            name="A client that never asked for registration",
            client_type=ClientType.PUBLIC,
            auth_method=AuthMethod.NONE,
            grant_types=frozenset({GrantType.AUTHORIZATION_CODE}),
            allowed_scopes=frozenset({"openid", "email"}),
            redirect_uris=(identity.demo["public_client"]["redirect_uri"],),
        )
    )
    stored = clients.get("echo-demo-plain")
    assert stored is not None
    assert not stored.allow_registration
    # When a browser starts signing in through it
    rp = RelyingParty(identity, scope="openid email")
    rp.oauth.client_id = "echo-demo-plain"
    assert rp.browser.get(rp.authorization_url()[0]).status_code == 303
    page = rp.browser.get("login")
    # Then the sign-in page offers no registration, and neither the page nor a POST registers
    assert page.status_code == 200
    assert f"{ISSUER}/register" not in page.text
    assert rp.browser.get("register").status_code == 403
    posted = rp.browser.post(
        f"{ISSUER}/register",
        data={"email": "nobody.new@example.com", "password": "violet tram under bridge",
              "csrf_token": csrf_token(page.text)},
    )  # fmt: skip
    assert posted.status_code == 403
    item = identity.dynamodb.get_item(
        TableName=identity.tables["IDENTITY_TABLE"],
        Key={"pk": {"S": "TENANT#demo"}, "sk": {"S": "EMAIL#nobody.new@example.com"}},
    )
    assert "Item" not in item
    assert "user.registered" not in [e["type"] for e in identity.published_events()]
