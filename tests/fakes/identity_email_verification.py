"""An in-memory EmailVerificationStore with the DynamoDB adapter's single-use semantics."""

import threading
from dataclasses import replace

from echo_shared.identity.email_verification import EmailVerification
from echo_shared.identity.errors import VerificationTokenUsed


class InMemoryEmailVerificationStore:
    def __init__(self) -> None:
        self.verifications: dict[str, EmailVerification] = {}
        self._lock = threading.Lock()

    def put_verification(self, verification: EmailVerification) -> None:
        self.verifications[verification.verification_id] = verification

    def get_verification(self, verification_id: str) -> EmailVerification | None:
        return self.verifications.get(verification_id)

    def use_verification(self, verification_id: str, *, now: int) -> None:
        with self._lock:
            current = self.verifications.get(verification_id)
            if current is None or current.used_at is not None:
                raise VerificationTokenUsed("this verification link was already used")
            self.verifications[verification_id] = replace(current, used_at=now)
