"""Token and consent state changes commit with their events (ADR 0014). A code exchange is one
DynamoDB transaction: the code is spent, the refresh family starts and `token.issued` is written to
the outbox together, or none of them is; an access token's or a refresh family's revocation and its
`token.revoked`, a consent given or withdrawn and its `consent.*` likewise.
DynamoDB Local runs the real conditional transactions (moto does not serialize concurrent writes)."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from threading import Barrier
from typing import Any

import boto3
import pytest
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.identity.consents import Consent
from echo_shared.identity.dynamodb import DynamoConsentStore, DynamoSigningKeyRepository
from echo_shared.identity.errors import Conflict, IdentityStoreUnavailable, InvalidGrant, TokenRejected
from echo_shared.identity.events import IdentityEvent
from echo_shared.identity.grants import AuthorizationCode, handle_digest, new_handle
from echo_shared.identity.keys import KeyState, KeyTransition, SigningKey
from echo_shared.identity.web import RequestInfo
from token_service.logic.exchange import pkce_s256, token_endpoint
from token_service.logic.introspection import revoke

from tests.integration.identity.dynamodb_local import token_world_on_dynamodb
from tests.unit.identity.fakes import PUBLIC_CLIENT_ID, REDIRECT_URI, TENANT, TokenWorld

VERIFIER = "v" * 43
TABS = 4


@pytest.fixture
def world(ddb_identity_table: str, ddb_outbox_table: str) -> TokenWorld:
    return token_world_on_dynamodb(ddb_identity_table, ddb_outbox_table)


@pytest.fixture
def request_info() -> RequestInfo:
    # A request id of this test's own: its events are told apart from other tests' in the outbox.
    return RequestInfo(request_id=f"req-{uuid.uuid4()}", source_ip="192.0.2.9")


def _new_code(world: TokenWorld, scope: tuple[str, ...] = ("openid", "offline_access")) -> str:
    code = new_handle()
    now = world.clock.epoch
    world.service.codes.put_code(  # type: ignore[attr-defined]
        AuthorizationCode(handle_digest(code), PUBLIC_CLIENT_ID, TENANT, "usr_alice", REDIRECT_URI,
                          scope, pkce_s256(VERIFIER), now, now + 60)
    )  # fmt: skip
    return code


def _exchange(world: TokenWorld, code: str, request: RequestInfo) -> dict[str, Any]:
    params = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
              "client_id": PUBLIC_CLIENT_ID, "code_verifier": VERIFIER}  # fmt: skip
    return token_endpoint(world.service, params, None, request).body()


def _outbox_events(table: str, request: RequestInfo) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    events = [json.loads(item["event"]["S"]) for item in items]
    return [e for e in events if e["request_id"] == request.request_id]


def _families(table: str) -> set[str]:
    items = boto3.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["pk"]["S"] for item in items if item["pk"]["S"].startswith("FAMILY#")}


def test_an_exchange_spends_the_code_starts_the_family_and_writes_token_issued_together(
    world: TokenWorld, ddb_identity_table: str, ddb_outbox_table: str, request_info: RequestInfo
) -> None:
    # Given a code granted offline access
    code = _new_code(world)
    # When it is exchanged
    body = _exchange(world, code, request_info)
    # Then its token.issued waits in the outbox, naming the access token and the family started
    (event,) = _outbox_events(ddb_outbox_table, request_info)
    claims = world.service.verifier.verify_access_token(body["access_token"])
    assert (event["type"], event["data"]["jti"]) == ("token.issued", claims.jti)
    assert f"FAMILY#{event['data']['family_id']}" in _families(ddb_identity_table)
    # And the refresh token works, while the code is spent
    assert world.service.refresh_tokens.find(handle_digest(body["refresh_token"])) is not None
    with pytest.raises(InvalidGrant, match="already used"):
        _exchange(world, code, request_info)


def test_parallel_exchanges_of_one_code_issue_once_and_write_one_event(
    world: TokenWorld, ddb_outbox_table: str, request_info: RequestInfo
) -> None:
    # Given a code, presented by four tabs at the same instant
    code = _new_code(world)
    barrier = Barrier(TABS)

    def tab(_: int) -> dict[str, Any] | str:
        barrier.wait()
        try:
            return _exchange(world, code, request_info)
        except InvalidGrant as refused:
            return str(refused)

    with ThreadPoolExecutor(max_workers=TABS) as pool:
        results = list(pool.map(tab, range(TABS)))
    # Then one exchange wins and the others are refused as a replay
    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1, results
    assert all(r == "the authorization code was already used" for r in results if isinstance(r, str))
    # And exactly one token.issued was written; the replays' revocation events follow it
    issued = [e for e in _outbox_events(ddb_outbox_table, request_info) if e["type"] == "token.issued"]
    assert len(issued) == 1


def test_an_exchange_whose_event_cannot_be_written_spends_nothing(
    world: TokenWorld, ddb_identity_table: str, ddb_outbox_table: str, request_info: RequestInfo
) -> None:
    # Given a code, and a token service whose outbox DynamoDB refuses (a table that does not exist)
    code = _new_code(world)
    families_before = _families(ddb_identity_table)
    broken = token_world_on_dynamodb(ddb_identity_table, "echo-local-no-such-outbox", like=world)
    # When it exchanges the code, the request fails as unavailable
    with pytest.raises(IdentityStoreUnavailable):
        _exchange(broken, code, request_info)
    # Then nothing was written: no event, no family, and the code is still good
    assert _outbox_events(ddb_outbox_table, request_info) == []
    assert _families(ddb_identity_table) == families_before
    body = _exchange(world, code, request_info)
    assert [e["type"] for e in _outbox_events(ddb_outbox_table, request_info)] == ["token.issued"]
    assert world.service.verifier.verify_access_token(body["access_token"]).sub == "usr_alice"


def test_an_access_token_is_revoked_with_its_event_or_not_at_all(
    world: TokenWorld, ddb_identity_table: str, ddb_outbox_table: str, request_info: RequestInfo
) -> None:
    # Given an access token from a code exchange
    access_token = _exchange(world, _new_code(world, ("openid",)), request_info)["access_token"]
    params = {"token": access_token, "client_id": PUBLIC_CLIENT_ID}
    # When its revocation cannot write the event, the request fails and the token stays live
    broken = token_world_on_dynamodb(ddb_identity_table, "echo-local-no-such-outbox", like=world)
    with pytest.raises(IdentityStoreUnavailable):
        revoke(broken.service, params, None, request_info)
    assert world.service.verifier.verify_access_token(access_token).sub == "usr_alice"
    # When it is revoked again with the outbox back, the token is refused and token.revoked written
    revoke(world.service, params, None, request_info)
    with pytest.raises(TokenRejected, match="revoked"):
        world.service.verifier.verify_access_token(access_token)
    revoked = [e for e in _outbox_events(ddb_outbox_table, request_info) if e["type"] == "token.revoked"]
    assert [e["data"]["token_type"] for e in revoked] == ["access_token"]


def test_a_refresh_family_is_revoked_with_its_event_once(
    world: TokenWorld, ddb_identity_table: str, ddb_outbox_table: str, request_info: RequestInfo
) -> None:
    # Given a refresh token and the access token issued beside it
    body = _exchange(world, _new_code(world), request_info)
    params = {"token": body["refresh_token"], "client_id": PUBLIC_CLIENT_ID}
    # When its revocation cannot write the event, the request fails and the family stays live
    broken = token_world_on_dynamodb(ddb_identity_table, "echo-local-no-such-outbox", like=world)
    with pytest.raises(IdentityStoreUnavailable):
        revoke(broken.service, params, None, request_info)
    assert world.service.refresh_tokens.find(handle_digest(body["refresh_token"]))[1].revoked_at is None  # type: ignore[index]
    # When it is revoked with the outbox back, and the client retries
    revoke(world.service, params, None, request_info)
    revoke(world.service, params, None, request_info)
    # Then the family and its access token are revoked, and token.revoked was written once
    with pytest.raises(TokenRejected, match="revoked"):
        world.service.verifier.verify_access_token(body["access_token"])
    revoked = [e for e in _outbox_events(ddb_outbox_table, request_info) if e["type"] == "token.revoked"]
    assert [(e["data"]["token_type"], e["data"]["family_id"]) for e in revoked] == [
        (
            "refresh_token",
            world.service.refresh_tokens.find(handle_digest(body["refresh_token"]))[1].family_id,
        )  # type: ignore[index]
    ]


def _consent_event(world: TokenWorld, event: IdentityEvent, request: RequestInfo) -> Any:
    return world.service.events.build(
        event, tenant=TENANT, actor="user:usr_alice", resource="client/partner", request_id=request.request_id
    )


def test_a_consent_is_given_and_withdrawn_with_its_event_or_not_at_all(
    world: TokenWorld, ddb_identity_table: str, ddb_outbox_table: str, request_info: RequestInfo
) -> None:
    store = DynamoConsentStore(ddb_identity_table, outbox=DynamoOutbox(ddb_outbox_table))
    broken = DynamoConsentStore(ddb_identity_table, outbox=DynamoOutbox("echo-local-no-such-outbox"))
    consent = Consent(TENANT, "usr_alice", "partner", frozenset({"openid"}), 10, 10)
    granted = _consent_event(world, IdentityEvent.CONSENT_GRANTED, request_info)
    # When the outbox refuses, no consent is stored
    with pytest.raises(IdentityStoreUnavailable):
        broken.put_consent(consent, events=[granted])
    assert store.get_consent(TENANT, "usr_alice", "partner") is None
    # When it takes the event, the consent and consent.granted are stored together
    store.put_consent(consent, events=[granted])
    assert store.get_consent(TENANT, "usr_alice", "partner") == consent
    # And a withdrawal of what was read is refused once the consent changed (given anew), unwritten
    store.put_consent(Consent(TENANT, "usr_alice", "partner", frozenset({"openid", "email"}), 10, 20))
    revoked = _consent_event(world, IdentityEvent.CONSENT_REVOKED, request_info)
    assert store.delete_consent(consent, events=[revoked]) is False
    assert store.get_consent(TENANT, "usr_alice", "partner") is not None
    # And a withdrawal of the consent as it stands deletes it with its consent.revoked
    current = store.get_consent(TENANT, "usr_alice", "partner")
    assert current is not None
    with pytest.raises(IdentityStoreUnavailable):
        broken.delete_consent(current, events=[revoked])
    assert store.delete_consent(current, events=[revoked]) is True
    assert store.get_consent(TENANT, "usr_alice", "partner") is None
    types = [e["type"] for e in _outbox_events(ddb_outbox_table, request_info)]
    assert sorted(types) == ["consent.granted", "consent.revoked"]


def test_a_signing_key_step_commits_with_its_key_rotated_or_not_at_all(
    world: TokenWorld, ddb_signing_keys_table: str, ddb_outbox_table: str, request_info: RequestInfo
) -> None:
    # Given the key store with the outbox, and a new key
    keys = DynamoSigningKeyRepository(ddb_signing_keys_table, outbox=DynamoOutbox(ddb_outbox_table))
    kid = f"k-{uuid.uuid4().hex[:8]}"
    key = SigningKey(kid=kid, key_ref=f"arn:aws:kms:us-east-1:000000000000:key/{kid}", state=KeyState.NEXT,
                     public_jwk={"kty": "EC", "kid": kid}, created_at=world.clock.epoch)  # fmt: skip

    def rotated() -> Any:
        return world.service.events.build(
            IdentityEvent.KEY_ROTATED, tenant="platform", actor="system:identity",
            resource="signing-keys", request_id=request_info.request_id, data={"created": [kid]},
        )  # fmt: skip

    # When it is created with its event
    keys.apply([KeyTransition(key, expected=None)], [rotated()])
    # Then both are stored
    assert kid in {k.kid for k in keys.list_keys()}
    assert [e["type"] for e in _outbox_events(ddb_outbox_table, request_info)] == ["key.rotated"]
    # When a step finds the key moved (it is no longer `current`), neither its key nor its event is written
    promoted = replace(key, state=KeyState.CURRENT, activated_at=world.clock.epoch)
    with pytest.raises(Conflict):
        keys.apply([KeyTransition(promoted, expected=KeyState.CURRENT)], [rotated()])
    assert {k.kid: k.state for k in keys.list_keys()}[kid] is KeyState.NEXT
    assert len(_outbox_events(ddb_outbox_table, request_info)) == 1
