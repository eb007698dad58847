"""The one place that maps exceptions to HTTP responses `{"error": {"code", "message"}}`.

400: the question or policy set is refused (the message says why); 413: a policy set over the
size limits; 422: the body does not match the declared shape. Domain errors carry no status.
"""

from collections.abc import Awaitable, Callable

from echo_shared.authz.errors import (
    AuthzUnavailable,
    BaselineOverride,
    BatchTooLarge,
    ConcurrentPolicyChange,
    GoldenDecisionFailed,
    InvalidActivation,
    InvalidAuthzRequest,
    ListTooLarge,
    MalformedPolicy,
    PolicySetTooLarge,
    PolicyVersionNotFound,
    SchemaViolation,
    StoredPolicyUnusable,
    UnsupportedPolicy,
)
from echo_shared.observability import get_logger
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """A request the API refuses; the message is safe to return to the caller."""


class Unauthenticated(ApiError):
    pass


class Forbidden(ApiError):
    pass


# Order matters only for subclasses: the most specific class is registered, FastAPI picks by MRO.
ERROR_TABLE: dict[type[Exception], tuple[int, str]] = {
    InvalidAuthzRequest: (400, "invalid_request"),
    BatchTooLarge: (400, "batch_too_large"),
    ListTooLarge: (400, "list_too_large"),
    MalformedPolicy: (400, "malformed_policy"),
    UnsupportedPolicy: (400, "unsupported_policy"),
    BaselineOverride: (400, "baseline_override"),
    SchemaViolation: (400, "schema_violation"),
    GoldenDecisionFailed: (400, "golden_decision_failed"),
    PolicySetTooLarge: (413, "policy_set_too_large"),
    Unauthenticated: (401, "unauthenticated"),
    Forbidden: (403, "forbidden"),
    PolicyVersionNotFound: (404, "version_not_found"),
    InvalidActivation: (409, "invalid_activation"),
    ConcurrentPolicyChange: (409, "conflict"),
    StoredPolicyUnusable: (409, "policy_unusable"),
    AuthzUnavailable: (503, "unavailable"),
}
_SAFE_MESSAGES = {503: "a backing service is unavailable, retry later"}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}

type ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def _table_handler(status: int, code: str) -> ExceptionHandler:
    async def handle(_: Request, exc: Exception) -> Response:
        if status >= 500:
            get_logger().warning("dependency unavailable", extra={"error_type": type(exc).__name__})
        return error_response(status, code, _SAFE_MESSAGES.get(status, str(exc)))

    return handle


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
        for error in exc.errors()[:10]
    )
    return error_response(422, "validation_error", problems or "invalid request")


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, code.replace("_", " "))


async def _internal_error(_: Request, exc: Exception) -> Response:
    get_logger().exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(500, "internal_error", "internal error")


def register_error_handlers(app: FastAPI) -> None:
    for exc_type, (status, code) in ERROR_TABLE.items():
        app.add_exception_handler(exc_type, _table_handler(status, code))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
