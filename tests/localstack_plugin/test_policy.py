"""Authorizer policies evaluated against the method ARN, with IAM's wildcard rules."""

from __future__ import annotations

import pytest
from echo_localstack.apigateway.policy import Decision, arn_matches, evaluate, method_arn

ARN = "arn:aws:execute-api:us-east-1:000000000000:abc123/prod/GET/items/42"


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def statement(effect: str, resource: object, action: object = "execute-api:Invoke") -> dict[str, object]:
    return {"Effect": effect, "Action": action, "Resource": resource}


def test_method_arn_is_built_from_the_request() -> None:
    assert (
        method_arn(
            region="us-east-1",
            account_id="000000000000",
            api_id="abc123",
            stage="prod",
            http_method="GET",
            path="/items/42",
        )
        == ARN
    )
    assert method_arn(
        region="us-east-1", account_id="1", api_id="a", stage="s", http_method="GET", path="/"
    ).endswith("a/s/GET/")


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        (ARN, True),
        ("arn:aws:execute-api:us-east-1:000000000000:abc123/prod/GET/*", True),
        ("arn:aws:execute-api:us-east-1:000000000000:abc123/*", True),
        ("arn:aws:execute-api:*:*:abc123/*/GET/items/*", True),
        ("arn:aws:execute-api:us-east-1:000000000000:abc123/prod/GET/items/4?", True),
        ("arn:aws:execute-api:us-east-1:000000000000:abc123/prod/GET/items/4", False),
        ("arn:aws:execute-api:us-east-1:000000000000:abc123/prod/POST/*", False),
        ("arn:aws:execute-api:us-east-1:000000000000:other/*", False),
        ("arn:aws:execute-api:us-east-1:000000000000:abc123/prod/get/items/42", False),
        ("*", True),
    ],
)
def test_resource_wildcards(pattern: str, matches: bool) -> None:
    assert arn_matches(pattern, ARN) is matches


def test_allow_on_the_method_allows() -> None:
    assert evaluate(policy(statement("Allow", ARN)), ARN) is Decision.ALLOW


def test_explicit_deny_wins_over_allow() -> None:
    document = policy(statement("Allow", "*"), statement("Deny", "arn:aws:execute-api:*:*:abc123/prod/GET/*"))

    assert evaluate(document, ARN) is Decision.EXPLICIT_DENY


def test_an_allow_for_another_method_is_an_implicit_deny() -> None:
    document = policy(
        statement("Allow", "arn:aws:execute-api:us-east-1:000000000000:abc123/prod/POST/items/*")
    )

    assert evaluate(document, ARN) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    "action", ["execute-api:Invoke", "execute-api:*", "*", ["s3:GetObject", "execute-api:invoke"]]
)
def test_invoke_actions_are_recognised(action: object) -> None:
    assert evaluate(policy(statement("Allow", ARN, action)), ARN) is Decision.ALLOW


def test_other_actions_do_not_allow() -> None:
    assert (
        evaluate(policy(statement("Allow", ARN, "execute-api:ManageConnections")), ARN)
        is Decision.IMPLICIT_DENY
    )


def test_single_statement_objects_and_resource_lists_are_accepted() -> None:
    document = {
        "Statement": {
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": ["arn:aws:execute-api:*:*:other/*", ARN],
        }
    }

    assert evaluate(document, ARN) is Decision.ALLOW


def test_an_empty_or_malformed_policy_denies() -> None:
    assert evaluate({}, ARN) is Decision.IMPLICIT_DENY
    assert evaluate({"Statement": ["not a statement"]}, ARN) is Decision.IMPLICIT_DENY
