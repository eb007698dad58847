"""FastAPI plumbing shared by the identity's HTTP functions (login, token, users).

Imported only by functions that bundle FastAPI (never by the authorizer). The one table that maps
domain exceptions to HTTP lives here: each row gives the status, the code of Echo's typed body
`{"error": {"code", "message"}}` and the code of the RFC 6749 body `{"error", "error_description"}`
that OAuth endpoints answer instead. Domain exceptions carry no status codes.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from echo_shared.identity.errors import (
    AccessDenied,
    Conflict,
    Forbidden,
    IdentityError,
    IdentityStoreUnavailable,
    InsufficientScope,
    InvalidClient,
    InvalidGrant,
    InvalidInput,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    LoginRequired,
    NotFound,
    SigningUnavailable,
    TemporarilyUnavailable,
    Unauthenticated,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
)
from echo_shared.observability import get_logger


class ErrorRow(NamedTuple):
    status: int
    code: str  # Echo's typed body
    oauth_error: str  # RFC 6749 / 6750 body


ERROR_TABLE: dict[type[IdentityError], ErrorRow] = {
    InvalidRequest: ErrorRow(400, "invalid_request", "invalid_request"),
    InvalidClient: ErrorRow(401, "invalid_client", "invalid_client"),
    InvalidGrant: ErrorRow(400, "invalid_grant", "invalid_grant"),
    UnauthorizedClient: ErrorRow(400, "unauthorized_client", "unauthorized_client"),
    UnsupportedGrantType: ErrorRow(400, "unsupported_grant_type", "unsupported_grant_type"),
    UnsupportedResponseType: ErrorRow(400, "unsupported_response_type", "unsupported_response_type"),
    InvalidScope: ErrorRow(400, "invalid_scope", "invalid_scope"),
    AccessDenied: ErrorRow(403, "access_denied", "access_denied"),
    LoginRequired: ErrorRow(401, "login_required", "login_required"),
    InvalidToken: ErrorRow(401, "invalid_token", "invalid_token"),
    InsufficientScope: ErrorRow(403, "insufficient_scope", "insufficient_scope"),
    TemporarilyUnavailable: ErrorRow(503, "unavailable", "temporarily_unavailable"),
    InvalidInput: ErrorRow(400, "invalid_input", "invalid_request"),
    Unauthenticated: ErrorRow(401, "unauthenticated", "invalid_token"),
    Forbidden: ErrorRow(403, "forbidden", "access_denied"),
    NotFound: ErrorRow(404, "not_found", "invalid_request"),
    Conflict: ErrorRow(409, "conflict", "invalid_request"),
    IdentityStoreUnavailable: ErrorRow(503, "unavailable", "temporarily_unavailable"),
    SigningUnavailable: ErrorRow(503, "unavailable", "temporarily_unavailable"),
}
_UNAVAILABLE_MESSAGE = "a backing service is unavailable, retry later"
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}
# RFC 6749 §5.1 / RFC 6750: token responses and errors must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ErrorStyle(StrEnum):
    API = "api"
    OAUTH = "oauth"


type PageRenderer = Callable[[int, str], Response]
type ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


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


def _row_for(exc: IdentityError) -> ErrorRow:
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return ErrorRow(400, "invalid_request", "invalid_request")


def _identity_error_handler(style: ErrorStyle, page: PageRenderer | None) -> ExceptionHandler:
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IdentityError)
        row = _row_for(exc)
        message = _UNAVAILABLE_MESSAGE if row.status >= 500 else str(exc)
        if row.status >= 500:
            get_logger().warning("dependency unavailable", extra={"error_type": type(exc).__name__})
        if page is not None:
            return page(row.status, message)
        if style is ErrorStyle.API:
            return api_error(row.status, row.code, message)
        headers: dict[str, str] = {}
        error = row.oauth_error
        if row.status == 401 and error == "invalid_client" and "authorization" in request.headers:
            headers["WWW-Authenticate"] = 'Basic realm="echo"'
        elif error in ("invalid_token", "insufficient_scope"):
            headers["WWW-Authenticate"] = f'Bearer realm="echo", error="{error}"'
        return oauth_error(row.status, error, message, headers)

    return handle


def register_error_handlers(app: FastAPI, style: ErrorStyle, *, page: PageRenderer | None = None) -> None:
    """`page` (HTML apps) renders errors as pages; otherwise `style` picks the JSON body shape."""

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
            for error in exc.errors()
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

    app.add_exception_handler(IdentityError, _identity_error_handler(style, page))
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the API Gateway event says about the caller (never headers with credentials)."""

    request_id: str
    source_ip: str


def lambda_event(request: Request) -> dict[str, Any]:
    event = request.scope.get("aws.event")
    return event if isinstance(event, dict) else {}


def request_info(request: Request) -> RequestInfo:
    context = lambda_event(request).get("requestContext") or {}
    identity = context.get("identity") or {}
    source_ip = str(identity.get("sourceIp") or (request.client.host if request.client else "") or "unknown")
    return RequestInfo(
        request_id=str(context.get("requestId") or "unknown"),
        source_ip=source_ip.split("/", 1)[0],
    )


def single_values(form: FormData | Any, names: tuple[str, ...] | None = None) -> dict[str, str]:
    """Form or query parameters as single strings; a repeated parameter is refused (RFC 6749 §3.1)."""
    values: dict[str, str] = {}
    for name in set(form.keys()) if names is None else names:
        found = form.getlist(name)
        if len(found) > 1:
            raise InvalidRequest(f"parameter {name} repeated")
        if found:
            value = found[0]
            if not isinstance(value, str):
                raise InvalidRequest(f"parameter {name} must be text")
            values[name] = value
    return values
