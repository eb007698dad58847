"""Email verification through the gateway: the link from the notification, single use, typed errors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.flows import registered_guest
from tests.integration.identity.gateway import ISSUER

JSON = {"Accept": "application/json"}


def _verification_link(events: list[dict[str, Any]], email: str) -> str:
    [notification] = [e for e in events if e["type"] == "notification.email_verification"]
    assert notification["data"]["to"] == email
    return str(notification["data"]["link"])


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def test_the_link_verifies_the_email_once_and_userinfo_says_so(identity: IdentityWorld) -> None:
    # Given a user who registered; the mailer's notification carries their link
    rp, tokens = registered_guest(identity, "gus@example.com")
    events = identity.published_events()
    link = _verification_link(events, "gus@example.com")
    assert link.startswith(f"{ISSUER}/verify-email?token=")
    # And only the token's digest is stored, and the audited events hold neither link nor address
    items = json.dumps(identity.dynamodb.scan(TableName=identity.tables["IDENTITY_TABLE"])["Items"])
    assert _token(link).split(".")[1] not in items
    audited = [e for e in events if not e["type"].startswith("notification.")]
    assert _token(link) not in json.dumps(audited)
    assert "gus@example.com" not in json.dumps(audited)
    with identity.gateway.client() as browser:
        # When the link is opened: a page asks for one click (a mail scanner spends nothing)
        page = browser.get(link)
        assert page.status_code == 200
        assert 'name="token"' in page.text
        # And the click verifies the email
        verified = browser.post(f"{ISSUER}/verify-email", data={"token": _token(link)}, headers=JSON)
        # Then a second click is refused as used, and a forged token as invalid
        again = browser.post(f"{ISSUER}/verify-email", params={"token": _token(link)}, headers=JSON)
        forged = browser.post(
            f"{ISSUER}/verify-email", data={"token": _token(link)[:-2] + "xx"}, headers=JSON
        )
        page_again = browser.post(f"{ISSUER}/verify-email", data={"token": _token(link)})
    assert verified.status_code == 200
    assert verified.json() == {"verified": True, "roles": ["guest"]}
    assert (again.status_code, again.json()["error"]["code"]) == (409, "verification_token_used")
    assert (forged.status_code, forged.json()["error"]["code"]) == (400, "verification_token_invalid")
    assert page_again.status_code == 409
    assert "already used" in page_again.text
    # And the user's next tokens say the email is verified
    refreshed = rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=tokens["refresh_token"])
    with identity.gateway.client(headers={"Authorization": f"Bearer {refreshed['access_token']}"}) as api:
        userinfo = api.get("userinfo").json()
    assert userinfo["email_verified"] is True
    assert "user.email_verified" in [e["type"] for e in identity.published_events()]


def test_a_verified_email_of_the_tenants_domain_makes_the_guest_a_member(identity: IdentityWorld) -> None:
    # Given the local rule: tenant demo vouches for demo.echo.test
    registered_guest(identity, "new.colleague@demo.echo.test")
    link = _verification_link(identity.published_events(), "new.colleague@demo.echo.test")
    with identity.gateway.client() as browser:
        verified = browser.post(f"{ISSUER}/verify-email", params={"token": _token(link)}, headers=JSON)
    assert verified.json() == {"verified": True, "roles": ["member"]}
    [event] = [e for e in identity.published_events() if e["type"] == "user.email_verified"]
    assert event["data"] == {"roles": ["member"], "promoted": True}
