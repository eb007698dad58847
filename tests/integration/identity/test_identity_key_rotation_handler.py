"""The key-rotation function against moto's KMS: scheduled runs, `rotate now`, and what verifiers see."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from echo_shared.lazy import reset_cached_resources
from key_rotation.logic import InvalidRotationRequest

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.flows import RelyingParty, demo_user


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def jwks_kids(identity: IdentityWorld) -> list[str]:
    with identity.gateway.client() as http:
        return [key["kid"] for key in http.get("jwks.json").json()["keys"]]


def test_a_scheduled_run_right_after_seeding_changes_nothing(
    identity: IdentityWorld, sample_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> None:
    from key_rotation.handler import lambda_handler

    result = lambda_handler(sample_event("key_rotation.scheduled.json"), lambda_context)
    assert result == {"action": "scheduled", "created": [], "activated": [], "demoted": [], "retired": []}
    assert identity.published_events() == []


def test_rotate_now_signs_with_a_new_key_and_old_tokens_still_verify(
    identity: IdentityWorld, sample_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> None:
    from key_rotation.handler import lambda_handler

    # Given a member holding an access token signed with the seeded key
    rp = RelyingParty(identity)
    before = rp.tokens_for(*demo_user(identity, "member"))
    old_kid = kid_of(before["access_token"])
    identity.published_events()
    # When an operator rotates now
    result = lambda_handler(sample_event("key_rotation.rotate_now.json"), lambda_context)
    reset_cached_resources()  # fresh containers; warm ones pick the change up within their cache TTL
    # Then the new key is current and published next to the previous one
    (new_kid,) = result["activated"]
    assert result["demoted"] == [old_kid]
    assert set(jwks_kids(identity)) == {old_kid, new_kid}
    # And new tokens are signed with it, while the old token keeps passing the authorizer
    after = RelyingParty(identity).tokens_for(*demo_user(identity, "admin"))
    assert kid_of(after["access_token"]) == new_kid
    with identity.gateway.client() as api:
        assert (
            api.get("users/me", headers={"Authorization": f"Bearer {before['access_token']}"}).status_code
            == 200
        )
    # And the new KMS key is an ECC P-256 signing key tagged for this stage's token signing
    key_arn = next(
        item["key_ref"]["S"]
        for item in identity.dynamodb.scan(TableName=identity.tables["SIGNING_KEYS_TABLE"])["Items"]
        if item["kid"]["S"] == new_kid
    )
    metadata = identity.kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert (metadata["KeySpec"], metadata["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    tags = identity.kms.list_resource_tags(KeyId=key_arn)["Tags"]
    assert {"TagKey": "echo-token-signing", "TagValue": "local"} in tags
    # And each of its two steps reached the bus through the outbox, for the platform's audit chain:
    # the new key created (as next), then promoted with the old one demoted
    rotated = [e for e in identity.published_events() if e["type"] == "key.rotated"]
    assert {e["tenant"] for e in rotated} == {"platform"}
    assert [(e["data"]["created"], e["data"]["activated"], e["data"]["demoted"]) for e in rotated] == [
        ([new_kid], [], []),
        ([], [new_kid], [old_kid]),
    ]


def test_rotating_a_compromised_key_stops_its_tokens(identity: IdentityWorld, lambda_context: Any) -> None:
    from key_rotation.handler import lambda_handler

    rp = RelyingParty(identity)
    before = rp.tokens_for(*demo_user(identity, "member"))
    result = lambda_handler({"action": "rotate_now", "compromised": True}, lambda_context)
    reset_cached_resources()
    assert result["retired"] == [kid_of(before["access_token"])]
    assert jwks_kids(identity) == result["activated"]
    old_key = next(
        item["key_ref"]["S"]
        for item in identity.dynamodb.scan(TableName=identity.tables["SIGNING_KEYS_TABLE"])["Items"]
        if item["kid"]["S"] == result["retired"][0]
    )
    assert identity.kms.describe_key(KeyId=old_key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    with identity.gateway.client() as api:
        assert (
            api.get("users/me", headers={"Authorization": f"Bearer {before['access_token']}"}).status_code
            == 401
        )


@pytest.mark.parametrize(
    "event", [{}, {"action": "delete_everything"}, {"action": "scheduled", "compromised": True}]
)
def test_unknown_requests_are_refused(
    identity: IdentityWorld, lambda_context: Any, event: dict[str, Any]
) -> None:
    from key_rotation.handler import lambda_handler

    with pytest.raises(InvalidRotationRequest):
        lambda_handler(event, lambda_context)
