"""Audit domain errors. Retryable ones send the SQS message back; none carries an HTTP status."""


class AuditError(Exception):
    """Base class for audit chain errors."""


class DuplicateEvent(AuditError):
    """The event id is already in the chain (the exactly-once guard exists)."""


class ChainConflict(AuditError):
    """Another writer took the sequence number, or a concurrent transaction touched the same items."""


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
