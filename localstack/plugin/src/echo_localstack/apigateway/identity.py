"""Identity sources of a Lambda authorizer: where the token (TOKEN) or the values (REQUEST) come from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class MissingIdentityError(Exception):
    """An identity source is absent or empty: API Gateway answers 401 without calling the authorizer."""


@dataclass(frozen=True)
class RequestView:
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, object] = field(default_factory=dict)


def parse_identity_source(identity_source: str | None) -> list[str]:
    """'method.request.header.Authorization, method.request.querystring.token' -> both selectors."""
    return [part.strip() for part in (identity_source or "").split(",") if part.strip()]


def identity_values(identity_source: str | None, request: RequestView) -> tuple[str, ...]:
    values = []
    for selector in parse_identity_source(identity_source):
        value = _resolve(selector, request)
        if not value:
            raise MissingIdentityError(selector)
        values.append(value)
    return tuple(values)


def _resolve(selector: str, request: RequestView) -> str | None:
    if name := _after(selector, "method.request.header."):
        wanted = name.lower()
        return next((value for key, value in request.headers.items() if key.lower() == wanted), None)
    if name := _after(selector, "method.request.querystring."):
        return request.query.get(name)
    if name := _after(selector, "stageVariables."):
        return request.stage_variables.get(name)
    if name := _after(selector, "context."):
        value: object = request.context
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return None if value is None else str(value)
    raise ValueError(f"unsupported identity source: {selector}")


def _after(selector: str, prefix: str) -> str | None:
    return selector[len(prefix) :] if selector.startswith(prefix) else None
