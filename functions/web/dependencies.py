"""Settings, adapters and per-request dependencies, built once per process on first use."""

import time
from typing import Annotated

import boto3
from echo_shared.lazy import cached_resource
from fastapi import Depends, Request

from web import cookies
from web.logic import WebService, current_session, require_csrf
from web.oidc import OidcClient
from web.sessions import DynamoSessionStore, WebSession
from web.settings import WebSettings
from web.transport import UrllibTransport

CSRF_HEADER = "X-CSRF-Token"


def _now() -> int:
    return int(time.time())


@cached_resource
def get_settings() -> WebSettings:
    return WebSettings.from_env()


@cached_resource
def _client_secret() -> str:
    """The OIDC client secret, from Secrets Manager (never in the environment), read once."""
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=get_settings().client_secret_arn)
    return str(secret["SecretString"])


@cached_resource
def get_service() -> WebService:
    settings = get_settings()
    transport = UrllibTransport(timeout_seconds=settings.api_timeout_seconds)
    return WebService(
        settings=settings,
        store=DynamoSessionStore(settings.session_table, clock_seconds=_now),
        oidc=OidcClient(
            issuer=settings.issuer,
            client_secret=_client_secret,
            redirect_uri=settings.redirect_uri,
            scope=settings.scope,
            transport=transport,
            now=_now,
        ),
        transport=transport,
        now=_now,
    )


Service = Annotated[WebService, Depends(get_service)]


def session_handle(request: Request, service: Service) -> str | None:
    return cookies.read_cookie(request, cookies.SESSION, secure=service.settings.secure_cookie)


def get_session(request: Request, service: Service) -> WebSession:
    return current_session(service, session_handle(request, service))


CurrentSession = Annotated[WebSession, Depends(get_session)]


def checked_session(request: Request, service: Service, session: CurrentSession) -> WebSession:
    """A state-changing JSON call: the session's CSRF token must come in the X-CSRF-Token header."""
    require_csrf(session, request.headers.get(CSRF_HEADER), request.headers.get("origin"), service.settings)
    return session


CsrfSession = Annotated[WebSession, Depends(checked_session)]
