"""Echo's one error base. Every refusal a caller may see is an `EchoError`: its class states the
HTTP status, Echo's typed-body code and the RFC 6749 error code that OAuth endpoints answer instead,
so one handler (echo_shared.web) maps them all. The message is safe to return to the caller.

This module imports nothing, so any function (the authorizer and event consumers included) can
raise these without bundling a web framework.
"""

from typing import ClassVar


class EchoError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_request"
    oauth_error: ClassVar[str] = "invalid_request"


class InvalidInput(EchoError):
    code = "invalid_input"


class Unauthenticated(EchoError):
    status, code, oauth_error = 401, "unauthenticated", "invalid_token"


class Forbidden(EchoError):
    status, code, oauth_error = 403, "forbidden", "access_denied"


class NotFound(EchoError):
    status, code = 404, "not_found"


class Conflict(EchoError):
    status, code = 409, "conflict"


class Unavailable(EchoError):
    """A backing service throttled or failed; the caller may retry. The message is never shown."""

    status, code, oauth_error = 503, "unavailable", "temporarily_unavailable"
