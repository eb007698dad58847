"""A Lambda authorizer run for one request: 401/403/500 outcomes, context, caching."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from echo_localstack.apigateway.authorization import (
    AccessDeniedError,
    AuthorizerConfig,
    AuthorizerMisconfiguredError,
    AuthorizerResponse,
    LambdaResult,
    UnauthorizedError,
    authorize,
)
from echo_localstack.apigateway.cache import TtlCache
from echo_localstack.apigateway.identity import RequestView

METHOD_ARN = "arn:aws:execute-api:us-east-1:000000000000:api1/test/GET/items"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:auth"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeAuthorizerLambda:
    """Answers like a token authorizer would, and records the events it got."""

    def __init__(self, answer: Callable[[dict[str, object]], LambdaResult]) -> None:
        self.answer = answer
        self.events: list[dict[str, object]] = []

    def __call__(self, function_arn: str, event: bytes) -> LambdaResult:
        assert function_arn == FUNCTION_ARN
        self.events.append(json.loads(event))
        return self.answer(self.events[-1])


def allow_with_context(event: dict[str, object]) -> LambdaResult:
    return policy_answer("Allow", context={"tenant": "t1", "level": 3, "admin": True, "note": None})


def policy_answer(
    effect: str, context: dict[str, object] | None = None, resource: str = METHOD_ARN
) -> LambdaResult:
    body = {
        "principalId": "user-1",
        "context": context or {},
        "policyDocument": {
            "Statement": [{"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource}]
        },
    }
    return LambdaResult(json.dumps(body).encode())


def token_config(**overrides: object) -> AuthorizerConfig:
    authorizer = {
        "id": "auth1",
        "type": "TOKEN",
        "identitySource": "method.request.header.Authorization",
        "authorizerUri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION_ARN}"
        "/invocations",
        "authorizerResultTtlInSeconds": 300,
        **overrides,
    }
    return AuthorizerConfig.from_apigateway(authorizer)


def run(
    config: AuthorizerConfig,
    fake: FakeAuthorizerLambda,
    headers: dict[str, str] | None = None,
    cache: TtlCache[AuthorizerResponse] | None = None,
    query: dict[str, str] | None = None,
):
    return authorize(
        config,
        RequestView(headers=headers or {}, query=query or {}),
        METHOD_ARN,
        invoke=fake,
        cache=cache or TtlCache(),
        cache_scope="api1",
        request_event=lambda: {"headers": headers or {}, "queryStringParameters": query or {}},
    )


def test_config_reads_the_function_arn_and_defaults() -> None:
    config = AuthorizerConfig.from_apigateway(
        {"id": "a", "type": "TOKEN", "authorizerUri": token_config().function_arn}
    )

    assert token_config().function_arn == FUNCTION_ARN
    assert config.identity_source == "method.request.header.Authorization"
    assert config.ttl_seconds == 300


def test_allow_passes_principal_and_stringified_context() -> None:
    fake = FakeAuthorizerLambda(allow_with_context)

    granted = run(token_config(), fake, {"Authorization": "tok"})

    assert fake.events == [{"type": "TOKEN", "authorizationToken": "tok", "methodArn": METHOD_ARN}]
    variable = granted.as_context_variable()
    assert variable["principalId"] == "user-1"
    assert {k: variable[k] for k in ("tenant", "level", "admin", "note")} == {
        "tenant": "t1",
        "level": "3",
        "admin": "true",
        "note": "",
    }


def test_missing_token_is_unauthorized_without_calling_the_authorizer() -> None:
    fake = FakeAuthorizerLambda(allow_with_context)

    with pytest.raises(UnauthorizedError):
        run(token_config(), fake, {})
    assert fake.events == []


def test_token_failing_the_validation_expression_is_unauthorized() -> None:
    fake = FakeAuthorizerLambda(allow_with_context)
    config = token_config(identityValidationExpression="^Bearer [a-z]+$")

    with pytest.raises(UnauthorizedError):
        run(config, fake, {"Authorization": "Basic abc"})
    assert fake.events == []
    run(config, fake, {"Authorization": "Bearer abc"})
    assert len(fake.events) == 1


def test_authorizer_raising_unauthorized_is_401() -> None:
    fake = FakeAuthorizerLambda(lambda _: LambdaResult(b'{"errorMessage": "Unauthorized"}', "Unhandled"))

    with pytest.raises(UnauthorizedError):
        run(token_config(), fake, {"Authorization": "tok"})


@pytest.mark.parametrize(
    "result",
    [
        LambdaResult(b'{"errorMessage": "boom", "errorType": "KeyError"}', "Unhandled"),
        LambdaResult(b'{"principalId": "x"}'),
        LambdaResult(b"not json"),
        LambdaResult(b'{"principalId": "x", "policyDocument": {}, "context": {"nested": {"a": 1}}}'),
    ],
)
def test_failing_or_malformed_authorizers_are_configuration_errors(result: LambdaResult) -> None:
    with pytest.raises(AuthorizerMisconfiguredError):
        run(token_config(), FakeAuthorizerLambda(lambda _: result), {"Authorization": "tok"})


def test_explicit_deny_is_403_explicit() -> None:
    with pytest.raises(AccessDeniedError) as denied:
        run(token_config(), FakeAuthorizerLambda(lambda _: policy_answer("Deny")), {"Authorization": "tok"})
    assert denied.value.explicit


def test_a_policy_for_another_method_is_403_implicit() -> None:
    other = "arn:aws:execute-api:us-east-1:000000000000:api1/test/POST/items"
    with pytest.raises(AccessDeniedError) as denied:
        run(
            token_config(),
            FakeAuthorizerLambda(lambda _: policy_answer("Allow", resource=other)),
            {"Authorization": "tok"},
        )
    assert not denied.value.explicit


def test_results_are_cached_per_token_for_the_ttl() -> None:
    clock = FakeClock()
    cache: TtlCache[AuthorizerResponse] = TtlCache(clock=clock)
    fake = FakeAuthorizerLambda(allow_with_context)
    config = token_config(authorizerResultTtlInSeconds=60)

    run(config, fake, {"Authorization": "a"}, cache)
    run(config, fake, {"Authorization": "a"}, cache)
    run(config, fake, {"Authorization": "b"}, cache)
    assert [event["authorizationToken"] for event in fake.events] == ["a", "b"]

    clock.now += 60
    run(config, fake, {"Authorization": "a"}, cache)
    assert len(fake.events) == 3


def test_cached_deny_is_still_evaluated_per_request() -> None:
    cache: TtlCache[AuthorizerResponse] = TtlCache()
    fake = FakeAuthorizerLambda(lambda _: policy_answer("Deny"))

    for _ in range(2):
        with pytest.raises(AccessDeniedError):
            run(token_config(), fake, {"Authorization": "tok"}, cache)
    assert len(fake.events) == 1


def test_request_authorizers_get_the_request_and_cache_on_all_identity_values() -> None:
    cache: TtlCache[AuthorizerResponse] = TtlCache()
    fake = FakeAuthorizerLambda(allow_with_context)
    config = AuthorizerConfig.from_apigateway(
        {
            "id": "req",
            "type": "REQUEST",
            "authorizerUri": FUNCTION_ARN,
            "identitySource": "method.request.header.X-Tenant,method.request.querystring.user",
        }
    )

    run(config, fake, {"X-Tenant": "acme"}, cache, query={"user": "u1"})
    run(config, fake, {"X-Tenant": "acme"}, cache, query={"user": "u1"})
    run(config, fake, {"X-Tenant": "acme"}, cache, query={"user": "u2"})

    assert len(fake.events) == 2
    assert fake.events[0]["type"] == "REQUEST"
    assert fake.events[0]["methodArn"] == METHOD_ARN
    assert fake.events[0]["queryStringParameters"] == {"user": "u1"}


def test_request_authorizers_without_identity_sources_are_never_cached() -> None:
    cache: TtlCache[AuthorizerResponse] = TtlCache()
    fake = FakeAuthorizerLambda(allow_with_context)
    config = AuthorizerConfig.from_apigateway({"id": "req", "type": "REQUEST", "authorizerUri": FUNCTION_ARN})

    run(config, fake, {}, cache)
    run(config, fake, {}, cache)

    assert len(fake.events) == 2
