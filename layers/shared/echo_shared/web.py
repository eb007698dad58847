"""HTTP plumbing shared by Echo's FastAPI functions: typed error bodies from one exception table.

Every API answers errors as `{"error": {"code": ..., "message": ...}}`. Each function declares its
own table (domain exception -> status, code); this module registers it together with the common
cases: 422 for requests that do not match the declared shape, 404/405 from routing, and 500 with a
generic message for anything unexpected. 5xx answers never echo internal messages.

Only HTTP functions import this module; they bundle FastAPI themselves.
"""

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from echo_shared.observability import get_logger

type ErrorTable = Mapping[type[Exception], tuple[int, str]]
type ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]

_UNAVAILABLE_MESSAGE = "a backing service is unavailable, retry later"
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}
_MAX_VALIDATION_PROBLEMS = 10


class ApiError(Exception):
    """A request the API refuses; the message is safe to return to the caller."""


class Unauthenticated(ApiError):
    pass


class Forbidden(ApiError):
    pass


CALLER_ERRORS: ErrorTable = {Unauthenticated: (401, "unauthenticated"), Forbidden: (403, "forbidden")}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def _table_handler(status: int, code: str) -> ExceptionHandler:
    async def handle(_: Request, exc: Exception) -> Response:
        if status >= 500:
            get_logger().warning("dependency unavailable", extra={"error_type": type(exc).__name__})
            return error_response(status, code, _UNAVAILABLE_MESSAGE)
        return error_response(status, code, str(exc))

    return handle


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
        for error in exc.errors()[:_MAX_VALIDATION_PROBLEMS]
    )
    return error_response(422, "validation_error", problems or "invalid request")


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, code.replace("_", " "))


async def _internal_error(_: Request, exc: Exception) -> Response:
    get_logger().exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(500, "internal_error", "internal error")


def register_error_handlers(app: FastAPI, table: ErrorTable) -> None:
    """Map `table` (plus the caller errors and the common cases) to typed error bodies."""
    for exc_type, (status, code) in {**CALLER_ERRORS, **table}.items():
        app.add_exception_handler(exc_type, _table_handler(status, code))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
