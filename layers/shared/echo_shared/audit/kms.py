"""Checkpoint signing with an asymmetric KMS key (ECC_NIST_P256, ECDSA_SHA_256, RAW messages)."""

from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from echo_shared.audit.checkpoints import SIGNING_ALGORITHM
from echo_shared.audit.errors import CheckpointError

if TYPE_CHECKING:
    from types_boto3_kms.client import KMSClient

_INVALID_SIGNATURE = "KMSInvalidSignatureException"


class KmsCheckpointSigner:
    def __init__(self, key_id: str, client: "KMSClient | None" = None) -> None:
        self._key_id = key_id
        self._client = client or boto3.client("kms")

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
            response = self._client.verify(
                KeyId=self._key_id,
                Message=message,
                MessageType="RAW",
                Signature=signature,
                SigningAlgorithm=SIGNING_ALGORITHM,
            )
        except ClientError as exc:
            if _code(exc) == _INVALID_SIGNATURE:
                return False
            raise CheckpointError(f"KMS Verify failed ({_code(exc)})") from exc
        except BotoCoreError as exc:
            raise CheckpointError(f"KMS Verify failed ({_code(exc)})") from exc
        return response["SignatureValid"]


def _code(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "Unknown")
    return type(exc).__name__
