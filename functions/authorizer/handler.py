"""TOKEN (or REQUEST) authorizer: `Authorization: Bearer <access token>` -> Allow on the stage, or 401.

The contract other services rely on: on success an IAM Allow over the API stage and a `context`
of strings {sub, tenant, roles, scope, client_id, token_type, jti}; on any rejection the function
raises `Exception("Unauthorized")`, which API Gateway turns into a 401. The token is never logged.
"""

from typing import TYPE_CHECKING, Any

from echo_shared.identity.errors import IdentityStoreUnavailable, TokenRejected
from echo_shared.identity.verification import bearer_token
from echo_shared.plain_observability import count, get_logger, lambda_entrypoint

from authorizer.dependencies import get_settings, get_verifier
from authorizer.logic import MalformedMethodArn, allow

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

UNAUTHORIZED = "Unauthorized"


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    logger = get_logger()
    try:
        claims = get_verifier().verify_access_token(bearer_token(_authorization(event)))
        response = allow(str(event.get("methodArn", "")), claims)
    except TokenRejected as exc:
        count("AuthorizerRejected")
        logger.info("access token rejected", extra={"reason": exc.reason})
        raise Exception(UNAUTHORIZED) from None
    except MalformedMethodArn:
        logger.warning("malformed methodArn")
        raise Exception(UNAUTHORIZED) from None
    except IdentityStoreUnavailable:
        # Fail closed; the metric tells an outage apart from bad tokens.
        count("AuthorizerKeyStoreUnavailable")
        logger.warning("signing keys or revocation list unavailable")
        raise Exception(UNAUTHORIZED) from None
    count("AuthorizerAllowed")
    logger.info("access token accepted", extra={"tenant": claims.tenant, "jti": claims.jti})
    return response


def _authorization(event: dict[str, Any]) -> str | None:
    if event.get("type") == "TOKEN":
        token = event.get("authorizationToken")
        return token if isinstance(token, str) else None
    headers = event.get("headers") or {}
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == "authorization" and isinstance(value, str):
            return value
    return None
