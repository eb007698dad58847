"""The authorizer's reads (botocore, no PynamoDB) see exactly what the identity stores wrote."""

from __future__ import annotations

import pytest
from echo_shared.identity.dynamodb import DynamoGrantStore, DynamoSigningKeyRepository
from echo_shared.identity.errors import IdentityStoreUnavailable
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
