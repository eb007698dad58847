"""The REST API (API Gateway v1): stage settings, access logs, throttling, the routes' wiring."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.function import EchoFunction, retention
from stacks.nag import acknowledge
from stacks.settings import StageSettings

API_STAGE = "v1"
Access = Literal["authorizer", "api-key", "public"]


class EchoApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(settings.log_retention_days),
            removal_policy=settings.removal_policy,
        )
        # Execution logging needs the account-wide CloudWatch role, which LocalStack does not model.
        execution_logging = settings.name != "local"
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=settings.resource_name("api"),
            description="Echo platform API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=execution_logging,
            deploy_options=apigw.StageOptions(
                stage_name=API_STAGE,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                throttling_rate_limit=settings.api_throttle_rate,
                throttling_burst_limit=settings.api_throttle_burst,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO if execution_logging else None,
                metrics_enabled=True,
            ),
        )
        self.request_validator = self.rest_api.add_request_validator(
            "ParametersValidator", validate_request_parameters=True, validate_request_body=True
        )
        self.api_key: apigw.IApiKey | None = None
        self._add_health_route()
        if not execution_logging:
            acknowledge(
                self.rest_api,
                "AwsSolutions::AwsSolutions-APIG6",
                "Local stage: LocalStack has no account-level API Gateway logging role; access logs are on.",
            )
        if execution_logging:
            acknowledge(
                self.rest_api,
                "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "API Gateway's account-level logging role uses the AWS-maintained policy made for it.",
            )

    def _add_health_route(self) -> None:
        """`GET /health` answers from API Gateway itself: uptime checks never wake a function."""
        health = self.rest_api.root.add_resource("health").add_method(
            "GET",
            apigw.MockIntegration(
                request_templates={"application/json": '{"statusCode": 200}'},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="200",
                        response_templates={"application/json": '{"status": "ok"}'},
                    )
                ],
            ),
            method_responses=[apigw.MethodResponse(status_code="200")],
            request_validator=self.request_validator,
        )
        for rule in ("AwsSolutions::AwsSolutions-APIG4", "AwsSolutions::AwsSolutions-COG4"):
            acknowledge(health, rule, "The health check is public by design and returns no data.")

    def require_api_key(self) -> apigw.IApiKey:
        """Local-stage only: an API key and usage plan in front of routes that have no authorizer yet."""
        if self.api_key is None:
            self.api_key = self.rest_api.add_api_key(
                "LocalKey", api_key_name=self._settings.resource_name("local")
            )
            plan = self.rest_api.add_usage_plan(
                "LocalPlan",
                name=self._settings.resource_name("local-plan"),
                throttle=apigw.ThrottleSettings(
                    rate_limit=self._settings.api_throttle_rate, burst_limit=self._settings.api_throttle_burst
                ),
            )
            plan.add_api_key(self.api_key)
            plan.add_api_stage(stage=self.rest_api.deployment_stage)
        return self.api_key

    def route(
        self,
        path: str,
        methods: Sequence[str],
        function: EchoFunction,
        *,
        access: Access,
        authorizer: apigw.IAuthorizer | None = None,
    ) -> apigw.Resource:
        """Proxy `methods` on `path` to `function`.

        `access` says who may call: "authorizer" (a verified access token), "api-key" (local stage
        only, until a route has an authorizer) or "public" (login pages, discovery, token endpoint).
        """
        if access == "authorizer" and authorizer is None:
            raise ValueError(f"{path}: access 'authorizer' needs the authorizer")
        resource = self.rest_api.root.resource_for_path(path)
        integration = apigw.LambdaIntegration(function.function, proxy=True)
        for method in methods:
            added = resource.add_method(
                method,
                integration,
                api_key_required=access == "api-key",
                authorizer=authorizer if access == "authorizer" else None,
                request_validator=self.request_validator,
            )
            if access != "authorizer":
                for rule in ("AwsSolutions::AwsSolutions-APIG4", "AwsSolutions::AwsSolutions-COG4"):
                    acknowledge(added, rule, _UNAUTHORIZED_REASONS[access])
            else:
                acknowledge(
                    added,
                    "AwsSolutions::AwsSolutions-COG4",
                    "Echo is its own OpenID Provider (Cognito is not available offline); routes use its "
                    "Lambda authorizer, which verifies access tokens against the JWKS.",
                )
        return resource


_UNAUTHORIZED_REASONS: dict[str, str] = {
    "api-key": "Local stage only (StageSettings refuses it elsewhere): an API key guards the route until "
    "the identity service's Lambda authorizer replaces it.",
    "public": "A public endpoint of the OpenID Provider or the hosted login (RFC 6749/OIDC): callers have "
    "no token yet; the function authenticates clients and users itself.",
}
