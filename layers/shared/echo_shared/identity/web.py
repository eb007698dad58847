"""FastAPI request helpers shared by the identity's HTTP functions (login, token, users).

Imported only by functions that bundle FastAPI (never by the authorizer). Errors are mapped by
echo_shared.web, the one handler for every Echo API.
"""

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData

from echo_shared.identity.errors import InvalidRequest


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
