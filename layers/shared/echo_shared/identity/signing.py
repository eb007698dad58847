"""JWT signing with keys that never leave their vault (KMS in AWS, an in-memory vault in tests).

The compact-JWS assembly around an external signer is ours, on `cryptography` alone (ADR 0015):
the vault returns a DER ECDSA signature, which JOSE wants as the raw 64-byte r||s (RFC 7518 §3.4).
"""

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from echo_shared.identity.claims import SIGNING_ALGORITHM
from echo_shared.identity.errors import SigningUnavailable
from echo_shared.identity.keys import SigningKey

P256_COORDINATE_BYTES = 32
# KMS Sign takes RAW messages up to 4096 bytes; our signing inputs stay far below.
MAX_SIGNING_INPUT_BYTES = 4096


class SignatureService(Protocol):
    def sign(self, key_ref: str, message: bytes) -> bytes:
        """ECDSA P-256 / SHA-256 over `message`, DER-encoded. Raises SigningUnavailable."""
        ...


class KeyVault(SignatureService, Protocol):
    def create_signing_key(self) -> tuple[str, bytes]:
        """Create a P-256 signing key; return its reference and its DER SubjectPublicKeyInfo."""
        ...

    def schedule_deletion(self, key_ref: str) -> None: ...


def urlsafe_b64encode(data: bytes) -> bytes:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def der_to_jose_signature(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(P256_COORDINATE_BYTES, "big") + s.to_bytes(P256_COORDINATE_BYTES, "big")


def public_jwk(public_der: bytes) -> dict[str, Any]:
    """The public JWK of a P-256 SubjectPublicKeyInfo, `kid` = its RFC 7638 thumbprint."""
    public = serialization.load_der_public_key(public_der)
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        raise SigningUnavailable("signing keys must be ECC P-256")
    numbers = public.public_numbers()
    members = {
        "kty": "EC",
        "crv": "P-256",
        "x": urlsafe_b64encode(numbers.x.to_bytes(P256_COORDINATE_BYTES, "big")).decode("ascii"),
        "y": urlsafe_b64encode(numbers.y.to_bytes(P256_COORDINATE_BYTES, "big")).decode("ascii"),
    }
    # RFC 7638 §3.2: the required members, sorted, without whitespace.
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    thumbprint = urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode("ascii")
    return {**members, "kid": thumbprint, "use": "sig", "alg": SIGNING_ALGORITHM}


def _b64_json(value: dict[str, Any]) -> bytes:
    return urlsafe_b64encode(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


@dataclass(frozen=True, slots=True)
class JwtSigner:
    """Signs claims with whatever key `current_key` returns (the repository's `current` key)."""

    signatures: SignatureService
    current_key: Callable[[], SigningKey | None]

    def sign(self, claims: dict[str, Any], *, typ: str) -> str:
        key = self.current_key()
        if key is None:
            raise SigningUnavailable("no current signing key")
        header = {"alg": SIGNING_ALGORITHM, "typ": typ, "kid": key.kid}
        signing_input = _b64_json(header) + b"." + _b64_json(claims)
        if len(signing_input) > MAX_SIGNING_INPUT_BYTES:
            raise SigningUnavailable("token too large to sign")
        signature = der_to_jose_signature(self.signatures.sign(key.key_ref, signing_input))
        return (signing_input + b"." + urlsafe_b64encode(signature)).decode("ascii")
