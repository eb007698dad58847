"""Plays API Gateway (REST v1) in front of the identity handlers, for httpx clients (Authlib's too).

Each request becomes a real-shaped proxy event (the shared `apiGatewayProxyEvent.json` sample,
re-filled), routed by the resource paths the CDK construct declares; protected routes first go
through the TOKEN authorizer exactly as API Gateway would call it (401 on "Unauthorized", 403 when
the returned policy does not allow the method ARN), and its context lands in
`requestContext.authorizer`.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

from stacks.identity import PROTECTED_ROUTES, PUBLIC_ROUTES

API_ID = "abc123defg"
STAGE = "v1"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
ISSUER = f"https://{HOST}/{STAGE}"
TOKEN_VALIDATION = re.compile(r"^[Bb]earer [-0-9A-Za-z._~+/]+=*$")

type LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    resource: str
    methods: tuple[str, ...]
    function: str
    protected: bool
    pattern: re.Pattern[str]


def _routes() -> list[Route]:
    routes: list[Route] = []
    declared = [
        (path, methods, package, False) for package, paths in PUBLIC_ROUTES.items() for path, methods in paths
    ]
    declared += [(path, methods, "users", True) for path, methods in PROTECTED_ROUTES]
    for path, methods, package, protected in declared:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
        routes.append(
            Route(
                path,
                methods,
                "token_service" if package == "token" else package,
                protected,
                re.compile(regex),
            )
        )
    # Literal paths win over parameters, as in API Gateway.
    return sorted(routes, key=lambda route: "{" in route.resource)


@dataclass
class ApiGateway:
    handlers: dict[str, LambdaHandler]
    authorizer: LambdaHandler
    base_event: dict[str, Any]
    context_factory: Callable[[], Any]
    source_ip: str = "198.51.100.23"
    routes: list[Route] = field(default_factory=_routes)
    authorizer_calls: int = 0

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle), base_url=ISSUER + "/", **kwargs)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(f"/{STAGE}") or "/"
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if request.method not in route.methods:
                return httpx.Response(403, json={"message": "Missing Authentication Token"})
            event = self._event(request, route, path, match.groupdict())
            if route.protected:
                denied = self._authorize(request, route, event)
                if denied is not None:
                    return denied
            return _response(self.handlers[route.function](event, self.context_factory()))
        return httpx.Response(403, json={"message": "Missing Authentication Token"})

    def _event(
        self, request: httpx.Request, route: Route, path: str, parameters: dict[str, str]
    ) -> dict[str, Any]:
        event = copy.deepcopy(self.base_event)
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.multi_items():
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(request.url.query.decode(), keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
        body = request.read()
        event.update(
            resource=route.resource,
            path=path,
            httpMethod=request.method,
            headers={name: values[-1] for name, values in multi_headers.items()},
            multiValueHeaders=multi_headers,
            queryStringParameters={name: values[-1] for name, values in multi_query.items()} or None,
            multiValueQueryStringParameters=multi_query or None,
            pathParameters=parameters or None,
            stageVariables=None,
            body=body.decode() if body else None,
            isBase64Encoded=False,
        )
        context = event["requestContext"]
        context.update(
            accountId=ACCOUNT,
            apiId=API_ID,
            domainName=HOST,
            domainPrefix=API_ID,
            httpMethod=request.method,
            path=f"/{STAGE}{path}",
            resourcePath=route.resource,
            resourceId=route.resource,
            stage=STAGE,
            requestId=str(uuid.uuid4()),
        )
        context["identity"] = {**context["identity"], "sourceIp": self.source_ip}
        context.pop("authorizer", None)
        return event

    def _authorize(
        self, request: httpx.Request, route: Route, event: dict[str, Any]
    ) -> httpx.Response | None:
        token = request.headers.get("authorization")
        if token is None or not TOKEN_VALIDATION.fullmatch(token):
            return httpx.Response(401, json={"message": "Unauthorized"})
        method_arn = (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{request.method}{event['path']}"
        )
        self.authorizer_calls += 1
        try:
            result = self.authorizer(
                {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn},
                self.context_factory(),
            )
        except Exception as exc:  # noqa: BLE001 (API Gateway maps any authorizer error)
            if str(exc) == "Unauthorized":
                return httpx.Response(401, json={"message": "Unauthorized"})
            return httpx.Response(500, json={"message": None})
        if not _allows(result["policyDocument"], method_arn):
            return httpx.Response(403, json={"message": "User is not authorized to access this resource"})
        event["requestContext"]["authorizer"] = {
            **result.get("context", {}),
            "principalId": result["principalId"],
            "integrationLatency": 0,
        }
        return None


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    """IAM order: a matching Deny wins, then a matching Allow; nothing matching denies."""
    allowed = False
    for statement in policy["Statement"]:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if not any(_arn_matches(resource, method_arn) for resource in resources):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = allowed or statement["Effect"] == "Allow"
    return allowed


def _arn_matches(pattern: str, arn: str) -> bool:
    return re.fullmatch("".join(".*" if ch == "*" else re.escape(ch) for ch in pattern), arn) is not None


def _response(result: dict[str, Any]) -> httpx.Response:
    headers: list[tuple[str, str]] = list((result.get("headers") or {}).items())
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, value) for value in values)
    body = result.get("body") or ""
    content = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return httpx.Response(result["statusCode"], headers=headers, content=content)


def json_body(response: httpx.Response) -> Any:
    return json.loads(response.content)
