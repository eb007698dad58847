"""The token service's routes: each parses the request, calls one logic function, shapes the reply."""

from typing import Any

from echo_shared.identity.web import request_info, single_values
from echo_shared.web import NO_STORE
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from token_service.dependencies import Service
from token_service.logic.discovery import openid_configuration
from token_service.logic.exchange import token_endpoint
from token_service.logic.introspection import introspect, revoke, userinfo

JWKS_MAX_AGE_SECONDS = 300

router = APIRouter()


async def _form(request: Request) -> dict[str, str]:
    return single_values(await request.form())


@router.get("/.well-known/openid-configuration")
def discovery(service: Service) -> JSONResponse:
    return JSONResponse(
        openid_configuration(service.issuer_url),
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}"},
    )


@router.get("/jwks.json")
def jwks(service: Service) -> JSONResponse:
    return JSONResponse(
        service.keys.document(), headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}"}
    )


@router.post("/token")
async def token(request: Request, service: Service) -> JSONResponse:
    params = await _form(request)
    response = token_endpoint(service, params, request.headers.get("authorization"), request_info(request))
    return JSONResponse(response.body(), headers=NO_STORE)


@router.post("/revoke")
async def revocation(request: Request, service: Service) -> Response:
    params = await _form(request)
    revoke(service, params, request.headers.get("authorization"), request_info(request))
    return Response(status_code=200, headers=NO_STORE)


@router.post("/introspect")
async def introspection(request: Request, service: Service) -> JSONResponse:
    params = await _form(request)
    return JSONResponse(introspect(service, params, request.headers.get("authorization")), headers=NO_STORE)


@router.get("/userinfo")
def userinfo_get(request: Request, service: Service) -> JSONResponse:
    return JSONResponse(userinfo(service, request.headers.get("authorization"), None), headers=NO_STORE)


@router.post("/userinfo")
async def userinfo_post(request: Request, service: Service) -> JSONResponse:
    form: dict[str, Any] = await _form(request) if _is_form(request) else {}
    claims = userinfo(service, request.headers.get("authorization"), form.get("access_token"))
    return JSONResponse(claims, headers=NO_STORE)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
