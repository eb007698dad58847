"""The IAM policy an authorizer returns, and the method ARN it is built from."""

import re
from typing import Any

from echo_shared.identity.claims import AccessClaims

# arn:<partition>:execute-api:<region>:<account>:<api-id>/<stage>/<method>/<resource path>
_METHOD_ARN = re.compile(
    r"^(?P<prefix>arn:[a-z-]+:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+)/(?P<stage>[A-Za-z0-9_$-]+)/[A-Z*]+/.*$"
)


class MalformedMethodArn(ValueError):
    pass


def stage_wildcard(method_arn: str) -> str:
    """Every method and path of the caller's API stage: one cached decision serves every route."""
    match = _METHOD_ARN.fullmatch(method_arn)
    if match is None:
        raise MalformedMethodArn("methodArn is not an execute-api method ARN")
    return f"{match['prefix']}/{match['stage']}/*"


def allow(method_arn: str, claims: AccessClaims) -> dict[str, Any]:
    return {
        "principalId": claims.sub,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": stage_wildcard(method_arn)}
            ],
        },
        "context": claims.authorizer_context(),
    }
