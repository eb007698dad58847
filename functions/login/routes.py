"""The hosted login's routes. Each reads the request, calls the logic, and sets cookies/pages."""

from collections.abc import Callable
from dataclasses import dataclass

from echo_shared.authz.caller import user_actor
from echo_shared.events import is_valid_tenant
from echo_shared.identity.clients import OAuthClient
from echo_shared.identity.email_verification import VERIFY_EMAIL_PATH
from echo_shared.identity.errors import (
    VerificationTokenExpired,
    VerificationTokenInvalid,
    VerificationTokenUsed,
)
from echo_shared.identity.events import IdentityEvent
from echo_shared.identity.grants import AuthorizationRequest, LoginTransaction, handle_digest
from echo_shared.identity.passwords import MIN_PASSWORD_LENGTH
from echo_shared.identity.users import User
from echo_shared.identity.web import request_info, single_values
from echo_shared.web import api_error
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from login import cookies
from login.dependencies import Service
from login.logic import LoginService
from login.logic.authentication import (
    LOCKED_OUT,
    RegistrationRefused,
    SignInFailed,
    TemporarilyLocked,
    register,
    sign_in,
)
from login.logic.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    issue_code,
    session_satisfies,
    validate_request,
)
from login.logic.browser import (
    SignedIn,
    csrf_matches,
    current_session,
    current_transaction,
    start_session,
    start_transaction,
)
from login.logic.consent import (
    consent_lines,
    consent_required,
    decide,
    list_consents,
    pending_consent,
    revoke_consent,
)
from login.logic.email_verification import verify_email
from login.logic.logout import logout_target
from login.pages import message_page, render, security_headers

FORM_FIELDS = ("email", "password", "csrf_token")
EXPIRED_FORM = "This form has expired. Go back to the application and start signing in again."

router = APIRouter()


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=security_headers())


def _cookie(request: Request, service: LoginService, base: str) -> str | None:
    return cookies.read_cookie(request, base, secure=service.secure_cookies)


@router.get("/authorize")
def authorize(request: Request, service: Service) -> Response:
    return _authorize(
        request, service, {name: request.query_params.getlist(name) for name in request.query_params}
    )


@router.post("/authorize")
async def authorize_post(request: Request, service: Service) -> Response:
    """OIDC Core 3.1.2.1: the same request, form-encoded in the body."""
    form = await request.form()
    return _authorize(request, service, {name: [str(v) for v in form.getlist(name)] for name in form})


def _authorize(request: Request, service: LoginService, params: dict[str, list[str]]) -> Response:
    try:
        client, authorization = validate_request(service, params)
    except AuthorizationPageError as exc:
        return message_page(400, "Sign-in request refused", str(exc))
    except AuthorizationRedirectError as exc:
        return _redirect(exc.location(service.issuer_url))
    signed_in = current_session(service, _cookie(request, service, cookies.SESSION))
    if signed_in is not None and session_satisfies(service, signed_in.session, client, authorization):
        return _answer(service, client, authorization, signed_in.user, signed_in.session.auth_time)
    if authorization.prompt == "none":
        error = AuthorizationRedirectError(
            "login_required", "the user must sign in", authorization.redirect_uri, authorization.state
        )
        return _redirect(error.location(service.issuer_url))
    handle, _ = start_transaction(service, tenant=client.tenant, request=authorization)
    response = _redirect(service.url("/login"))
    cookies.set_cookie(
        response, cookies.LOGIN, handle, max_age=service.login_ttl, secure=service.secure_cookies
    )
    return response


@router.get("/login")
def login_page(request: Request, service: Service) -> Response:
    transaction = current_transaction(service, _cookie(request, service, cookies.LOGIN))
    handle = None
    if transaction is None:
        tenant = request.query_params.get("tenant", "")
        if not is_valid_tenant(tenant):
            return message_page(400, "Sign in", "Start signing in from an Echo application.")
        handle, transaction = start_transaction(service, tenant=tenant, request=None)
    hint = transaction.request.login_hint if transaction.request else None
    response = _credentials_form(service, transaction, SIGN_IN_PAGE, email=hint or "")
    if handle is not None:
        cookies.set_cookie(
            response, cookies.LOGIN, handle, max_age=service.login_ttl, secure=service.secure_cookies
        )
    return response


