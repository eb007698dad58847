"""The KMS key vault: asymmetric ECC_NIST_P256 keys, ECDSA_SHA_256 over RAW messages.

Keys are tagged so that IAM policies can grant Sign/GetPublicKey on exactly the token-signing keys
of one stage (attribute-based access: the key ARNs do not exist when the stack is deployed).
"""

from typing import TYPE_CHECKING, Final, Literal

from botocore.exceptions import BotoCoreError, ClientError

from echo_shared import aws
from echo_shared.identity.errors import SigningUnavailable

if TYPE_CHECKING:
    from types_boto3_kms.client import KMSClient

SIGNING_ALGORITHM: Final[Literal["ECDSA_SHA_256"]] = "ECDSA_SHA_256"
PURPOSE_TAG = "echo-token-signing"
MIN_DELETION_WINDOW_DAYS = 7


class KmsKeyVault:
    def __init__(
        self,
        *,
        stage: str,
        deletion_window_days: int = 30,
        client: "KMSClient | None" = None,
    ) -> None:
        self._stage = stage
        self._deletion_window_days = max(MIN_DELETION_WINDOW_DAYS, deletion_window_days)
        self._client = client or aws.client("kms")

    def sign(self, key_ref: str, message: bytes) -> bytes:
        try:
            response = self._client.sign(
                KeyId=key_ref, Message=message, MessageType="RAW", SigningAlgorithm=SIGNING_ALGORITHM
            )
        except (ClientError, BotoCoreError) as exc:
            raise SigningUnavailable(f"KMS Sign failed ({_code(exc)})") from exc
        return response["Signature"]

    def create_signing_key(self) -> tuple[str, bytes]:
        try:
            metadata = self._client.create_key(
                Description=f"Echo {self._stage} token signing key (ES256)",
                KeySpec="ECC_NIST_P256",
                KeyUsage="SIGN_VERIFY",
                Tags=[{"TagKey": PURPOSE_TAG, "TagValue": self._stage}],
            )["KeyMetadata"]
            public = self._client.get_public_key(KeyId=metadata["Arn"])["PublicKey"]
        except (ClientError, BotoCoreError) as exc:
            raise SigningUnavailable(f"KMS key creation failed ({_code(exc)})") from exc
        return metadata["Arn"], public

    def schedule_deletion(self, key_ref: str) -> None:
        try:
            # The bare key id (our keys live in this account) works everywhere, moto included.
            key_id = key_ref.rsplit("/", 1)[-1]
            self._client.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=self._deletion_window_days)
        except ClientError as exc:
            if _code(exc) == "KMSInvalidStateException":  # already pending deletion
                return
            raise SigningUnavailable(f"KMS ScheduleKeyDeletion failed ({_code(exc)})") from exc
        except BotoCoreError as exc:
            raise SigningUnavailable(f"KMS ScheduleKeyDeletion failed ({_code(exc)})") from exc


def _code(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "Unknown")
    return type(exc).__name__
