"""Discovery and JWKS, served by the token handler through the API Gateway emulator."""

from __future__ import annotations

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.gateway import ISSUER


def test_discovery_is_complete_and_truthful(identity: IdentityWorld) -> None:
    # When a relying party reads the discovery document
    with identity.gateway.client() as http:
        response = http.get(".well-known/openid-configuration")
    # Then it names our endpoints under the issuer and exactly what the OP supports
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == ISSUER
    for endpoint in ("authorization", "token", "userinfo", "revocation", "introspection", "end_session"):
        assert metadata[f"{endpoint}_endpoint"].startswith(ISSUER + "/")
    assert metadata["jwks_uri"] == f"{ISSUER}/jwks.json"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256"]


def test_jwks_publishes_the_seeded_kms_key_without_private_parts(identity: IdentityWorld) -> None:
    with identity.gateway.client() as http:
        keys = http.get("jwks.json").json()["keys"]
    assert len(keys) == 1
    (key,) = keys
    assert {key["kty"], key["crv"], key["alg"], key["use"]} == {"EC", "P-256", "ES256", "sig"}
    assert "d" not in key
