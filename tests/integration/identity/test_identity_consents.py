"""Consents in the identity table (moto), and through the gateway: a third-party client's consent,
its revocation ending the client's refresh tokens, and a deleted user's consents deleted with them."""

from __future__ import annotations

import boto3
from echo_shared.identity.consents import Consent
from echo_shared.identity.dynamodb import DynamoClientRepository, DynamoConsentStore

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.flows import RelyingParty, csrf_token, demo_user, query_of
from tests.integration.identity.gateway import ISSUER

PARTNER_SCOPE = "openid email offline_access"


def test_the_store_keeps_one_consent_per_client_in_the_users_partition(identity: IdentityWorld) -> None:
    store = DynamoConsentStore(identity.tables["IDENTITY_TABLE"])
    # Given two consents of one user and one of another
    store.put_consent(Consent("demo", "usr_a", "partner", frozenset({"openid", "email"}), 10, 10))
    store.put_consent(Consent("demo", "usr_a", "other-app", frozenset({"openid"}), 11, 12))
    store.put_consent(Consent("demo", "usr_b", "partner", frozenset({"openid"}), 13, 13))
    # Then they read back as written, keyed CONSENT#<tenant>#<user> / CLIENT#<client>
    assert store.get_consent("demo", "usr_a", "partner") == Consent(
        "demo", "usr_a", "partner", frozenset({"openid", "email"}), 10, 10
    )
    assert [c.client_id for c in store.list_consents("demo", "usr_a")] == ["other-app", "partner"]
    item = identity.dynamodb.get_item(
        TableName=identity.tables["IDENTITY_TABLE"],
        Key={"pk": {"S": "CONSENT#demo#usr_a"}, "sk": {"S": "CLIENT#partner"}},
    )["Item"]
    assert set(item["scopes"]["SS"]) == {"openid", "email"}
    # And a consent is deleted as it was read, once; deleting the user's consents leaves the others
    read = store.get_consent("demo", "usr_a", "partner")
    assert read is not None
    assert store.delete_consent(read) is True
    assert store.delete_consent(read) is False
    assert store.delete_user_consents("demo", "usr_a") == 1
    assert store.list_consents("demo", "usr_a") == []
    assert store.get_consent("demo", "usr_b", "partner") is not None
    assert store.get_consent("other", "usr_b", "partner") is None


def test_seeded_clients_say_who_is_first_party_and_old_items_read_as_third_party(
    identity: IdentityWorld,
) -> None:
    clients = DynamoClientRepository(identity.tables["IDENTITY_TABLE"])
    first_party = {
        key: clients.get(identity.demo[key]["client_id"]).first_party  # type: ignore[union-attr]
        for key in ("public_client", "confidential_client", "third_party_client")
    }
    assert first_party == {"public_client": True, "confidential_client": True, "third_party_client": False}
    # A client item written before `first_party` existed is still readable, as a third-party client
    table = boto3.resource("dynamodb").Table(identity.tables["IDENTITY_TABLE"])
    old = table.get_item(Key={"pk": f"CLIENT#{identity.demo['public_client']['client_id']}", "sk": "CLIENT"})
    legacy = {**old["Item"], "pk": "CLIENT#legacy-app", "client_id": "legacy-app"}
    legacy.pop("first_party")
    table.put_item(Item=legacy)
    assert clients.get("legacy-app").first_party is False  # type: ignore[union-attr]


def partner_tokens(identity: IdentityWorld) -> tuple[RelyingParty, dict[str, str]]:
    """The member signs in to the partner app and approves it; returns the app and its tokens."""
    rp = RelyingParty(identity, scope=PARTNER_SCOPE, client="third_party_client")
    page = rp.sign_in(*demo_user(identity, "member"))
    assert page.status_code == 200, page.text
    assert f'action="{ISSUER}/consent"' in page.text
    back = rp.browser.post(
        f"{ISSUER}/consent", data={"csrf_token": csrf_token(page.text), "decision": "approve"}
    )
    assert back.status_code == 303
    assert "code" in query_of(back.headers["location"])
    tokens = rp.oauth.fetch_token(
        rp.metadata["token_endpoint"],
        authorization_response=back.headers["location"],
        code_verifier=rp.verifier,
    )
    return rp, dict(tokens)


def test_revoking_the_partner_ends_its_refresh_token(identity: IdentityWorld) -> None:
    # Given the member approved the partner app, which holds a refresh token
    rp, tokens = partner_tokens(identity)
    assert tokens["scope"] == PARTNER_SCOPE
    # When the member revokes it from their list of applications
    listing = rp.browser.get("consents")
    assert listing.status_code == 200
    revoked = rp.browser.post(
        f"{ISSUER}/consents/revoke",
        data={
            "csrf_token": csrf_token(listing.text),
            "client_id": identity.demo["third_party_client"]["client_id"],
        },
    )
    assert revoked.status_code == 200
    # Then the refresh token is refused, and consent.granted / consent.revoked were published
    refused = rp.browser.post(
        "token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": identity.demo["third_party_client"]["client_id"],
        },
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    types = [event["type"] for event in identity.published_events()]
    assert {"consent.granted", "consent.revoked"} <= set(types)


def test_deleting_a_user_deletes_their_consents(identity: IdentityWorld) -> None:
    # Given the member consented to the partner app
    partner_tokens(identity)
    store = DynamoConsentStore(identity.tables["IDENTITY_TABLE"])
    member_id = identity.demo["users"]["member"]["user_id"]
    assert store.list_consents("demo", member_id)
    # When an admin deletes the member
    admin = RelyingParty(identity, scope="openid users:admin").tokens_for(*demo_user(identity, "admin"))
    with identity.gateway.client(headers={"Authorization": f"Bearer {admin['access_token']}"}) as api:
        assert api.delete(f"users/{member_id}").status_code == 204
    # Then nothing of their consents is left
    assert store.list_consents("demo", member_id) == []
