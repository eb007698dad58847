"""`make up`'s identity seed: two tenants of the same shape, isolated from each other."""

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
