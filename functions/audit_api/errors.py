"""The audit API's exception table: domain exceptions -> (status, code); see echo_shared.web.

400: the request is well-formed but the domain rejects it (filter combination, cursor).
422: the request does not match the declared parameters (types, ranges, unknown parameters).
Domain exceptions carry no status codes; messages never echo request values.
"""

from echo_shared.audit import AuditStoreThrottled, CheckpointError
from echo_shared.authz.errors import AuthzUnavailable
from echo_shared.web import ApiError, ErrorTable, Forbidden, Unauthenticated

__all__ = ["ERROR_TABLE", "Forbidden", "InvalidCursor", "InvalidFilter", "Unauthenticated"]


class InvalidFilter(ApiError):
    pass


class InvalidCursor(ApiError):
    pass


ERROR_TABLE: ErrorTable = {
    InvalidFilter: (400, "invalid_filter"),
    InvalidCursor: (400, "invalid_cursor"),
    AuditStoreThrottled: (503, "unavailable"),
    CheckpointError: (503, "unavailable"),
    AuthzUnavailable: (503, "unavailable"),
}
