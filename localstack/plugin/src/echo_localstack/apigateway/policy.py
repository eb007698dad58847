"""Evaluation of the IAM policy a Lambda authorizer returns, against the method ARN being called."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from functools import lru_cache

INVOKE_ACTION = "execute-api:invoke"


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"


def evaluate(policy_document: Mapping[str, object], method_arn: str) -> Decision:
    """IAM order: any matching Deny wins, then any matching Allow, otherwise denied implicitly."""
    allowed = False
    for statement in _as_list(policy_document.get("Statement")):
        if not isinstance(statement, Mapping):
            continue
        if not _matches(statement.get("Action"), INVOKE_ACTION, _action_matches):
            continue
        if not _matches(statement.get("Resource"), method_arn, arn_matches):
            continue
        effect = str(statement.get("Effect", "")).lower()
        if effect == "deny":
            return Decision.EXPLICIT_DENY
        allowed = allowed or effect == "allow"
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM wildcards: `*` any run of characters (slashes included), `?` exactly one."""
    return _compile(pattern).fullmatch(arn) is not None


def method_arn(
    *,
    region: str,
    account_id: str,
    api_id: str,
    stage: str,
    http_method: str,
    path: str,
    partition: str = "aws",
) -> str:
    return (
        f"arn:{partition}:execute-api:{region}:{account_id}:{api_id}/{stage}/{http_method}/{path.lstrip('/')}"
    )


def _action_matches(pattern: str, action: str) -> bool:
    return _compile(pattern.lower()).fullmatch(action) is not None


def _matches(values: object, target: str, matcher: object) -> bool:
    assert callable(matcher)
    return any(isinstance(value, str) and matcher(value, target) for value in _as_list(values))


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))
