"""Audit domain errors. Retryable ones send the SQS message back; none carries an HTTP status."""


class AuditError(Exception):
    """Base class for audit chain errors."""


class ChainConflict(AuditError):
    """A commit was refused and nothing of it was written.

    `duplicates` are the event ids whose exactly-once guard already exists (another consumer chained
    them); `seq_taken` says another writer took one of the sequence numbers or a concurrent
    transaction touched the same items, so the head must be read again.
    """

    def __init__(
        self, detail: str, *, duplicates: frozenset[str] = frozenset(), seq_taken: bool = True
    ) -> None:
        super().__init__(detail)
        self.duplicates = duplicates
        self.seq_taken = seq_taken


class AuditStoreThrottled(AuditError):
    """The store refused the request for capacity reasons (after the SDK's own retries)."""


class RetryableAuditError(AuditError):
    """Appending gave up for now; redelivery will try again (nothing was written)."""


class ChainContention(RetryableAuditError):
    """Too many concurrent writers on one tenant's chain."""


class AuditStoreUnavailable(RetryableAuditError):
    """The store kept throttling."""


class CheckpointError(AuditError):
    """A checkpoint could not be signed, stored, read or verified for an infrastructure reason."""
