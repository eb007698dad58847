"""The web app: routers plus the one table that turns domain errors into pages or typed JSON."""

from urllib.parse import quote

from echo_shared.observability import get_logger
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from web.api_routes import router as api_router
from web.auth_routes import router as auth_router
from web.dependencies import get_settings
from web.errors import (
    ApiRefused,
    BackendUnavailable,
    BadInput,
    CsrfRejected,
    NotAllowed,
    NotSignedIn,
    SignInFailed,
    WebError,
)
from web.page_routes import router as page_router
from web.pages import message_page, security_headers

API_PREFIX = "/app/api/"
ERROR_TABLE: dict[type[WebError], tuple[int, str, str]] = {
    NotSignedIn: (401, "not_signed_in", "Sign in"),
    CsrfRejected: (403, "csrf_rejected", "Request refused"),
    SignInFailed: (400, "sign_in_failed", "Sign-in failed"),
    NotAllowed: (403, "forbidden", "Not allowed"),
    BadInput: (400, "invalid_input", "Check your input"),
    BackendUnavailable: (503, "unavailable", "Temporarily unavailable"),
}

app = FastAPI(title="Echo web", docs_url=None, redoc_url=None, openapi_url=None)
app.include_router(auth_router)
app.include_router(page_router)
app.include_router(api_router)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _json(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers=security_headers(get_settings()),
    )


@app.exception_handler(WebError)
async def web_error(request: Request, exc: WebError) -> Response:
    settings = get_settings()
    if isinstance(exc, ApiRefused):
        status, code, title = exc.status, exc.code, "Request refused"
    else:
        status, code, title = ERROR_TABLE.get(type(exc), (500, "internal", "Something went wrong"))
    if status >= 500:
        get_logger().warning("web request failed", extra={"code": code, "path": request.url.path})
    if _wants_json(request):
        return _json(status, code, str(exc))
    if isinstance(exc, NotSignedIn) and request.method == "GET":
        # The function sees the resource path (`/app/...`); the browser knows the public one.
        public_path = settings.base_path + request.url.path.removeprefix("/app").lstrip("/")
        return_to = quote(public_path, safe="/")
        location = f"{settings.base_path}login?return_to={return_to}"
        return RedirectResponse(location, status_code=303, headers=security_headers(settings))
    return message_page(settings, status, title, str(exc))


@app.exception_handler(RequestValidationError)
async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc'][1:]) or 'request'}: {error['msg']}" for error in exc.errors()
    )[:500]
    if _wants_json(request):
        return _json(422, "invalid_input", problems)
    return message_page(get_settings(), 400, "Check your input", problems)


@app.exception_handler(StarletteHTTPException)
async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    if _wants_json(request):
        return _json(exc.status_code, code, str(exc.detail))
    return message_page(
        get_settings(), exc.status_code, "Not found" if exc.status_code == 404 else "Error", str(exc.detail)
    )
