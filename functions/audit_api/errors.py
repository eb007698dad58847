"""The one place that maps exceptions to HTTP responses `{"error": {"code", "message"}}`.

400: the request is well-formed but the domain rejects it (filter combination, cursor).
422: the request does not match the declared parameters (types, ranges, unknown parameters).
Domain exceptions carry no status codes; messages never echo request values.
"""

from collections.abc import Awaitable, Callable

from echo_shared.audit import AuditStoreThrottled, CheckpointError
from echo_shared.observability import get_logger
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """A request the API refuses; the message is safe to return to the caller."""


class InvalidFilter(ApiError):
    pass


class InvalidCursor(ApiError):
    pass


class Unauthenticated(ApiError):
    pass


class Forbidden(ApiError):
    pass


ERROR_TABLE: dict[type[Exception], tuple[int, str]] = {
    InvalidFilter: (400, "invalid_filter"),
    InvalidCursor: (400, "invalid_cursor"),
    Unauthenticated: (401, "unauthenticated"),
    Forbidden: (403, "forbidden"),
    AuditStoreThrottled: (503, "unavailable"),
    CheckpointError: (503, "unavailable"),
}
_UNAVAILABLE_MESSAGE = "a backing service is unavailable, retry later"
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def _table_handler(status: int, code: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(_: Request, exc: Exception) -> Response:
        if status >= 500:
            get_logger().warning("dependency unavailable", extra={"error_type": type(exc).__name__})
            return error_response(status, code, _UNAVAILABLE_MESSAGE)
        return error_response(status, code, str(exc))

    return handle


async def _validation_error(_: Request, exc: RequestValidationError) -> Response:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
        for error in exc.errors()
    )
    return error_response(422, "validation_error", problems or "invalid request")


async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, code.replace("_", " "))


async def _internal_error(_: Request, exc: Exception) -> Response:
    get_logger().exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(500, "internal_error", "internal error")


def register_error_handlers(app: FastAPI) -> None:
    for exc_type, (status, code) in ERROR_TABLE.items():
        app.add_exception_handler(exc_type, _table_handler(status, code))
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(StarletteHTTPException)(_http_error)
    app.exception_handler(Exception)(_internal_error)
