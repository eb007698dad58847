"""The audit API's errors: its own refusals (Echo errors, see echo_shared.errors) and the table for
the stores' exceptions; echo_shared.web maps both.

400: the request is well-formed but the domain rejects it (filter combination, cursor).
422: the request does not match the declared parameters (types, ranges, unknown parameters).
Messages never echo request values.
"""

from echo_shared.audit import AuditStoreThrottled, CheckpointError
from echo_shared.authz.errors import AuthzUnavailable
from echo_shared.errors import EchoError, Forbidden, Unauthenticated
from echo_shared.web import ErrorTable

__all__ = ["ERROR_TABLE", "Forbidden", "InvalidCursor", "InvalidFilter", "Unauthenticated"]


class InvalidFilter(EchoError):
    code = "invalid_filter"


class InvalidCursor(EchoError):
    code = "invalid_cursor"


ERROR_TABLE: ErrorTable = {
    AuditStoreThrottled: (503, "unavailable"),
    CheckpointError: (503, "unavailable"),
    AuthzUnavailable: (503, "unavailable"),
}
