"""An in-memory KeyVault with KMS's contract: private keys stay inside the object. In tests only, so
no production bundle carries a signer whose keys live in process memory."""

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from echo_shared.identity.errors import SigningUnavailable


class InMemoryKeyVault:
    """Test adapter with the same contract as KMS: private keys stay inside this object."""

    def __init__(self) -> None:
        self._keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.scheduled_for_deletion: set[str] = set()

    def create_signing_key(self) -> tuple[str, bytes]:
        key_ref = f"local-key-{len(self._keys) + 1}"
        private = ec.generate_private_key(ec.SECP256R1())
        self._keys[key_ref] = private
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return key_ref, public

    def schedule_deletion(self, key_ref: str) -> None:
        self.scheduled_for_deletion.add(key_ref)

    def sign(self, key_ref: str, message: bytes) -> bytes:
        if key_ref not in self._keys or key_ref in self.scheduled_for_deletion:
            raise SigningUnavailable("signing key unavailable")
        return self._keys[key_ref].sign(message, ec.ECDSA(hashes.SHA256()))
