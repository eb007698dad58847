"""The `preprocess_request` handler of LocalStack's REST API gateway that enforces Lambda authorizers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from localstack.aws.api.apigateway import Authorizer, Method, Resource
from localstack.http import Response
from localstack.services.apigateway.next_gen.execute_api.context import (
    InvocationRequest,
    RestApiInvocationContext,
)
from localstack.services.apigateway.next_gen.execute_api.gateway_response import (
    AccessDeniedError,
    AuthorizerConfigurationError,
    UnauthorizedError,
)
from localstack.services.apigateway.next_gen.execute_api.header_utils import build_multi_value_headers
from localstack.services.apigateway.next_gen.execute_api.integrations.aws import get_service_factory
from localstack.services.apigateway.next_gen.execute_api.variables import ContextVariables
from localstack.utils.aws.arns import extract_region_from_arn, get_partition
from localstack.utils.aws.client_types import ServicePrincipal

from echo_localstack.apigateway import authorization
from echo_localstack.apigateway.authorization import AuthorizerConfig, AuthorizerResponse, LambdaResult
from echo_localstack.apigateway.cache import TtlCache
from echo_localstack.apigateway.identity import RequestView
from echo_localstack.apigateway.policy import method_arn

LOG = logging.getLogger(__name__)

EXPLICIT_DENY_MESSAGE = "User is not authorized to access this resource with an explicit deny"
IMPLICIT_DENY_MESSAGE = "User is not authorized to access this resource"


@dataclass(frozen=True)
class RoutedRequest:
    """The parts of the invocation context that parsing and routing have set when we run."""

    api_id: str
    stage: str
    region: str
    account_id: str
    resource: Resource
    method: Method
    request: InvocationRequest
    context_variables: ContextVariables
    stage_variables: dict[str, str]
    authorizers: dict[str, Authorizer]

    @classmethod
    def of(cls, context: RestApiInvocationContext) -> RoutedRequest | None:
        deployment, request, method = context.deployment, context.invocation_request, context.resource_method
        resource, variables = context.resource, context.context_variables
        if deployment is None or request is None or method is None or resource is None or variables is None:
            return None
        if not (context.api_id and context.stage and context.region and context.account_id):
            return None
        return cls(
            api_id=context.api_id,
            stage=context.stage,
            region=context.region,
            account_id=context.account_id,
            resource=resource,
            method=method,
            request=request,
            context_variables=variables,
            stage_variables=context.stage_variables or {},
            authorizers=deployment.rest_api.authorizers,
        )

    @property
    def method_arn(self) -> str:
        return method_arn(
            region=self.region,
            account_id=self.account_id,
            api_id=self.api_id,
            stage=self.stage,
            http_method=self.request["http_method"],
            path=self.request["path"] or "/",
            partition=get_partition(self.region),
        )

    def view(self) -> RequestView:
        return RequestView(
            headers=dict(self.request["headers"].items()),
            query=self.request.get("query_string_parameters") or {},
            stage_variables=self.stage_variables,
            context=self.context_variables,
        )

    def request_event(self) -> dict[str, object]:
        """The REQUEST authorizer input, shaped like a Lambda proxy event."""
        headers = self.request["headers"]
        return {
            "resource": self.resource.get("path"),
            "path": self.request["path"],
            "httpMethod": self.request["http_method"],
            "headers": dict(headers.items()),
            "multiValueHeaders": build_multi_value_headers(headers),
            "queryStringParameters": self.request.get("query_string_parameters") or {},
            "multiValueQueryStringParameters": self.request.get("multi_value_query_string_parameters") or {},
            "pathParameters": self.request.get("path_parameters") or {},
            "stageVariables": self.stage_variables,
            "requestContext": self.context_variables,
        }


class LambdaAuthorizerHandler:
    def __init__(self, cache: TtlCache[AuthorizerResponse] | None = None) -> None:
        self.cache: TtlCache[AuthorizerResponse] = cache or TtlCache()

    def __call__(self, chain: Any, context: RestApiInvocationContext, response: Response) -> None:
        routed = RoutedRequest.of(context)
        if routed is None or routed.method.get("authorizationType") != "CUSTOM":
            return
        authorizer = routed.authorizers.get(routed.method.get("authorizerId") or "")
        if authorizer is None:
            LOG.warning(
                "%s uses unknown authorizer %s",
                routed.resource.get("path"),
                routed.method.get("authorizerId"),
            )
            raise AuthorizerConfigurationError()
        config = AuthorizerConfig.from_apigateway(authorizer)
        if config.type not in {"TOKEN", "REQUEST"}:
            return  # COGNITO_USER_POOLS: Cognito is not part of the open-source edition
        try:
            granted = authorization.authorize(
                config,
                routed.view(),
                routed.method_arn,
                invoke=_lambda_invoker(routed, authorizer),
                cache=self.cache,
                cache_scope=routed.api_id,
                request_event=routed.request_event,
            )
        except authorization.UnauthorizedError as error:
            LOG.debug("authorizer %s: unauthorized (%s)", config.id, error)
            raise UnauthorizedError("Unauthorized") from error
        except authorization.AccessDeniedError as error:
            raise AccessDeniedError(
                EXPLICIT_DENY_MESSAGE if error.explicit else IMPLICIT_DENY_MESSAGE
            ) from error
        except authorization.AuthorizerMisconfiguredError as error:
            LOG.warning("authorizer %s: %s", config.id, error)
            raise AuthorizerConfigurationError() from error
        routed.context_variables["authorizer"] = granted.as_context_variable()  # type: ignore[typeddict-item]


def _lambda_invoker(routed: RoutedRequest, authorizer: Authorizer) -> authorization.InvokeLambda:
    source_arn = (
        f"arn:{get_partition(routed.region)}:execute-api:{routed.region}:{routed.account_id}:"
        f"{routed.api_id}/authorizers/{authorizer.get('id')}"
    )

    def invoke(function_arn: str, event: bytes) -> LambdaResult:
        factory = get_service_factory(
            region_name=extract_region_from_arn(function_arn) or routed.region,
            role_arn=authorizer.get("authorizerCredentials"),
        )
        client = factory.lambda_.request_metadata(
            service_principal=ServicePrincipal.apigateway, source_arn=source_arn
        )
        try:
            result = client.invoke(FunctionName=function_arn, Payload=event, InvocationType="RequestResponse")
        except (ClientError, BotoCoreError) as error:
            raise authorization.AuthorizerMisconfiguredError(f"invoking {function_arn}: {error}") from error
        payload = result["Payload"].read() if result.get("Payload") else b""
        return LambdaResult(payload, result.get("FunctionError"))

    return invoke
