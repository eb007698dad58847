"""The audit API's errors: its own refusals (Echo errors, see echo_shared.errors) and the table for
the stores' exceptions; echo_shared.web maps both.

400: the request is well-formed but the domain rejects it (filter combination, cursor).
422: the request does not match the declared parameters (types, ranges, unknown parameters).
Messages never echo request values.
"""

from echo_shared.audit import AuditStoreThrottled, CheckpointError
from echo_shared.authz.errors import AuthzUnavailable
from echo_shared.errors import EchoError, Forbidden, NotFound, Unauthenticated
from echo_shared.web import ErrorTable

__all__ = [
    "ERROR_TABLE",
    "Forbidden",
    "InvalidCursor",
    "InvalidFilter",
    "InvalidRange",
    "JobNotFound",
    "RangeTooWide",
    "Unauthenticated",
]


class InvalidFilter(EchoError):
    code = "invalid_filter"


class InvalidCursor(EchoError):
    code = "invalid_cursor"


class InvalidRange(EchoError):
    code = "invalid_range"


class RangeTooWide(EchoError):
    """The range is wider than one request may verify (bounded by the gateway's 29 s)."""

    code = "range_too_wide"


class JobNotFound(NotFound):
    """No verification job with this id for the caller's tenant."""


ERROR_TABLE: ErrorTable = {
    AuditStoreThrottled: (503, "unavailable"),
    CheckpointError: (503, "unavailable"),
    AuthzUnavailable: (503, "unavailable"),
}