@router.post("/login")
async def login_submit(request: Request, service: Service) -> Response:
    return await _submit_credentials(request, service, SIGN_IN_PAGE)


@router.get("/register")
def register_page(request: Request, service: Service) -> Response:
    transaction = current_transaction(service, _cookie(request, service, cookies.LOGIN))
    if transaction is None or not _registration_open(service, transaction):
        return message_page(403, "Create an account", "Registration starts from an Echo application.")
    return _credentials_form(service, transaction, REGISTER_PAGE)


@router.post("/register")
async def register_submit(request: Request, service: Service) -> Response:
    return await _submit_credentials(request, service, REGISTER_PAGE)


@router.get(VERIFY_EMAIL_PATH)
def verify_email_page(request: Request, service: Service) -> Response:
    """The link from the mail asks for one click: mail scanners that fetch links must not spend a
    single-use token. The token stays in the page (Referrer-Policy: no-referrer, no-store)."""
    token = request.query_params.get("token", "")
    return render(
        "verify_email.html", title="Verify your email", action=service.url(VERIFY_EMAIL_PATH), token=token
    )


VERIFICATION_REFUSED = (VerificationTokenInvalid, VerificationTokenExpired, VerificationTokenUsed)


@router.post(VERIFY_EMAIL_PATH)
async def verify_email_submit(request: Request, service: Service) -> Response:
    """Token in the form (the page's button) or the query (`POST /verify-email?token=`). A client
    that accepts JSON gets Echo's typed body; a browser gets a page with the same status."""
    form = single_values(await request.form(), ("token",))
    token = form.get("token") or request.query_params.get("token", "")
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        user = verify_email(service, token[:256], request_id=request_info(request).request_id)
    except VERIFICATION_REFUSED as exc:
        if wants_json:
            return api_error(exc.status, exc.code, str(exc))
        return message_page(exc.status, "Email not verified", str(exc))
    if wants_json:
        return JSONResponse(
            {"verified": True, "roles": list(user.role_names)}, headers={"Cache-Control": "no-store"}
        )
    return message_page(200, "Email verified", "Your email is verified. You can close this page.")


@router.get("/logout")
def logout_page(request: Request, service: Service) -> Response:
    params = single_values(
        request.query_params, ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")
    )
    target = logout_target(service, params)
    signed_in = current_session(service, _cookie(request, service, cookies.SESSION))
    if signed_in is None:
        location = target.location()
        return _redirect(location) if location else message_page(200, "Signed out", "You are signed out.")
    handle, transaction = start_transaction(service, tenant=signed_in.user.tenant, request=None)
    response = render(
        "logout.html",
        title="Sign out",
        action=service.url("/logout"),
        csrf_token=transaction.csrf_token,
        client_id=target.client_id,
        post_logout_redirect_uri=target.redirect_uri,
        state=target.state,
    )
    cookies.set_cookie(
        response, cookies.LOGIN, handle, max_age=service.login_ttl, secure=service.secure_cookies
    )
    return response


@router.post("/logout")
async def logout_submit(request: Request, service: Service) -> Response:
    form = single_values(
        await request.form(), ("csrf_token", "post_logout_redirect_uri", "state", "client_id")
    )
    transaction = current_transaction(service, _cookie(request, service, cookies.LOGIN))
    if not csrf_matches(transaction, form.get("csrf_token")):
        return message_page(403, "Sign out", EXPIRED_FORM)
    session_handle = _cookie(request, service, cookies.SESSION)
    signed_in = current_session(service, session_handle)
    if signed_in is not None and session_handle is not None:
        service.sessions.delete_session(handle_digest(session_handle))
        service.events.emit(
            IdentityEvent.USER_LOGGED_OUT,
            tenant=signed_in.user.tenant,
            actor=user_actor(signed_in.user.user_id),
            resource=f"user/{signed_in.user.user_id}",
            request_id=request_info(request).request_id,
        )
    if transaction is not None:
        service.transactions.delete_transaction(transaction.handle_hash)
    location = logout_target(service, form).location()
    response: Response = (
        _redirect(location) if location else message_page(200, "Signed out", "You are signed out.")
    )
    cookies.clear_cookie(response, cookies.SESSION, secure=service.secure_cookies)
    cookies.clear_cookie(response, cookies.LOGIN, secure=service.secure_cookies)
    return response


