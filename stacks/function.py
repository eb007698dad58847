"""One Lambda function: bundled code, its own least-privilege role and its own log group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.bundling import function_code
from stacks.layers import CEDAR_FUNCTIONS, cedar_layer
from stacks.nag import acknowledge
from stacks.settings import StageSettings


class EchoFunction(Construct):
    """A Python 3.13 function whose role starts empty: callers grant exactly what it uses."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        package: str,
        description: str,
        layers: Sequence[lambda_.ILayerVersion],
        environment: Mapping[str, str] | None = None,
        timeout: cdk.Duration | None = None,
        memory_size: int = 512,
    ) -> None:
        super().__init__(scope, construct_id)
        if package in CEDAR_FUNCTIONS:
            layers = [*layers, cedar_layer(self, settings)]
        function_name = settings.resource_name(package.replace("_", "-"))
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=retention(settings.log_retention_days),
            removal_policy=settings.removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {function_name}",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.X86_64,
            handler=f"{package}.handler.lambda_handler",
            code=function_code(package),
            layers=list(layers),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            timeout=timeout or cdk.Duration.seconds(10),
            memory_size=memory_size,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "ECHO_STAGE": settings.name,
                "POWERTOOLS_SERVICE_NAME": package,
                "POWERTOOLS_METRICS_NAMESPACE": "Echo",
                "LOG_LEVEL": "DEBUG" if settings.name == "local" else "INFO",
                **(environment or {}),
            },
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],
            )
        )
        acknowledge(
            self.role,
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
        )

    def grant(self, actions: Sequence[str], resources: Sequence[str]) -> None:
        self.role.add_to_policy(iam.PolicyStatement(actions=list(actions), resources=list(resources)))


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    2557: logs.RetentionDays.SEVEN_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    if days not in _RETENTION:
        raise ValueError(
            f"{days} days is not one of the supported log retention periods {sorted(_RETENTION)}"
        )
    return _RETENTION[days]


def acknowledge_prefix_grant(function: EchoFunction, bucket: s3.IBucket, prefix: str) -> None:
    """A grant on `bucket/prefix` is a wildcard to cdk-nag; it is the narrowest S3 object grant there is."""
    logical_id = cdk.Stack.of(bucket).get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
    acknowledge(
        function.role,
        f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{prefix}]",
        f"Object access is limited to the {prefix} key prefix of one bucket.",
    )
