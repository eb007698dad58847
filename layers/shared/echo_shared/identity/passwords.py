"""Password and client-secret hashing (argon2id through pwdlib) and the password policy.

Parameters follow OWASP's argon2id minimum (19 MiB, t=2, p=1): login throughput is argon2-bound,
so this is the floor that keeps a Lambda core at tens of logins per second. Stored hashes carry
their parameters; a successful login re-hashes when they change.
"""

import secrets
import unicodedata
from functools import cache
from importlib import resources

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from echo_shared.identity.errors import PasswordRejected

ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128  # argon2 cost does not grow with length, but request bodies should stay small
BREACHED_LIST = "breached_passwords.txt"


class PasswordHasher:
    def __init__(self) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=ARGON2_TIME_COST,
                    memory_cost=ARGON2_MEMORY_KIB,
                    parallelism=ARGON2_PARALLELISM,
                ),
            )
        )
        self._dummy: str | None = None

    def hash(self, secret: str) -> str:
        return self._hash.hash(secret)

    def verify(self, secret: str, hashed: str) -> tuple[bool, str | None]:
        """(matches, replacement hash if the parameters changed)."""
        if len(secret) > MAX_PASSWORD_LENGTH:
            self.verify_dummy(secret[:MAX_PASSWORD_LENGTH])
            return False, None
        return self._hash.verify_and_update(secret, hashed)

    def verify_dummy(self, secret: str) -> None:
        """Spend the same time as a real verification when there is no user (or no client)."""
        if self._dummy is None:
            self._dummy = self._hash.hash(secrets.token_urlsafe(16))
        self._hash.verify(secret[:MAX_PASSWORD_LENGTH], self._dummy)


@cache
def breached_passwords() -> frozenset[str]:
    text = resources.files("echo_shared.identity").joinpath(BREACHED_LIST).read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password_policy(password: str, *, email: str) -> None:
    """NIST SP 800-63B style: length and a breached-list check, no composition rules."""
    normalized = unicodedata.normalize("NFKC", password)
    if len(normalized) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(normalized) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(f"use at most {MAX_PASSWORD_LENGTH} characters")
    lowered = normalized.lower()
    if lowered in breached_passwords():
        raise PasswordRejected("this password appears in known data breaches; choose another")
    if len(set(lowered)) < 4:
        raise PasswordRejected("this password is too repetitive")
    local_part = email.split("@", 1)[0]
    if len(local_part) >= 4 and local_part in lowered:
        raise PasswordRejected("the password must not contain your email address")


def generate_secret(length_bytes: int = 32) -> str:
    return secrets.token_urlsafe(length_bytes)