def _answer(
    service: LoginService,
    client: OAuthClient,
    authorization: AuthorizationRequest,
    user: User,
    auth_time: int,
) -> Response:
    """A signed-in user's answer to the request: a code, or first the consent page (a third-party
    client asking for scopes not yet granted), or `consent_required` under `prompt=none`."""
    pending = pending_consent(service, client, authorization, user)
    if not pending:
        response: Response = _redirect(issue_code(service, authorization, user, auth_time))
        cookies.clear_cookie(response, cookies.LOGIN, secure=service.secure_cookies)
        return response
    if authorization.prompt == "none":
        return _redirect(consent_required(authorization).location(service.issuer_url))
    handle, transaction = start_transaction(service, tenant=client.tenant, request=authorization)
    response = render(
        "consent.html",
        title="Allow access",
        action=service.url(CONSENT_PATH),
        csrf_token=transaction.csrf_token,
        client_name=client.name,
        scopes=consent_lines(authorization, pending),
        email=user.email,
    )
    cookies.set_cookie(
        response, cookies.LOGIN, handle, max_age=service.login_ttl, secure=service.secure_cookies
    )
    return response


CONSENT_PATH = "/consent"
CONSENTS_PATH = "/consents"
CONSENT_FORM_FIELDS = ("csrf_token", "decision")


@router.post(CONSENT_PATH)
async def consent_submit(request: Request, service: Service) -> Response:
    """The consent page's answer: `decision=approve` or anything else (deny)."""
    form = single_values(await request.form(), CONSENT_FORM_FIELDS)
    transaction = current_transaction(service, _cookie(request, service, cookies.LOGIN))
    signed_in = current_session(service, _cookie(request, service, cookies.SESSION))
    if (
        transaction is None
        or transaction.request is None
        or not csrf_matches(transaction, form.get("csrf_token"))
        or signed_in is None
        or signed_in.user.tenant != transaction.tenant
    ):
        return message_page(403, "Allow access", EXPIRED_FORM)
    service.transactions.delete_transaction(transaction.handle_hash)
    location = decide(
        service,
        transaction.request,
        signed_in.user,
        signed_in.session.auth_time,
        approved=form.get("decision") == "approve",
        request_id=request_info(request).request_id,
    )
    response = _redirect(location)
    cookies.clear_cookie(response, cookies.LOGIN, secure=service.secure_cookies)
    return response


@router.get(CONSENTS_PATH)
def consents_page(request: Request, service: Service) -> Response:
    """The signed-in user's consents, each with a revoke button (a CSRF-protected form)."""
    signed_in = current_session(service, _cookie(request, service, cookies.SESSION))
    if signed_in is None:
        return message_page(401, "Applications", "Sign in to Echo from an application first.")
    return _consents_page(service, signed_in)


def _consents_page(service: LoginService, signed_in: SignedIn) -> Response:
    handle, transaction = start_transaction(service, tenant=signed_in.user.tenant, request=None)
    response = render(
        "consents.html",
        title="Applications",
        action=service.url(f"{CONSENTS_PATH}/revoke"),
        csrf_token=transaction.csrf_token,
        consents=list_consents(service, signed_in.user),
    )
    cookies.set_cookie(
        response, cookies.LOGIN, handle, max_age=service.login_ttl, secure=service.secure_cookies
    )
    return response


