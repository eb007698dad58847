"""plux entry point of the AWS::ApiGateway::Authorizer CloudFormation resource provider."""

from __future__ import annotations

from localstack.services.cloudformation.resource_provider import (
    CloudFormationResourceProviderPlugin,
    ResourceProvider,
)


class ApiGatewayAuthorizerProviderPlugin(CloudFormationResourceProviderPlugin):
    name = "AWS::ApiGateway::Authorizer"

    def __init__(self) -> None:
        self.factory: type[ResourceProvider] | None = None

    def load(self) -> None:
        from echo_localstack.apigateway.authorizer_resource import ApiGatewayAuthorizerProvider

        self.factory = ApiGatewayAuthorizerProvider
