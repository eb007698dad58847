"""Client secrets: high-entropy random values verified with a keyed hash (HMAC-SHA256).

A client secret is 256 random bits, so it needs no slow hash: nobody can guess it, and a
stolen table is useless without the server-side key (a Secrets Manager secret, never in code or
the environment). One HMAC costs microseconds, so an unauthenticated `/token` flood cannot burn
CPU the way argon2 verifications would; an unknown client costs the same HMAC and compare.
Passwords, which people choose, stay argon2id (echo_shared.identity.passwords).
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from echo_shared import aws
from echo_shared.identity.errors import IdentityStoreUnavailable

SCHEME = "hmac-sha256"
SECRET_BYTES = 32
MIN_KEY_BYTES = 32
MAX_SECRET_LENGTH = 256
# Must match stacks/identity.py CLIENT_SECRET_KEY_SUFFIX (CDK never imports function code).
KEY_NAME_SUFFIX = "identity-client-secret-key"


def client_secret_key_name(stage: str) -> str:
    return f"echo-{stage}-{KEY_NAME_SUFFIX}"


def generate_client_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


class ClientSecretHasher:
    """`hmac-sha256$<base64url digest>`; the key is read on first use (once per process)."""

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        self._key_source = key
        self._key: bytes | None = None

    def _keyed(self, secret: str) -> bytes:
        if self._key is None:
            key = self._key_source if isinstance(self._key_source, bytes) else self._key_source()
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"the client-secret key must have at least {MIN_KEY_BYTES} bytes")
            self._key = key
        return hmac.new(self._key, secret[:MAX_SECRET_LENGTH].encode("utf-8"), hashlib.sha256).digest()

    def hash(self, secret: str) -> str:
        return f"{SCHEME}${base64.urlsafe_b64encode(self._keyed(secret)).decode('ascii')}"

    def verify(self, secret: str, stored: str | None) -> bool:
        """Constant time; the same work whether or not there is a stored hash (unknown client)."""
        presented = self.hash(secret)
        expected = stored if stored is not None and stored.startswith(f"{SCHEME}$") else None
        same = hmac.compare_digest(presented.encode("ascii"), (expected or _MISSING).encode("ascii"))
        return same and expected is not None

    def is_current(self, stored: str | None) -> bool:
        """Whether `stored` is in this scheme (else it is a legacy hash to migrate)."""
        return stored is not None and stored.startswith(f"{SCHEME}$")


# Same length as a real hash, matching nothing a secret can produce.
_MISSING = f"{SCHEME}${'*' * 44}"


def key_from_secrets_manager(secret_id: str, client: Any = None) -> Callable[[], bytes]:
    """A key source reading the Secrets Manager secret once, when the first secret is checked."""

    def read() -> bytes:
        try:
            value = (client or aws.client("secretsmanager")).get_secret_value(SecretId=secret_id)
        except (BotoCoreError, ClientError) as exc:
            raise IdentityStoreUnavailable("the client-secret key is unavailable") from exc
        return str(value["SecretString"]).encode("utf-8")

    return read
