"""Echo's own authz sample events (events/authz.*.json) are valid inputs of the deployed handler."""

import json
from collections.abc import Callable
from typing import Any

from authz.handler import lambda_handler

from tests.integration.authz.conftest import Bus


def test_the_samples_replay_in_order(
    aws: Bus, sample_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> None:
    expected = [
        ("authz.check.apigw.json", 200),
        ("authz.batch.apigw.json", 200),
        ("authz.list.apigw.json", 200),
        ("authz.policies_put.apigw.json", 201),
        ("authz.policies_activate.apigw.json", 200),
        ("authz.policies_history.apigw.json", 200),
    ]
    for name, status in expected:
        response = lambda_handler(sample_event(name), lambda_context)
        assert response["statusCode"] == status, (name, response["body"])
        assert json.loads(response["body"])
    types = [event["type"] for event in aws.drain()]
    assert types.count("authz.decision") == 1 + 3 + 1 + 3
    assert "authz.policy_activated" in types
