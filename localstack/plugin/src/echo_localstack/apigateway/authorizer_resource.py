"""CloudFormation resource provider for AWS::ApiGateway::Authorizer (absent from the open-source edition)."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import localstack.services.cloudformation.provider_utils as util
from localstack.services.cloudformation.resource_provider import (
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)


class ApiGatewayAuthorizerProperties(TypedDict, total=False):
    RestApiId: str
    Name: str
    Type: str
    AuthorizerId: str
    AuthorizerCredentials: str
    AuthorizerResultTtlInSeconds: int
    AuthorizerUri: str
    AuthType: str
    IdentitySource: str
    IdentityValidationExpression: str
    ProviderARNs: list[str]


# CloudFormation property -> CreateAuthorizer parameter / PATCH path (the same names in camelCase).
_SCALAR_FIELDS = {
    "Name": "name",
    "Type": "type",
    "AuthorizerCredentials": "authorizerCredentials",
    "AuthorizerResultTtlInSeconds": "authorizerResultTtlInSeconds",
    "AuthorizerUri": "authorizerUri",
    "AuthType": "authType",
    "IdentitySource": "identitySource",
    "IdentityValidationExpression": "identityValidationExpression",
}


def create_parameters(model: ApiGatewayAuthorizerProperties) -> dict[str, object]:
    params: dict[str, object] = {"restApiId": model["RestApiId"]}
    for prop, field in _SCALAR_FIELDS.items():
        value = model.get(prop)
        if value is not None:
            params[field] = int(str(value)) if prop == "AuthorizerResultTtlInSeconds" else value
    if model.get("ProviderARNs"):
        params["providerARNs"] = list(model["ProviderARNs"])
    return params


def patch_operations(
    previous: ApiGatewayAuthorizerProperties, desired: ApiGatewayAuthorizerProperties
) -> list[dict[str, str]]:
    operations = []
    for prop, field in _SCALAR_FIELDS.items():
        if previous.get(prop) != desired.get(prop):
            value = desired.get(prop)
            operations.append(
                {"op": "replace", "path": f"/{field}", "value": "" if value is None else str(value)}
            )
    old_arns, new_arns = set(previous.get("ProviderARNs") or []), set(desired.get("ProviderARNs") or [])
    operations += [
        {"op": "add", "path": "/providerARNs", "value": arn} for arn in sorted(new_arns - old_arns)
    ]
    operations += [
        {"op": "remove", "path": "/providerARNs", "value": arn} for arn in sorted(old_arns - new_arns)
    ]
    return operations


class ApiGatewayAuthorizerProvider(ResourceProvider[ApiGatewayAuthorizerProperties]):
    TYPE = "AWS::ApiGateway::Authorizer"
    SCHEMA = util.get_schema_path(Path(__file__))

    def create(
        self, request: ResourceRequest[ApiGatewayAuthorizerProperties]
    ) -> ProgressEvent[ApiGatewayAuthorizerProperties]:
        model = request.desired_state
        created = request.aws_client_factory.apigateway.create_authorizer(**create_parameters(model))
        model["AuthorizerId"] = created["id"]
        return ProgressEvent(
            status=OperationStatus.SUCCESS, resource_model=model, custom_context=request.custom_context
        )

    def read(
        self, request: ResourceRequest[ApiGatewayAuthorizerProperties]
    ) -> ProgressEvent[ApiGatewayAuthorizerProperties]:
        model = request.desired_state
        found = request.aws_client_factory.apigateway.get_authorizer(
            restApiId=model["RestApiId"], authorizerId=model["AuthorizerId"]
        )
        state: ApiGatewayAuthorizerProperties = {"RestApiId": model["RestApiId"], "AuthorizerId": found["id"]}
        for prop, field in _SCALAR_FIELDS.items():
            if field in found:
                state[prop] = found[field]  # type: ignore[literal-required]
        if found.get("providerARNs"):
            state["ProviderARNs"] = found["providerARNs"]
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=state)

    def update(
        self, request: ResourceRequest[ApiGatewayAuthorizerProperties]
    ) -> ProgressEvent[ApiGatewayAuthorizerProperties]:
        model = request.desired_state
        previous = request.previous_state or {}
        model["AuthorizerId"] = previous["AuthorizerId"]
        if operations := patch_operations(previous, model):
            request.aws_client_factory.apigateway.update_authorizer(
                restApiId=model["RestApiId"], authorizerId=model["AuthorizerId"], patchOperations=operations
            )
        return ProgressEvent(
            status=OperationStatus.SUCCESS, resource_model=model, custom_context=request.custom_context
        )

    def delete(
        self, request: ResourceRequest[ApiGatewayAuthorizerProperties]
    ) -> ProgressEvent[ApiGatewayAuthorizerProperties]:
        model = request.desired_state
        request.aws_client_factory.apigateway.delete_authorizer(
            restApiId=model["RestApiId"], authorizerId=model["AuthorizerId"]
        )
        return ProgressEvent(
            status=OperationStatus.SUCCESS, resource_model=model, custom_context=request.custom_context
        )
