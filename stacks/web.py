"""The web app: a backend-for-frontend function under `/app` on the shared REST API.

It is a confidential OIDC client of the identity service (one registration per tenant, seeded by
`make up`); its secret is generated into Secrets Manager, never into code or the environment.
Sessions (with the user's tokens) live in their own table, encrypted with their own KMS key.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.api import EchoApi
from stacks.function import EchoFunction
from stacks.identity import IdentityService
from stacks.nag import acknowledge
from stacks.settings import StageSettings

CLIENT_ID_PREFIX = "echo-web"
# What the app asks for on the user's behalf: exactly the APIs its pages call.
SCOPE = "openid email offline_access audit:read audit:verify logs:read documents:read documents:write users:admin authz:admin"
ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/app", ("GET",)),
    ("/app/{proxy+}", ("GET", "POST", "DELETE")),
)


class WebApp(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        api: EchoApi,
        identity: IdentityService,
        layer: lambda_.ILayerVersion,
        upload_origins: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.url = cdk.Fn.join("", [identity.issuer, "/app/"])
        self.session_key = kms.Key(
            self,
            "SessionKey",
            description="Encrypts the web app's sessions (they hold users' tokens)",
            enable_key_rotation=True,
            removal_policy=settings.removal_policy,
        )
        self.session_table = dynamodb.Table(
            self,
            "SessionTable",
            table_name=settings.resource_name("web-sessions"),
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.session_key,
            # Sessions are short-lived and re-creatable by signing in: no point-in-time restore of tokens.
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=False
            ),
            time_to_live_attribute="expires_at",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.session_table,
            "AwsSolutions::AwsSolutions-DDB3",
            "Sessions hold short-lived tokens; restoring them would resurrect ended sessions.",
        )
        self.client_secret = secretsmanager.Secret(
            self,
            "ClientSecret",
            description="OIDC client secret of the web app (its hash is registered with the identity service)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
            removal_policy=settings.removal_policy,
        )
        acknowledge(
            self.client_secret,
            "AwsSolutions::AwsSolutions-SMG4",
            "Rotating the client secret means re-registering its hash with the identity service; "
            "it is rotated by re-running the client registration, not by a rotation Lambda.",
        )
        if not upload_origins:
            upload_origins = (
                (api.node.try_get_context("localstack_endpoint") or "http://127.0.0.1:4566",)
                if settings.name == "local"
                else (f"https://*.s3.{cdk.Aws.REGION}.amazonaws.com",)
            )
        self.function = EchoFunction(
            self,
            "Function",
            settings=settings,
            package="web",
            description="Web app (backend-for-frontend): pages, sign-in, sessions, calls Echo's APIs",
            layers=[layer],
            memory_size=1024,
            timeout=cdk.Duration.seconds(29),
            environment={
                "WEB_URL": self.url,
                "ISSUER": identity.issuer,
                "ECHO_API_URL": cdk.Fn.join("", [identity.issuer, "/"]),
                "WEB_CLIENT_ID_PREFIX": CLIENT_ID_PREFIX,
                "WEB_CLIENT_SECRET_ARN": self.client_secret.secret_arn,
                "WEB_SCOPE": SCOPE,
                "SESSION_TABLE": self.session_table.table_name,
                "UPLOAD_ORIGINS": " ".join(upload_origins),
                **({"WEB_DEFAULT_TENANT": "demo"} if settings.name == "local" else {}),
            },
        )
        self.function.grant(
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], [self.session_table.table_arn]
        )
        self.function.grant(
            ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            [self.session_key.key_arn],
        )
        self.function.grant(["secretsmanager:GetSecretValue"], [self.client_secret.secret_arn])
        for path, methods in ROUTES:
            api.route(path, methods, self.function, access="public")
