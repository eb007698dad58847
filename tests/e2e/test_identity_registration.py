"""Self-registration on the deployed stack (issue 7): a guest with the least role, an email
verification link delivered through the bus's notifications queue (the local outbox), single use;
an admin promotes the guest through the users API; the audit chain never holds the link."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token

from tests.e2e.conftest import AuditApi, wait_for
from tests.e2e.oidc import ADMIN_TOOL_SCOPES, DEFAULT_SCOPES, RelyingParty

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
JSON = {"Accept": "application/json"}


def _claims(access_token: str) -> dict[str, Any]:
    payload = access_token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _register(stack: dict[str, Any], email: str) -> tuple[RelyingParty, dict[str, Any]]:
    rp = RelyingParty(stack, DEFAULT_SCOPES)
    rp.verifier, rp.nonce = generate_token(48), generate_token(16)
    url, _ = rp.oauth.create_authorization_url(
        rp.metadata["authorization_endpoint"], code_verifier=rp.verifier, nonce=rp.nonce
    )
    assert rp.browser.get(url).status_code in (302, 303)
    form = rp.browser.get(stack["issuer"] + "/register")
    assert form.status_code == 200, form.text
    match = _CSRF.search(form.text)
    assert match is not None
    done = rp.browser.post(
        stack["issuer"] + "/register",
        data={"email": email, "password": "violet tram under bridge", "csrf_token": match.group(1)},
    )
    assert done.status_code in (302, 303), done.text
    tokens = rp.oauth.fetch_token(
        rp.metadata["token_endpoint"],
        authorization_response=done.headers["location"],
        code_verifier=rp.verifier,
    )
    return rp, dict(tokens)


def _link_from_outbox(stack: dict[str, Any], aws: Callable[[str], Any], email: str) -> str:
    """The local stage has no mailer: the notifications queue is the outbox (`make mail` prints it)."""
    sqs = aws("sqs")
    queue = stack["queues"]["notifications"]

    def found() -> str | None:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        for message in messages:
            event = json.loads(message["Body"])
            if event["type"] == "notification.email_verification" and event["data"]["to"] == email:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                return str(event["data"]["link"])
            sqs.change_message_visibility(
                QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return None

    link = wait_for(found, timeout=60)
    assert isinstance(link, str)
    return link


@pytest.fixture
def new_email() -> str:
    return f"newcomer-{uuid.uuid4().hex[:10]}@example.com"


def test_a_registered_guest_verifies_their_email_once_and_an_admin_promotes_them(
    stack: dict[str, Any], aws: Callable[[str], Any], audit_api: AuditApi, new_email: str
) -> None:
    # Given a user who registered through the hosted page: a guest
    rp, tokens = _register(stack, new_email)
    assert _claims(tokens["access_token"])["roles"] == ["guest"]
    api = httpx.Client(base_url=stack["api_url"], timeout=30)
    me = api.get("users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    # When they follow the link from the outbox
    link = _link_from_outbox(stack, aws, new_email)
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert rp.browser.get(link).status_code == 200
    verified = rp.browser.post(stack["issuer"] + "/verify-email", data={"token": token}, headers=JSON)
    again = rp.browser.post(stack["issuer"] + "/verify-email", data={"token": token}, headers=JSON)
    forged = rp.browser.post(
        stack["issuer"] + "/verify-email", data={"token": token[:-2] + "xx"}, headers=JSON
    )
    # Then the email is verified once; a reuse and a forgery get typed errors
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"verified": True, "roles": ["guest"]}
    assert (again.status_code, again.json()["error"]["code"]) == (409, "verification_token_used")
    assert (forged.status_code, forged.json()["error"]["code"]) == (400, "verification_token_invalid")
    # When the demo admin promotes the guest to member
    admin_user = stack["demo"]["users"]["admin"]
    admin = RelyingParty(stack, ADMIN_TOOL_SCOPES).tokens_for(admin_user["email"], admin_user["password"])
    promoted = api.put(
        f"users/{me['id']}/roles",
        json={"roles": ["member"]},
        headers={"Authorization": f"Bearer {admin['access_token']}"},
    )
    assert promoted.status_code == 200, promoted.text
    # Then the user's next token carries the new role and a verified email
    refreshed = rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=tokens["refresh_token"])
    assert _claims(refreshed["access_token"])["roles"] == ["member"]
    userinfo = api.get("userinfo", headers={"Authorization": f"Bearer {refreshed['access_token']}"}).json()
    assert userinfo["email_verified"] is True
    # And the audit chain has the user's story, but never the notification (address and link)
    tenant = stack["demo"]["tenant"]

    def story() -> list[dict[str, Any]] | None:
        found = audit_api.events(tenant, resource=f"user/{me['id']}")
        types = {item["type"] for item in found}
        wanted = {"user.registered", "user.email_verified", "user.roles_changed"}
        return found if wanted <= types else None

    trail = wait_for(story, timeout=60)
    assert not [item for item in trail if item["type"].startswith("notification.")]
    assert token not in json.dumps(trail)
    assert new_email not in json.dumps(trail)
