"""Runs a Lambda authorizer for one request: identity, cache, invocation, policy decision.

No LocalStack imports here: the gateway handler supplies the Lambda invoker and the REQUEST event,
and maps the exceptions below to API Gateway responses.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from echo_localstack.apigateway.cache import TtlCache
from echo_localstack.apigateway.identity import MissingIdentityError, RequestView, identity_values
from echo_localstack.apigateway.policy import Decision, evaluate

DEFAULT_TOKEN_SOURCE = "method.request.header.Authorization"  # noqa: S105 - a header selector
DEFAULT_TTL_SECONDS = 300


class UnauthorizedError(Exception):
    """401: no identity, a token failing the validation expression, or the authorizer said so."""


class AccessDeniedError(Exception):
    """403: the returned policy denies the method, explicitly or by not allowing it."""

    def __init__(self, *, explicit: bool) -> None:
        super().__init__("explicit deny" if explicit else "not allowed")
        self.explicit = explicit


class AuthorizerMisconfiguredError(Exception):
    """500: the authorizer failed or answered something that is not an authorizer response."""


@dataclass(frozen=True)
class LambdaResult:
    payload: bytes
    function_error: str | None = None


InvokeLambda = Callable[[str, bytes], LambdaResult]


@dataclass(frozen=True)
class AuthorizerConfig:
    id: str
    type: str
    function_arn: str
    identity_source: str | None
    validation_expression: str | None
    ttl_seconds: int

    @classmethod
    def from_apigateway(cls, authorizer: Mapping[str, object]) -> AuthorizerConfig:
        uri = str(authorizer.get("authorizerUri") or "")
        kind = str(authorizer.get("type") or "TOKEN")
        identity_source = authorizer.get("identitySource")
        ttl = authorizer.get("authorizerResultTtlInSeconds")
        return cls(
            id=str(authorizer.get("id")),
            type=kind,
            function_arn=uri.split("functions/", 1)[-1].removesuffix("/invocations"),
            identity_source=str(identity_source)
            if identity_source
            else (DEFAULT_TOKEN_SOURCE if kind == "TOKEN" else None),
            validation_expression=str(authorizer.get("identityValidationExpression") or "") or None,
            ttl_seconds=DEFAULT_TTL_SECONDS if ttl is None else int(str(ttl)),
        )


@dataclass(frozen=True)
class AuthorizerResponse:
    principal_id: str
    policy_document: Mapping[str, object]
    context: Mapping[str, str]

    @classmethod
    def parse(cls, payload: bytes) -> AuthorizerResponse:
        try:
            data = json.loads(payload)
        except ValueError as error:
            raise AuthorizerMisconfiguredError("authorizer response is not JSON") from error
        if not isinstance(data, dict) or not isinstance(data.get("policyDocument"), dict):
            raise AuthorizerMisconfiguredError("authorizer response has no policyDocument")
        return cls(
            principal_id=str(data.get("principalId") or ""),
            policy_document=data["policyDocument"],
            context=_stringify_context(data.get("context")),
        )


@dataclass(frozen=True)
class Authorization:
    principal_id: str
    context: Mapping[str, str]
    latency_ms: int

    def as_context_variable(self) -> dict[str, object]:
        """What `$context.authorizer` / `requestContext.authorizer` holds for the integration."""
        return {**self.context, "principalId": self.principal_id, "integrationLatency": self.latency_ms}


def authorize(
    config: AuthorizerConfig,
    request: RequestView,
    method_arn: str,
    *,
    invoke: InvokeLambda,
    cache: TtlCache[AuthorizerResponse],
    cache_scope: str,
    request_event: Callable[[], dict[str, object]],
) -> Authorization:
    try:
        identity = identity_values(config.identity_source, request)
    except MissingIdentityError as error:
        raise UnauthorizedError(f"missing identity source {error}") from error
    token_format = config.validation_expression if config.type == "TOKEN" else None
    if token_format and re.fullmatch(token_format, identity[0]) is None:
        raise UnauthorizedError("token does not match the validation expression")

    # Without identity sources (REQUEST only) AWS cannot cache: every request calls the authorizer.
    key = (cache_scope, config.id, identity) if identity else None
    response = cache.get(key) if key else None
    started = time.monotonic()
    if response is None:
        event = (
            {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": method_arn}
            if config.type == "TOKEN"
            else {**request_event(), "type": "REQUEST", "methodArn": method_arn}
        )
        response = _call(config, invoke, json.dumps(event).encode())
        if key:
            cache.put(key, response, config.ttl_seconds)
    latency_ms = round((time.monotonic() - started) * 1000)

    decision = evaluate(response.policy_document, method_arn)
    if decision is not Decision.ALLOW:
        raise AccessDeniedError(explicit=decision is Decision.EXPLICIT_DENY)
    return Authorization(response.principal_id, response.context, latency_ms)


def _call(config: AuthorizerConfig, invoke: InvokeLambda, event: bytes) -> AuthorizerResponse:
    result = invoke(config.function_arn, event)
    if result.function_error:
        if _error_message(result.payload) == "Unauthorized":
            raise UnauthorizedError("the authorizer answered Unauthorized")
        raise AuthorizerMisconfiguredError(f"the authorizer failed: {result.payload[:500]!r}")
    return AuthorizerResponse.parse(result.payload)


def _error_message(payload: bytes) -> str | None:
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return data.get("errorMessage") if isinstance(data, dict) else None


def _stringify_context(context: object) -> dict[str, str]:
    """REST APIs pass authorizer context values as strings; nested values are not allowed."""
    if context is None:
        return {}
    if not isinstance(context, dict):
        raise AuthorizerMisconfiguredError("authorizer context must be an object")
    result = {}
    for key, value in context.items():
        if isinstance(value, dict | list):
            raise AuthorizerMisconfiguredError(f"authorizer context value {key!r} must be a scalar")
        result[str(key)] = (
            "true" if value is True else "false" if value is False else "" if value is None else str(value)
        )
    return result
