"""The pages. Each composes the session, asks the logic, and renders one template."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from web import admin
from web.dependencies import CurrentSession, Service
from web.errors import ApiRefused, NotAllowed
from web.logic import Capabilities, call_api, capabilities, require_csrf
from web.pages import render, static_asset
from web.sessions import WebSession

router = APIRouter(prefix="/app")
USER_ID = r"^[A-Za-z0-9_-]{1,64}$"
VERSION = r"^v?\d{1,9}$"
CURSOR = Annotated[str | None, Query(max_length=2048)]
FILTER = Annotated[str | None, Query(max_length=256)]
NOTICES = {
    "disabled": "The user is disabled.",
    "deleted": "The user is deleted.",
    "activated": "The policy version is active.",
    "rolled_back": "The policies are rolled back.",
    "proposed": "The new policy version is stored; review it and activate it.",
}


def _page(
    service: Service,
    session: WebSession,
    template: str,
    title: str,
    *,
    caps: Capabilities | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    caps = caps or capabilities(service, session)
    return render(
        service.settings, template, status=status, title=title, session=session, caps=caps, **context
    )


def _back(service: Service, path: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{service.settings.base_path}{path}?done={notice}", status_code=303)


def _notice(done: str | None) -> str | None:
    return NOTICES.get(done or "")


@router.get("")
@router.get("/")
def home(service: Service) -> Response:
    return RedirectResponse(service.settings.base_path + "documents", status_code=303)


@router.get("/static/{name}")
def static(service: Service, name: Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,40}\.(css|js)$")]) -> Response:
    asset = static_asset(service.settings, name)
    if asset is None:
        return render(
            service.settings, "message.html", status=404, title="Not found", message="No such file."
        )
    return asset


@router.get("/documents")
def documents(service: Service, session: CurrentSession) -> Response:
    return _page(service, session, "documents.html", "Documents", scripts=["documents.js"])


@router.get("/ask")
def ask(service: Service, session: CurrentSession) -> Response:
    return _page(service, session, "ask.html", "Ask", scripts=["ask.js"])


@router.get("/activity")
def activity(service: Service, session: CurrentSession, cursor: CURSOR = None) -> Response:
    caps = capabilities(service, session)
    page = call_api(
        service,
        session,
        "GET",
        "audit/events",
        query={"actor": f"user:{session.user_id}", "limit": "25", "cursor": cursor},
    )
    verification = None
    if caps.verify:
        try:
            verification = call_api(service, session, "GET", "audit/verify")
        except ApiRefused:
            verification = None
    return _page(
        service, session, "activity.html", "My activity", caps=caps, page=page, verification=verification
    )


@router.get("/admin/users")
def admin_users(
    service: Service, session: CurrentSession, cursor: CURSOR = None, done: FILTER = None
) -> Response:
    caps = admin.require(service, session, "users")
    page = call_api(service, session, "GET", "users", query={"limit": "50", "cursor": cursor})
    return _page(service, session, "admin_users.html", "Users", caps=caps, page=page, notice=_notice(done))


@router.post("/admin/users/{user_id}/{action}")
def admin_user_action(
    request: Request,
    service: Service,
    session: CurrentSession,
    user_id: Annotated[str, Path(pattern=USER_ID)],
    action: Annotated[str, Path(pattern=r"^(disable|delete)$")],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    require_csrf(session, csrf_token, request.headers.get("origin"), service.settings)
    admin.require(service, session, "users")
    if action == "disable":
        call_api(service, session, "POST", f"users/{user_id}/disable")
        return _back(service, "admin/users", "disabled")
    call_api(service, session, "DELETE", f"users/{user_id}")
    return _back(service, "admin/users", "deleted")


@router.get("/admin/policies")
def admin_policies(
    service: Service,
    session: CurrentSession,
    version: Annotated[str | None, Query(pattern=VERSION)] = None,
    done: FILTER = None,
) -> Response:
    caps = admin.require(service, session, "policies")
    view = admin.policy_view(service, session, version)
    return _page(
        service, session, "admin_policies.html", "Policies", caps=caps, view=view, notice=_notice(done)
    )


@router.post("/admin/policies")
def admin_propose(
    request: Request,
    service: Service,
    session: CurrentSession,
    policies: Annotated[str, Form(max_length=200_000)],
    description: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    require_csrf(session, csrf_token, request.headers.get("origin"), service.settings)
    caps = admin.require(service, session, "policies")
    try:
        proposal = call_api(
            service, session, "PUT", "authz/policies", body={"policies": policies, "description": description}
        )
    except ApiRefused as refused:
        view = admin.policy_view(service, session, None)
        return _page(
            service, session, "admin_policies.html", "Policies", caps=caps, view=view,
            error=f"The policies were not stored: {refused}", draft=policies, draft_description=description,
            status=400,
        )  # fmt: skip
    version = re.sub(r"[^v0-9]", "", str(proposal.get("version", "")))
    return RedirectResponse(
        f"{service.settings.base_path}admin/policies?version={version}&done=proposed", status_code=303
    )


@router.post("/admin/policies/{version}/{action}")
def admin_policy_action(
    request: Request,
    service: Service,
    session: CurrentSession,
    version: Annotated[str, Path(pattern=VERSION)],
    action: Annotated[str, Path(pattern=r"^(activate|rollback)$")],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    require_csrf(session, csrf_token, request.headers.get("origin"), service.settings)
    admin.require(service, session, "policies")
    call_api(service, session, "POST", f"authz/policies/{version}/{action}")
    return _back(service, "admin/policies", "activated" if action == "activate" else "rolled_back")


@router.get("/admin/logs")
def admin_logs(
    service: Service,
    session: CurrentSession,
    type: FILTER = None,
    actor: FILTER = None,
    resource: FILTER = None,
    since: FILTER = None,
    until: FILTER = None,
    cursor: CURSOR = None,
) -> Response:
    caps = admin.require(service, session, "logs")
    filters = {"type": type, "actor": actor, "resource": resource, "since": since, "until": until}
    try:
        page = call_api(service, session, "GET", "logs", query={**filters, "limit": "50", "cursor": cursor})
        error = None
    except ApiRefused as refused:
        if refused.status == 403:
            raise NotAllowed(str(refused)) from None
        page, error = {"items": [], "next_cursor": None}, f"The filters were refused: {refused}"
    return _page(
        service,
        session,
        "admin_logs.html",
        "Application logs",
        caps=caps,
        page=page,
        filters=filters,
        error=error,
    )
