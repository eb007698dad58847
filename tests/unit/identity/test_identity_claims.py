"""AccessClaims: the plain dataclass accepts and refuses exactly what its pydantic model did."""

from __future__ import annotations

import random
from typing import Annotated, Any

import pytest
from echo_shared.identity.claims import (
    TENANT_PATTERN,
    AccessClaims,
    PrincipalType,
    Role,
    parse_scope,
)
from echo_shared.identity.errors import TokenRejected
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

type Identifier = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\x21-\x7e]+$")]
type Tenant = Annotated[str, StringConstraints(pattern=TENANT_PATTERN)]


class PydanticAccessClaims(BaseModel):
    """The model AccessClaims replaced (issue 10), kept here as the reference for its rules."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    iss: str
    sub: Identifier
    aud: str | list[str]
    exp: int
    iat: int
    jti: Identifier
    client_id: Identifier
    scope: tuple[str, ...] = Field(default=())
    tenant: Tenant
    roles: tuple[str, ...] = Field(default=())
    principal_type: PrincipalType

    @field_validator("scope", mode="before")
    @classmethod
    def _scope_from_string(cls, value: Any) -> tuple[str, ...]:
        if not isinstance(value, str):
            raise ValueError("scope must be a space-delimited string")
        return parse_scope(value) if value else ()

    @field_validator("roles", mode="before")
    @classmethod
    def _roles_from_list(cls, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
            raise ValueError("roles must be a list of strings")
        return tuple(Role(role).value for role in value)

    @field_validator("principal_type", mode="before")
    @classmethod
    def _principal_type(cls, value: Any) -> PrincipalType:
        return PrincipalType(value)


VALID: dict[str, Any] = {
    "iss": "https://id.example/v1",
    "sub": "user-1",
    "aud": "urn:echo:api",
    "exp": 2_000,
    "iat": 1_000,
    "jti": "j-1",
    "client_id": "web",
    "scope": "openid documents:read",
    "tenant": "acme",
    "roles": ["member", "viewer"],
    "principal_type": "user",
}
# Per claim: values at and beyond each rule's edges, wrong JSON types, and what JSON cannot carry.
CANDIDATES: dict[str, list[Any]] = {
    "iss": ["", "x", 1, None, ["x"]],
    "sub": ["", "a" * 256, "a" * 257, "a b", "a\n", "é", "\x7f", 7, None, ["a"]],
    "aud": ["", [], ["a", "b"], ["a", 1], ("a",), 1, None, {"a": 1}],
    "exp": [0, -1, 2**70, 1.0, 1.5, True, "1", None, [1]],
    "iat": [0, 10**20, False, 2.0, "2", None],
    "jti": ["", "j" * 256, "j" * 257, "j\n", "\t", 3, None],
    "client_id": ["", "c" * 257, "c c", "c\n", None, 5],
    "scope": ["", "a", "a a b", " a", "a  b", 'a"', "a\\", "\x7f", "s" * 65, None, ["a"], 1],
    "tenant": ["", "a", "-a", "a" * 64, "a" * 65, "a_b-c", "acme\n", "../x", None, 1],
    "roles": [[], ["admin"], ["guest", "guest"], ["root"], ["Admin"], "admin", [1], None, ("admin",)],
    "principal_type": ["client", "user", "USER", "robot", "", None, 1, ["user"], {"user": 1}],
    "other": ["anything", None, {"nested": [1]}],
}


def reference_verdict(claims: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    try:
        model = PydanticAccessClaims.model_validate(claims)
    except (ValidationError, ValueError):
        return "claims_malformed", None
    return "accepted", model.model_dump()


def dataclass_verdict(claims: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    try:
        parsed = AccessClaims.from_verified(claims)
    except TokenRejected as exc:
        return exc.reason, None
    return "accepted", {name: getattr(parsed, name) for name in PydanticAccessClaims.model_fields}


def test_a_valid_payload_yields_the_same_claims_and_authorizer_context() -> None:
    # Given a well-formed payload
    claims = AccessClaims.from_verified(dict(VALID))
    # Then it reads as the pydantic model read it, and the context contract holds
    assert dataclass_verdict(dict(VALID)) == reference_verdict(dict(VALID))
    assert claims.principal_type is PrincipalType.USER
    assert claims.authorizer_context() == {
        "sub": "user-1",
        "tenant": "acme",
        "roles": "member viewer",
        "scope": "openid documents:read",
        "client_id": "web",
        "token_type": "user",
        "jti": "j-1",
    }


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, vs in CANDIDATES.items() for v in vs])
def test_each_claim_rule_matches_the_pydantic_model(name: str, value: Any) -> None:
    # Given a valid payload with one claim changed
    claims = {**VALID, name: value}
    # Then both accept or refuse it, with the same values
    assert dataclass_verdict(claims) == reference_verdict(claims)


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_missing_claim_is_judged_as_the_pydantic_model_judged_it(name: str) -> None:
    claims = {k: v for k, v in VALID.items() if k != name}
    assert dataclass_verdict(claims) == reference_verdict(claims)


def test_random_claim_sets_get_the_pydantic_models_verdicts() -> None:
    # Given random payloads mixing valid and edge values, some claims left out
    generator = random.Random(10)
    for _ in range(3000):
        claims = {
            name: generator.choice([VALID.get(name, "x"), *CANDIDATES[name]])
            for name in CANDIDATES
            if generator.random() > 0.1
        }
        # Then the verdict and the parsed values are the model's
        assert dataclass_verdict(claims) == reference_verdict(claims), claims


def test_parsed_claims_are_immutable() -> None:
    claims = AccessClaims.from_verified(dict(VALID))
    with pytest.raises(AttributeError):
        claims.tenant = "other"  # type: ignore[misc]
