"""HTTP plumbing shared by Echo's FastAPI functions: the one place that turns errors into responses.

Every refusal is an `echo_shared.errors.EchoError` whose class states status and codes; exceptions
of other libraries are mapped by a function's `ErrorTable` (exception -> status, code). APIs answer
`{"error": {"code": ..., "message": ...}}`; OAuth endpoints (`ErrorStyle.OAUTH`) answer the
RFC 6749 body `{"error", "error_description"}`; HTML apps pass `page` to render errors as pages.
Also 422 for requests that do not match the declared shape, 404/405 from routing, and 500 with a
generic message for anything unexpected. 5xx answers never echo internal messages.

Only HTTP functions import this module; they bundle FastAPI themselves.
"""

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from echo_shared.errors import EchoError, Forbidden, Unauthenticated
from echo_shared.observability import get_logger

__all__ = [
    "NO_STORE",
    "ErrorStyle",
    "ErrorTable",
    "Forbidden",
    "Unauthenticated",
    "api_error",
    "oauth_error",
    "register_error_handlers",
    "request_id",
]

type ErrorTable = Mapping[type[Exception], tuple[int, str]]
type PageRenderer = Callable[[int, str], Response]
type ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]

_UNAVAILABLE_MESSAGE = "a backing service is unavailable, retry later"
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}
_MAX_VALIDATION_PROBLEMS = 10
# RFC 6749 §5.1 / RFC 6750: token responses and errors must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ErrorStyle(StrEnum):
    API = "api"
    OAUTH = "oauth"


async def request_id(request: Request) -> str:
    """The API Gateway request id of a Mangum-served request (else the Lambda invocation's id)."""
    event = request.scope.get("aws.event") or {}
    found = (event.get("requestContext") or {}).get("requestId")
    if isinstance(found, str) and found:
        return found
    return str(getattr(request.scope.get("aws.context"), "aws_request_id", "-"))


def api_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message}}, headers=NO_STORE
    )


def oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": error, "error_description": description},
        headers={**NO_STORE, **(headers or {})},
    )


def _oauth_headers(request: Request, status: int, error: str) -> dict[str, str]:
    if status == 401 and error == "invalid_client" and "authorization" in request.headers:
        return {"WWW-Authenticate": 'Basic realm="echo"'}
    if error in ("invalid_token", "insufficient_scope"):
        return {"WWW-Authenticate": f'Bearer realm="echo", error="{error}"'}
    return {}


def register_error_handlers(
    app: FastAPI,
    style: ErrorStyle = ErrorStyle.API,
    *,
    table: ErrorTable | None = None,
    page: PageRenderer | None = None,
) -> None:
    """Echo's errors by their class, `table` for other libraries' exceptions, and the common cases."""

    def respond(request: Request, status: int, code: str, oauth: str, message: str) -> Response:
        if status >= 500:
            message = _UNAVAILABLE_MESSAGE
        if page is not None:
            return page(status, message)
        if style is ErrorStyle.OAUTH:
            return oauth_error(status, oauth, message, _oauth_headers(request, status, oauth))
        return api_error(status, code, message)

    async def echo_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EchoError)
        if exc.status >= 500:
            get_logger().warning("dependency unavailable", extra={"error_type": type(exc).__name__})
        return respond(request, exc.status, exc.code, exc.oauth_error, str(exc))

    def mapped(status: int, code: str) -> ExceptionHandler:
        oauth = "temporarily_unavailable" if status >= 500 else "invalid_request"

        async def handle(request: Request, exc: Exception) -> Response:
            if status >= 500:
                get_logger().warning("dependency unavailable", extra={"error_type": type(exc).__name__})
            return respond(request, status, code, oauth, str(exc))

        return handle

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
            for error in exc.errors()[:_MAX_VALIDATION_PROBLEMS]
        )
        if page is not None:
            return page(400, "the request is not valid")
        if style is ErrorStyle.OAUTH:
            return oauth_error(400, "invalid_request", problems or "invalid request")
        return api_error(422, "validation_error", problems or "invalid request")

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        if page is not None:
            return page(exc.status_code, code.replace("_", " "))
        return api_error(exc.status_code, code, code.replace("_", " "))

    async def internal_error(_: Request, exc: Exception) -> Response:
        get_logger().exception("unhandled error", extra={"error_type": type(exc).__name__})
        if page is not None:
            return page(500, "something went wrong")
        if style is ErrorStyle.OAUTH:
            return oauth_error(500, "server_error", "internal error")
        return api_error(500, "internal_error", "internal error")

    app.add_exception_handler(EchoError, echo_error)
    for exc_type, (status, code) in (table or {}).items():
        app.add_exception_handler(exc_type, mapped(status, code))
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
