"""Checkpoint signing with an asymmetric KMS key (ECC_NIST_P256, ECDSA_SHA_256, RAW messages).

Signing happens in KMS (the private key never leaves it). Verification uses the key's public key,
fetched from KMS once per container (KMS's offline-verification path): a full chain walk checks
hundreds of checkpoints, and one KMS Verify round trip each made `/audit/verify` linear in them
(1,722 records and 821 checkpoints took 18.8 s on LocalStack; docs/audit.md).
"""

import threading
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from echo_shared.audit.checkpoints import SIGNING_ALGORITHM
from echo_shared.audit.errors import CheckpointError

if TYPE_CHECKING:
    from types_boto3_kms.client import KMSClient


class KmsCheckpointSigner:
    def __init__(self, key_id: str, client: "KMSClient | None" = None) -> None:
        self._key_id = key_id
        self._client = client or boto3.client("kms")
        self._public_key: ec.EllipticCurvePublicKey | None = None
        self._lock = threading.Lock()

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> tuple[str, bytes]:
        try:
            response = self._client.sign(
                KeyId=self._key_id, Message=message, MessageType="RAW", SigningAlgorithm=SIGNING_ALGORITHM
            )
        except (ClientError, BotoCoreError) as exc:
            raise CheckpointError(f"KMS Sign failed ({_code(exc)})") from exc
        return response.get("KeyId", self._key_id), response["Signature"]

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Always verifies with the configured key, never with a key id read from storage."""
        if not signature:
            return False
        try:
            self._verifying_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):  # ValueError: not a DER ECDSA signature at all
            return False
        return True

    def _verifying_key(self) -> ec.EllipticCurvePublicKey:
        with self._lock:
            if self._public_key is None:
                self._public_key = self._fetch_public_key()
            return self._public_key

    def _fetch_public_key(self) -> ec.EllipticCurvePublicKey:
        try:
            response = self._client.get_public_key(KeyId=self._key_id)
        except (ClientError, BotoCoreError) as exc:
            raise CheckpointError(f"KMS GetPublicKey failed ({_code(exc)})") from exc
        key = serialization.load_der_public_key(response["PublicKey"])
        if (
            not isinstance(key, ec.EllipticCurvePublicKey)
            or not isinstance(key.curve, ec.SECP256R1)
            or SIGNING_ALGORITHM not in response.get("SigningAlgorithms", [SIGNING_ALGORITHM])
        ):
            raise CheckpointError("the checkpoint key is not an ECC_NIST_P256 signing key")
        return key


def _code(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "Unknown")
    return type(exc).__name__
