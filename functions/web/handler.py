"""API Gateway (REST, proxy) -> Mangum -> the web app's FastAPI app."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from echo_shared.observability import lambda_entrypoint
from mangum import Mangum

from web.app import app
from web.dependencies import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Typed loosely: Powertools and Mangum each declare their own LambdaContext protocol.
_asgi: Callable[[dict[str, Any], Any], dict[str, Any]] = Mangum(app, lifespan="off")


@lambda_entrypoint(settings=get_settings, correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    return _asgi(event, context)
