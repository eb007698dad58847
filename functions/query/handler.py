"""API Gateway (REST v1 proxy) -> FastAPI through Mangum."""

from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.logging import correlation_paths
from echo_shared.lazy import cached_resource
from echo_shared.observability import lambda_entrypoint
from mangum import Mangum
from mangum.types import LambdaContext as MangumContext

from query.app import create_app
from query.dependencies import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@cached_resource
def get_asgi_adapter() -> Mangum:
    # REST proxy events already drop the stage from `path`; only a custom-domain mapping adds a prefix.
    return Mangum(create_app(), lifespan="off", api_gateway_base_path=get_settings().base_path)


@lambda_entrypoint(settings=get_settings, correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    # Same runtime object; the two libraries just declare it with different protocols.
    return get_asgi_adapter()(event, cast(MangumContext, context))
