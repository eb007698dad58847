"""Access-token verification: what the authorizer, /userinfo and /introspect accept and refuse."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from echo_shared.identity.errors import TokenRejected
from echo_shared.identity.keys import current_key
from echo_shared.identity.signing import der_to_jose_signature
from echo_shared.identity.verification import bearer_token
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.fakes.identity_grants import InMemoryGrantStore
from tests.unit.identity.fakes import AUDIENCE, ISSUER, FakeClock, KeyRing


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ring(clock: FakeClock) -> KeyRing:
    return KeyRing(clock)


def our_kid(ring: KeyRing) -> str:
    key = current_key(ring.repository.list_keys())
    assert key is not None
    return key.kid


def payload_of(ring: KeyRing) -> str:
    return ring.access_token().split(".")[1]


def signed_with_our_key(ring: KeyRing, header: dict[str, Any], payload: str) -> str:
    """Sign an arbitrary header with the real current key, as a compromised build step might."""
    key = current_key(ring.repository.list_keys())
    assert key is not None
    signing_input = f"{b64json(header)}.{payload}"
    signature = der_to_jose_signature(ring.vault.sign(key.key_ref, signing_input.encode()))
    return f"{signing_input}.{b64(signature)}"


def rejected(ring: KeyRing, token: str) -> str:
    with pytest.raises(TokenRejected) as caught:
        ring.verifier().verify_access_token(token)
    return caught.value.reason


def test_a_token_we_signed_verifies_and_yields_the_authorizer_context(ring: KeyRing) -> None:
    # Given an access token signed with the current key
    token = ring.access_token()
    # When it is verified
    claims = ring.verifier().verify_access_token(token)
    # Then the context other services rely on is exactly this
    assert claims.authorizer_context() == {
        "sub": "usr_alice",
        "tenant": "demo",
        "roles": "member",
        "scope": "openid email",
        "client_id": "echo-web",
        "token_type": "user",
        "jti": "jti-1",
    }


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_variants_are_refused(ring: KeyRing, alg: str) -> None:
    # Given an unsigned token that names our kid, with and without a trailing signature
    header = b64json({"alg": alg, "typ": "at+jwt", "kid": our_kid(ring)})
    for token in (f"{header}.{payload_of(ring)}.", f"{header}.{payload_of(ring)}.{b64(b'x')}"):
        # Then it is refused before any key is used
        assert rejected(ring, token) in {"malformed", "alg_not_allowed"}


def test_hs256_signed_with_our_public_key_is_refused(ring: KeyRing) -> None:
    # Given the classic key-confusion attack: HMAC keyed with the published public key
    kid = our_kid(ring)
    public = json.dumps(ring.published.key_for(kid)).encode()
    claims = json.loads(base64.urlsafe_b64decode(payload_of(ring) + "=="))
    forged = jwt.encode(
        {"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims, OctKey.import_key(public), algorithms=["HS256"]
    )
    # Then the algorithm allow-list refuses it
    assert rejected(ring, forged) == "alg_not_allowed"


def test_rs256_with_an_attacker_key_is_refused(ring: KeyRing) -> None:
    attacker = RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    claims = json.loads(base64.urlsafe_b64decode(payload_of(ring) + "=="))
    forged = jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": our_kid(ring)}, claims, attacker)
    assert rejected(ring, forged) == "alg_not_allowed"


def test_es256_signed_by_another_key_under_our_kid_is_refused(ring: KeyRing) -> None:
    # Given a token signed by an attacker's P-256 key but naming our kid
    attacker = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    claims = json.loads(base64.urlsafe_b64decode(payload_of(ring) + "=="))
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": our_kid(ring)}, claims, attacker)
    # Then the signature check fails
    assert rejected(ring, forged) == "bad_signature"


@pytest.mark.parametrize("kid", ["unknown-kid", "../../../dev/null", "' OR 1=1 --", "x" * 128])
def test_unknown_or_injected_kids_are_refused(ring: KeyRing, kid: str) -> None:
    attacker = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    claims = json.loads(base64.urlsafe_b64decode(payload_of(ring) + "=="))
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims, attacker)
    assert rejected(ring, forged) == "unknown_kid"


@pytest.mark.parametrize("parameter", ["jku", "x5u", "jwk", "x5c", "crit", "cty", "b64"])
def test_key_carrying_and_critical_headers_are_refused(ring: KeyRing, parameter: str) -> None:
    # Given a genuinely signed token whose header also carries a key-locating (or crit) parameter
    attacker = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    values: dict[str, Any] = {
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "jwk": attacker.as_dict(private=False),
        "x5c": ["MIIB"],
        "crit": ["exp"],
        "cty": "JWT",
        "b64": False,
    }
    header = {"alg": "ES256", "typ": "at+jwt", "kid": our_kid(ring), parameter: values[parameter]}
    token = signed_with_our_key(ring, header, payload_of(ring))
    # Then the header allow-list refuses it (keys only ever come from our own JWKS)
    assert rejected(ring, token) == "header_parameter_not_allowed"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.example/v1"}, "claims_invalid_claim"),
        ({"iss": ISSUER + "/"}, "claims_invalid_claim"),
        ({"aud": "urn:echo:api:other"}, "claims_invalid_claim"),
        ({"aud": ["urn:echo:api:other"]}, "claims_invalid_claim"),
        ({"exp": "9999999999"}, "claims_invalid_claim"),
        ({"tenant": "../other"}, "claims_malformed"),
        ({"roles": ["root"]}, "claims_malformed"),
        ({"principal_type": "robot"}, "claims_malformed"),
    ],
)
def test_wrong_issuer_audience_or_claim_types_are_refused(
    ring: KeyRing, overrides: dict[str, Any], reason: str
) -> None:
    assert rejected(ring, ring.access_token(**overrides)) == reason


@pytest.mark.parametrize("missing", ["iss", "aud", "exp", "iat", "sub", "jti", "client_id", "tenant"])
def test_missing_claims_are_refused(ring: KeyRing, missing: str) -> None:
    token = ring.access_token(**{missing: None})
    assert rejected(ring, token).startswith("claims_")


def test_audience_lists_containing_our_audience_verify(ring: KeyRing) -> None:
    token = ring.access_token(aud=["urn:echo:api:other", AUDIENCE])
    assert ring.verifier().verify_access_token(token).sub == "usr_alice"


def test_expiry_has_sixty_seconds_of_leeway_and_no_more(ring: KeyRing, clock: FakeClock) -> None:
    # Given a token that expires in 900 s
    token = ring.access_token()
    # When 959 s have passed it still verifies (clock skew); at 960 s it does not
    clock.advance(959)
    assert ring.verifier().verify_access_token(token).jti == "jti-1"
    clock.advance(1)
    assert rejected(ring, token) == "claims_expired_token"


def test_not_yet_valid_tokens_are_refused_beyond_the_leeway(ring: KeyRing, clock: FakeClock) -> None:
    assert rejected(ring, ring.access_token(nbf=clock.epoch + 61)) == "claims_invalid_claim"
    assert rejected(ring, ring.access_token(iat=clock.epoch + 61)) == "claims_invalid_claim"
    assert ring.verifier().verify_access_token(ring.access_token(nbf=clock.epoch + 60)).sub == "usr_alice"


def test_the_leeway_cannot_be_configured_above_sixty_seconds(ring: KeyRing) -> None:
    with pytest.raises(ValueError, match="leeway"):
        ring.verifier(leeway_seconds=61)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+JWT+x", "", None, 1])
def test_wrong_typ_is_refused_so_id_tokens_cannot_be_used_as_access_tokens(
    ring: KeyRing, typ: object
) -> None:
    header: dict[str, Any] = {"alg": "ES256", "kid": our_kid(ring)}
    if typ is not None:
        header["typ"] = typ
    assert rejected(ring, signed_with_our_key(ring, header, payload_of(ring))) == "wrong_typ"


def test_application_at_jwt_typ_is_accepted_case_insensitively(ring: KeyRing) -> None:
    header = {"alg": "ES256", "typ": "Application/AT+JWT", "kid": our_kid(ring)}
    token = signed_with_our_key(ring, header, payload_of(ring))
    assert ring.verifier().verify_access_token(token).sub == "usr_alice"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.rsplit(".", 1)[0],  # two segments
        lambda t: t + ".extra",  # four segments
        lambda t: t + "=",  # padding
        lambda t: "!" + t,  # not base64url
        lambda t: f"{b64(b'not json')}.{t.split('.', 1)[1]}",  # header not JSON
        lambda t: f"{b64json([1, 2])}.{t.split('.', 1)[1]}",  # header not an object
        lambda t: t.split(".")[0] + "." + b64(b"[1]") + "." + t.split(".")[2],  # payload not an object
        lambda t: t.split(".")[0] + "." + t.split(".")[1] + ".",  # empty signature
        lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),  # flipped signature bits
        lambda t: " " + t,
        lambda t: t * 4,  # oversized
        lambda t: "",
    ],
)
def test_malformed_encodings_are_refused(ring: KeyRing, mangle: Any) -> None:
    assert rejected(ring, mangle(ring.access_token()))


def test_revoked_tokens_are_refused_when_a_revocation_list_is_given(ring: KeyRing, clock: FakeClock) -> None:
    # Given a token whose jti is on the revocation list
    revocations = InMemoryGrantStore()
    revocations.revoke("jti-1", expires_at=clock.epoch + 900)
    verifier = ring.verifier(revocations=revocations)
    # Then it is refused, while another jti still verifies
    with pytest.raises(TokenRejected, match="revoked"):
        verifier.verify_access_token(ring.access_token())
    assert verifier.verify_access_token(ring.access_token(jti="jti-2")).jti == "jti-2"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("Basic abc", "not_a_bearer_token"),
        ("Bearer", "not_a_bearer_token"),
        ("Bearer a b", "not_a_bearer_token"),
        ("Bearer  abc", "not_a_bearer_token"),
    ],
)
def test_bearer_header_parsing(header: str | None, reason: str) -> None:
    with pytest.raises(TokenRejected, match=reason):
        bearer_token(header)


def test_bearer_header_yields_the_token_whatever_the_scheme_case() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer abc.def.ghi") == "abc.def.ghi"


def test_published_jwks_and_signatures_agree_with_an_independent_jose_library(ring: KeyRing) -> None:
    # Given our current key's public JWK and a token we signed (both built on cryptography alone)
    key = current_key(ring.repository.list_keys())
    assert key is not None
    reference = ECKey.import_key(key.public_jwk)
    # Then joserfc computes the same RFC 7638 thumbprint and accepts the ES256 signature
    assert key.kid == reference.thumbprint()
    assert jwt.decode(ring.access_token(), reference, algorithms=["ES256"]).claims["sub"] == "usr_alice"


def test_the_claim_rules_are_joserfcs_registry_rules_with_its_error_codes() -> None:
    # Given random claim sets over the values that matter (blank, wrong types, NaN, edges of the leeway)
    from echo_shared.identity.verification import _ACCESS_REQUIRED, _validate_claims
    from joserfc.errors import JoseError
    from joserfc.jwt import JWTClaimsRegistry

    now = 1_000_000
    values: list[Any] = [None, "", [], {}, 0, True, now, now - 61, now - 60, now + 60, now + 61]
    values += [
        float("nan"),
        float("inf"),
        1.5,
        "x",
        ISSUER,
        [ISSUER],
        AUDIENCE,
        [AUDIENCE],
        ["a", AUDIENCE],
        [1],
    ]
    names = ["iss", "aud", "exp", "iat", "nbf", "sub", "jti", "other"]
    registry = JWTClaimsRegistry(
        now=now, leeway=60, iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True}, iat={"essential": True}, sub={"essential": True}, jti={"essential": True},
    )  # fmt: skip
    generator = random.Random(10)
    for _ in range(5000):
        claims = {name: generator.choice(values) for name in generator.sample(names, generator.randint(0, 8))}
        try:
            registry.validate(claims)
            expected = "accepted"
        except JoseError as exc:
            expected = f"claims_{exc.error}"
        # When our rules judge the same claims
        try:
            _validate_claims(
                claims,
                required=_ACCESS_REQUIRED,
                expected={"iss": ISSUER, "aud": AUDIENCE},
                now=now,
                leeway=60,
            )
            verdict = "accepted"
        except TokenRejected as exc:
            verdict = exc.reason
        # Then the verdict and its reason are joserfc's
        assert verdict == expected, claims


def _same_bytes_other_text(segment: str) -> str | None:
    """The segment with its last character changed in the unused trailing bits only, if it has any."""
    decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for char in alphabet:
        variant = segment[:-1] + char
        if variant != segment and base64.urlsafe_b64decode(variant + "=" * (-len(variant) % 4)) == decoded:
            return variant
    return None


def test_a_segment_in_non_canonical_base64url_is_refused(ring: KeyRing) -> None:
    # Given our token, and its signature re-spelled: the same 64 bytes, other trailing bits
    token = ring.access_token()
    header, payload, signature = token.split(".")
    respelled = _same_bytes_other_text(signature)
    assert respelled is not None  # 64 bytes take 86 characters: 4 unused bits at the end
    # Then the re-spelled token is refused (one token has one spelling: the cache key, revocations)
    assert rejected(ring, f"{header}.{payload}.{respelled}") == "bad_signature"
    # And so is a re-spelled header, whenever its length leaves unused bits
    other_header = _same_bytes_other_text(header)
    if other_header is not None:
        assert rejected(ring, f"{other_header}.{payload}.{signature}") == "malformed_header"
    # While the token as issued still verifies
    assert ring.verifier().verify_access_token(token).jti == "jti-1"