@router.post(f"{CONSENTS_PATH}/revoke")
async def consents_revoke(request: Request, service: Service) -> Response:
    form = single_values(await request.form(), ("csrf_token", "client_id"))
    transaction = current_transaction(service, _cookie(request, service, cookies.LOGIN))
    signed_in = current_session(service, _cookie(request, service, cookies.SESSION))
    if not csrf_matches(transaction, form.get("csrf_token")) or signed_in is None:
        return message_page(403, "Applications", EXPIRED_FORM)
    revoke_consent(
        service, signed_in.user, form.get("client_id", "")[:128], request_id=request_info(request).request_id
    )
    return _consents_page(service, signed_in)


def _finish_sign_in(
    request: Request, service: LoginService, transaction: LoginTransaction, user: User
) -> Response:
    handle, session = start_session(service, user, replacing=_cookie(request, service, cookies.SESSION))
    service.transactions.delete_transaction(transaction.handle_hash)
    response: Response
    client = None if transaction.request is None else service.clients.get(transaction.request.client_id)
    if transaction.request is not None and client is not None:
        response = _answer(service, client, transaction.request, user, session.auth_time)
    else:
        response = message_page(200, "Signed in", "You are signed in to Echo. You can close this page.")
        cookies.clear_cookie(response, cookies.LOGIN, secure=service.secure_cookies)
    cookies.set_cookie(
        response, cookies.SESSION, handle, max_age=service.session_ttl, secure=service.secure_cookies
    )
    return response


def _registration_open(service: LoginService, transaction: LoginTransaction) -> bool:
    if transaction.request is None:
        return False
    client = service.clients.get(transaction.request.client_id)
    return client is not None and client.allow_registration and client.tenant == transaction.tenant


@dataclass(frozen=True, slots=True)
class CredentialsPage:
    """The two email + password forms: sign in and create an account."""

    path: str
    template: str
    title: str
    submit: Callable[..., User]
    refused: type[Exception]
    refused_status: int


SIGN_IN_PAGE = CredentialsPage("/login", "login.html", "Sign in", sign_in, SignInFailed, 401)
REGISTER_PAGE = CredentialsPage(
    "/register", "register.html", "Create an account", register, RegistrationRefused, 400
)


async def _submit_credentials(request: Request, service: LoginService, page: CredentialsPage) -> Response:
    form = single_values(await request.form(), FORM_FIELDS)
    transaction = current_transaction(service, _cookie(request, service, cookies.LOGIN))
    if transaction is None or not csrf_matches(transaction, form.get("csrf_token")):
        return message_page(403, page.title, EXPIRED_FORM)
    if page is REGISTER_PAGE and not _registration_open(service, transaction):
        return message_page(403, page.title, "Registration starts from an Echo application.")
    email = form.get("email", "")
    try:
        user = page.submit(
            service,
            tenant=transaction.tenant,
            email=email,
            password=form.get("password", ""),
            request=request_info(request),
        )
    except TemporarilyLocked as exc:
        headers = {"Retry-After": str(max(exc.retry_after, 1))}
        return _credentials_form(
            service, transaction, page, email=email, error=LOCKED_OUT, status=429, headers=headers
        )
    except page.refused as exc:
        return _credentials_form(
            service, transaction, page, email=email, error=str(exc), status=page.refused_status
        )
    return _finish_sign_in(request, service, transaction, user)


def _credentials_form(
    service: LoginService,
    transaction: LoginTransaction,
    page: CredentialsPage,
    *,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    links: dict[str, object]
    if page is SIGN_IN_PAGE:
        links = {
            "register_url": service.url("/register") if _registration_open(service, transaction) else None
        }
    else:
        links = {"login_url": service.url("/login"), "min_length": MIN_PASSWORD_LENGTH}
    return render(
        page.template,
        status=status,
        headers=headers,
        title=page.title,
        action=service.url(page.path),
        csrf_token=transaction.csrf_token,
        email=email[:254],
        error=error,
        **links,
    )
