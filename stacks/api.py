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
Access = Literal["authorizer", "public"]
# Routes that take credentials (passwords, client secrets, codes, verification tokens) are throttled
# this many times tighter than the stage's default, which the read APIs keep.
CREDENTIAL_THROTTLE_DIVISOR = 10


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
        # Bodies are validated by each function's typed models (JSON) or OAuth form parsers; API
        # Gateway body validation needs a JSON model per method and rejects form posts without one.
        self.request_validator = self.rest_api.add_request_validator(
            "ParametersValidator", validate_request_parameters=True, validate_request_body=False
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions::AwsSolutions-APIG2",
            "Request parameters are validated by API Gateway; bodies (JSON and OAuth form posts) by the "
            "functions' typed models, which return typed 400/422 errors.",
        )
        stage = self.rest_api.deployment_stage.node.default_child
        if not isinstance(stage, apigw.CfnStage):
            raise TypeError("the API's stage has no CfnStage")
        self._stage: apigw.CfnStage = stage
        # The stage-wide "/*/*" entry the options above produced; per-route entries follow it.
        existing = stage.method_settings
        self._method_settings = len(existing) if isinstance(existing, list) else 0
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

    def route(
        self,
        path: str,
        methods: Sequence[str],
        function: EchoFunction,
        *,
        access: Access,
        authorizer: apigw.IAuthorizer | None = None,
        credential_methods: Sequence[str] = (),
    ) -> apigw.Resource:
        """Proxy `methods` on `path` to `function`.

        `access` says who may call: "authorizer" (a verified access token) or "public" (login pages,
        discovery, token endpoint: callers have no token yet). `credential_methods` take credentials
        and get the tighter credential throttle.
        """
        if access == "authorizer" and authorizer is None:
            raise ValueError(f"{path}: access 'authorizer' needs the authorizer")
        resource = self.rest_api.root.resource_for_path(path)
        integration = apigw.LambdaIntegration(function.function, proxy=True)
        for method in methods:
            added = resource.add_method(
                method,
                integration,
                authorizer=authorizer if access == "authorizer" else None,
                request_validator=self.request_validator,
            )
            if access == "public":
                for rule in ("AwsSolutions::AwsSolutions-APIG4", "AwsSolutions::AwsSolutions-COG4"):
                    acknowledge(added, rule, _PUBLIC_REASON)
            else:
                acknowledge(
                    added,
                    "AwsSolutions::AwsSolutions-COG4",
                    "Echo is its own OpenID Provider (Cognito is not available offline); routes use its "
                    "Lambda authorizer, which verifies access tokens against the JWKS.",
                )
            if method in credential_methods:
                self._throttle(path, method)
        return resource

    def credential_throttle(self) -> tuple[int, int]:
        """(rate per second, burst) of the routes that take credentials."""
        return (
            max(1, self._settings.api_throttle_rate // CREDENTIAL_THROTTLE_DIVISOR),
            max(1, self._settings.api_throttle_burst // CREDENTIAL_THROTTLE_DIVISOR),
        )

    def _throttle(self, path: str, method: str) -> None:
        rate, burst = self.credential_throttle()
        self._stage.add_property_override(
            f"MethodSettings.{self._method_settings}",
            {
                # CloudFormation's encoding: "/resource/sub" is "/~1resource~1sub".
                "ResourcePath": "/" + path.replace("~", "~0").replace("/", "~1"),
                "HttpMethod": method,
                "ThrottlingRateLimit": rate,
                "ThrottlingBurstLimit": burst,
            },
        )
        self._method_settings += 1


_PUBLIC_REASON = (
    "A public endpoint of the OpenID Provider or the hosted login (RFC 6749/OIDC): callers have no token "
    "yet; the function authenticates clients and users itself."
)
