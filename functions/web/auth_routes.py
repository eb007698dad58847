"""Sign in (authorization code + PKCE), the callback, sign out (RP-initiated logout)."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from web import cookies
from web.dependencies import CurrentSession, Service
from web.logic import finish_sign_in, require_csrf, safe_return_to, sign_out, start_sign_in
from web.pages import message_page, render, security_headers

router = APIRouter(prefix="/app")


def _redirect(service: Service, location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=security_headers(service.settings))


@router.get("/login")
def login(
    service: Service,
    return_to: Annotated[str | None, Query(max_length=512)] = None,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Without a tenant: ask which organisation (one client registration per tenant); then go."""
    if not tenant:
        return render(
            service.settings,
            "signin.html",
            title="Sign in",
            return_to=safe_return_to(service.settings, return_to),
            tenant=service.settings.default_tenant or "",
        )
    handle, location = start_sign_in(service, tenant, return_to)
    response = _redirect(service, location)
    cookies.set_cookie(
        response,
        cookies.LOGIN,
        handle,
        max_age=service.settings.login_ttl_seconds,
        secure=service.settings.secure_cookie,
    )
    return response


@router.get("/callback")
def callback(request: Request, service: Service) -> Response:
    params = {name: request.query_params.get(name, "") for name in ("code", "state", "error")}
    secure = service.settings.secure_cookie
    handle, _session, return_to = finish_sign_in(
        service, cookies.read_cookie(request, cookies.LOGIN, secure=secure), params
    )
    response = _redirect(service, return_to)
    cookies.clear_cookie(response, cookies.LOGIN, secure=secure)
    cookies.set_cookie(
        response,
        cookies.SESSION,
        handle,
        max_age=service.settings.session_absolute_seconds,
        secure=secure,
    )
    return response


@router.post("/logout")
def logout(
    request: Request,
    service: Service,
    session: CurrentSession,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    require_csrf(session, csrf_token, request.headers.get("origin"), service.settings)
    response = _redirect(service, sign_out(service, session))
    cookies.clear_cookie(response, cookies.SESSION, secure=service.settings.secure_cookie)
    return response


@router.get("/signed-out")
def signed_out(service: Service) -> Response:
    return message_page(
        service.settings,
        200,
        "Signed out",
        "You are signed out of Echo.",
        link=(service.settings.base_path + "login", "Sign in again"),
    )
