"""The authorizer's reads (signed HTTP, no botocore, no PynamoDB; ADR 0017) see exactly what the identity
stores wrote: on moto's server and on DynamoDB Local."""

from __future__ import annotations

import uuid

import pytest
from echo_shared.identity.dynamodb import DynamoGrantStore, DynamoSigningKeyRepository
from echo_shared.identity.errors import IdentityStoreUnavailable
from echo_shared.identity.keys import KeyState, KeyTransition, SigningKey
from echo_shared.identity.verification_store import RevocationList, SigningKeyReader, dynamodb_client

from tests.integration.identity.conftest import IdentityWorld


def test_the_key_reader_returns_the_repositorys_keys(identity: IdentityWorld) -> None:
    # Given the seeded signing keys, as the PynamoDB repository reads them
    table = identity.tables["SIGNING_KEYS_TABLE"]
    written = sorted(DynamoSigningKeyRepository(table).list_keys(), key=lambda key: key.kid)
    # When the authorizer's reader lists them
    read = sorted(SigningKeyReader(table, dynamodb_client()).list_keys(), key=lambda key: key.kid)
    # Then every field is the same
    assert written
    assert read == written


def test_the_revocation_list_sees_what_the_grant_store_revoked(identity: IdentityWorld) -> None:
    # Given one revoked jti, written by the grant store
    table = identity.tables["IDENTITY_TABLE"]
    DynamoGrantStore(table).revoke("jti-revoked", expires_at=4_102_444_800)
    revocations = RevocationList(table, dynamodb_client())
    # Then only that jti reads as revoked
    assert revocations.is_revoked("jti-revoked")
    assert not revocations.is_revoked("jti-live")


def test_a_store_failure_is_unavailable_not_a_verdict(identity: IdentityWorld) -> None:
    # Given tables that do not exist (a misconfiguration or an outage)
    client = dynamodb_client()
    # Then both reads fail closed with the store error the authorizer maps to a 401 and a metric
    with pytest.raises(IdentityStoreUnavailable):
        RevocationList("no-such-table", client).is_revoked("jti")
    with pytest.raises(IdentityStoreUnavailable):
        SigningKeyReader("no-such-table", client).list_keys()


def test_on_dynamodb_local_the_reads_see_what_the_stores_wrote(
    ddb_identity_table: str, ddb_signing_keys_table: str
) -> None:
    # Given a key written by the PynamoDB repository and a jti revoked by the grant store, both in
    # DynamoDB Local (a real HTTP endpoint: the reads are signed JSON requests over a socket)
    kid = f"kid-{uuid.uuid4().hex}"
    key = SigningKey(
        kid=kid, key_ref="arn:aws:kms:us-east-1:000000000000:key/k", state=KeyState.NEXT,
        public_jwk={"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": kid},
        created_at=1_700_000_000, retire_after=1_800_000_000,
    )  # fmt: skip
    DynamoSigningKeyRepository(ddb_signing_keys_table).apply([KeyTransition(key, expected=None)])
    DynamoGrantStore(ddb_identity_table).revoke(f"jti-{kid}", expires_at=4_102_444_800)
    client = dynamodb_client()
    # Then the reader returns that key, field for field, and the revocation list sees that jti only
    assert key in SigningKeyReader(ddb_signing_keys_table, client).list_keys()
    assert RevocationList(ddb_identity_table, client).is_revoked(f"jti-{kid}")
    assert not RevocationList(ddb_identity_table, client).is_revoked(f"jti-{kid}-other")


def test_without_credentials_the_reads_fail_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    with pytest.raises(IdentityStoreUnavailable, match="NoCredentials"):
        dynamodb_client()
