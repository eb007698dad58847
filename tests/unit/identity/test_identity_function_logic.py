"""Small pure pieces of the authorizer and key-rotation functions."""

from __future__ import annotations

import pytest
from authorizer.logic import MalformedMethodArn, stage_wildcard
from key_rotation.logic import InvalidRotationRequest, RotationAction, requested_action


@pytest.mark.parametrize(
    ("method_arn", "wildcard"),
    [
        (
            "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/v1/GET/users/me",
            "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/v1/*",
        ),
        (
            "arn:aws:execute-api:us-east-1:000000000000:abcdef123/v1/DELETE/users/usr_1",
            "arn:aws:execute-api:us-east-1:000000000000:abcdef123/v1/*",
        ),
        (
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abc/prod/POST/",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abc/prod/*",
        ),
    ],
)
def test_the_policy_covers_the_callers_stage_only(method_arn: str, wildcard: str) -> None:
    assert stage_wildcard(method_arn) == wildcard


@pytest.mark.parametrize(
    "method_arn",
    ["", "arn:aws:s3:::bucket", "arn:aws:execute-api:us-east-1:123:abc/v1/GET/x", "not an arn"],
)
def test_malformed_method_arns_are_refused(method_arn: str) -> None:
    with pytest.raises(MalformedMethodArn):
        stage_wildcard(method_arn)


def test_rotation_requests() -> None:
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    assert requested_action(scheduled) == (RotationAction.SCHEDULED, False)
    assert requested_action({"action": "rotate_now", "compromised": True}) == (
        RotationAction.ROTATE_NOW,
        True,
    )
    assert requested_action({"action": "ensure"}) == (RotationAction.ENSURE, False)
    for bad in (
        {},
        {"action": "nuke"},
        {"action": "rotate_now", "compromised": "yes"},
        {"source": "aws.ec2"},
    ):
        with pytest.raises(InvalidRotationRequest):
            requested_action(bad)


def test_the_claims_tenant_pattern_is_the_envelopes() -> None:
    from echo_shared.events import TENANT_PATTERN as ENVELOPE_TENANT_PATTERN
    from echo_shared.identity.claims import TENANT_PATTERN

    assert TENANT_PATTERN == ENVELOPE_TENANT_PATTERN
