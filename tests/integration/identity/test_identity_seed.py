"""`make up`'s identity seed: two tenants of the same shape, isolated from each other."""

from dataclasses import replace

from echo_shared.identity.dynamodb import DynamoClientRepository
from echo_shared.identity.passwords import PasswordHasher

from localstack.identity_seed import seed_identity
from tests.integration.identity.conftest import IdentityWorld


def shape(entry: object) -> object:
    if isinstance(entry, dict):
        return {key: shape(value) for key, value in entry.items()}
    return type(entry).__name__


def test_the_other_tenant_has_the_demo_shape_and_nothing_in_common(identity: IdentityWorld) -> None:
    # Given both seeded tenants
    demo, other = identity.demo, identity.other_tenant
    # Then they have the same keys and value types, admin and member each
    assert shape(demo) == shape(other)
    assert {name: user["roles"] for name, user in other["users"].items()} == {
        "admin": ["admin"],
        "member": ["member"],
    }
    # And no tenant, user, client or secret is shared
    assert demo["tenant"] != other["tenant"]
    assert {u["user_id"] for u in demo["users"].values()}.isdisjoint(
        u["user_id"] for u in other["users"].values()
    )
    for client in ("public_client", "confidential_client"):
        assert demo[client]["client_id"] != other[client]["client_id"]
    assert demo["confidential_client"]["client_secret"] != other["confidential_client"]["client_secret"]


def test_the_other_tenants_service_client_gets_a_token(identity: IdentityWorld) -> None:
    # Given the other tenant's confidential client
    confidential = identity.other_tenant["confidential_client"]
    # When it asks for a client-credentials token
    response = identity.gateway.client().post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "audit:read"},
        auth=(confidential["client_id"], confidential["client_secret"]),
    )
    # Then it gets one
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


def test_reseeding_migrates_an_argon2_client_secret_to_the_keyed_hash(identity: IdentityWorld) -> None:
    # Given the demo service client stored as before keyed hashes (argon2id of its secret)
    demo = identity.demo
    clients = DynamoClientRepository(identity.tables["IDENTITY_TABLE"])
    client = clients.get(demo["confidential_client"]["client_id"])
    assert client is not None
    assert client.secret_hash is not None
    assert client.secret_hash.startswith("hmac-sha256$")
    secret = demo["confidential_client"]["client_secret"]
    clients.put(replace(client, secret_hash=PasswordHasher().hash(secret)))
    # Then the token service no longer accepts it (argon2 is never run for a client)
    token = identity.gateway.client().post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
    )
    assert token.status_code == 401
    # When the seed runs again with the previous stack.json
    reseeded = seed_identity(
        identity_table=identity.tables["IDENTITY_TABLE"],
        signing_keys_table=identity.tables["SIGNING_KEYS_TABLE"],
        stage="local",
        kms_client=identity.kms,
        previous={"demo": demo, "other_tenant": identity.other_tenant},
    )
    # Then it keeps the secret it could still prove, stores it keyed, and the client authenticates
    assert reseeded["demo"]["confidential_client"]["client_secret"] == secret
    migrated = clients.get(client.client_id)
    assert migrated is not None
    assert migrated.secret_hash is not None
    assert migrated.secret_hash.startswith("hmac-sha256$")
    token = identity.gateway.client().post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
    )
    assert token.status_code == 200, token.text
