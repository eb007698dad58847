"""The identity service: Echo's own OpenID Provider.

Two tables (identity items, signing keys), five functions (login pages + authorization endpoint,
token service, Lambda authorizer, users API, key rotation), their routes on the shared REST API, the
hourly rotation schedule, and least-privilege roles: each function may touch only the identity
items whose key prefix it needs (`dynamodb:LeadingKeys`), and only KMS keys tagged as this stage's
token-signing keys (the keys are created at run time by the rotation, so no ARN exists at deploy).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.api import API_STAGE, EchoApi
from stacks.bundling import SHARED_CODE_IN_BUNDLE
from stacks.event_bus import NOTIFICATION_PREFIX, EventBus, dead_letter_queue
from stacks.function import EchoFunction
from stacks.nag import acknowledge
from stacks.outbox import Outbox
from stacks.producers import IDENTITY
from stacks.settings import StageSettings
from stacks.storage import table

# Must match echo_shared.identity.kms.PURPOSE_TAG (CDK never imports function code).
SIGNING_KEY_TAG = "echo-token-signing"
# Must match echo_shared.identity.client_secrets.KEY_NAME_SUFFIX: the seeding finds the key by name.
CLIENT_SECRET_KEY_SUFFIX = "identity-client-secret-key"  # noqa: S105 (a name, not a secret)
LOCALSTACK_ENDPOINT = "http://127.0.0.1:4566"
AUTHORIZER_CACHE_SECONDS = 60
JWKS_CACHE_SECONDS = 60
ROTATION_SCHEDULE = cdk.Duration.hours(1)
ACCESS_TOKEN_TTL_SECONDS = 900
ID_TOKEN_TTL_SECONDS = 900

# What a key takeover would need: tagging or untagging it, signing with it, deleting it, granting it.
TAKEOVER_ACTIONS = (
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Sign",
    "kms:ScheduleKeyDeletion",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
)
LOCAL_MEMBER_EMAIL_DOMAINS = "demo=demo.echo.test other=other.echo.test"

PUBLIC_ROUTES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "login": (
        ("/authorize", ("GET", "POST")),
        ("/login", ("GET", "POST")),
        ("/register", ("GET", "POST")),
        ("/logout", ("GET", "POST")),
        ("/verify-email", ("GET", "POST")),
        ("/consent", ("POST",)),
        ("/consents", ("GET",)),
        ("/consents/revoke", ("POST",)),
    ),
    "token": (
        ("/token", ("POST",)),
        ("/jwks.json", ("GET",)),
        ("/.well-known/openid-configuration", ("GET",)),
        ("/userinfo", ("GET", "POST")),
        ("/revoke", ("POST",)),
        ("/introspect", ("POST",)),
    ),
}
# Where passwords, client secrets, codes, refresh and verification tokens are presented: these get
# the API's credential throttle (stacks/api.py), tighter than the read APIs.
CREDENTIAL_ROUTES: dict[str, tuple[str, ...]] = {
    "/login": ("POST",),
    "/register": ("POST",),
    "/token": ("POST",),
    "/revoke": ("POST",),
    "/introspect": ("POST",),
    "/verify-email": ("POST",),
}
PROTECTED_ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/users/me", ("GET",)),
    ("/users", ("GET",)),
    ("/users/{user_id}", ("DELETE",)),
    ("/users/{user_id}/disable", ("POST",)),
    ("/users/{user_id}/lockout", ("GET",)),
    ("/users/{user_id}/roles", ("PUT",)),
)


def default_issuer(api: EchoApi, settings: StageSettings) -> str:
    """The API's base URL, which is the OpenID issuer. Built from the RestApi id (a token), not
    from `rest_api.url`: that one depends on the deployment, which depends on these functions."""
    api_id = api.rest_api.rest_api_id
    if settings.name == "local":
        # `make up` passes the endpoint it deployed to (the port can differ, e.g. a second instance).
        endpoint = api.node.try_get_context("localstack_endpoint") or LOCALSTACK_ENDPOINT
        return cdk.Fn.join("", [endpoint, "/_aws/execute-api/", api_id, "/", API_STAGE])
    return cdk.Fn.join(
        "", ["https://", api_id, ".execute-api.", cdk.Aws.REGION, ".", cdk.Aws.URL_SUFFIX, "/", API_STAGE]
    )


class IdentityService(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        api: EchoApi,
        bus: EventBus,
        outbox: Outbox,
        layer: lambda_.ILayerVersion,
        issuer: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self.issuer = issuer or default_issuer(api, settings)
        self.audience = f"urn:echo:api:{settings.name}"
        self.identity_table = table(
            self,
            "IdentityTable",
            settings=settings,
            name="identity",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expires_at",
        )
        self.signing_keys_table = table(
            self,
            "SigningKeysTable",
            settings=settings,
            name="signing-keys",
            partition_key=dynamodb.Attribute(name="kid", type=dynamodb.AttributeType.STRING),
        )

        self.login = self._function(
            "Login",
            "login",
            "Hosted sign-in, registration and sign-out pages; the OIDC authorization endpoint",
            layer,
            memory_size=1024,
        )
        self.token = self._function(
            "Token",
            "token_service",
            "OIDC token service: /token, JWKS, discovery, userinfo, revocation, introspection",
            layer,
            memory_size=1024,
        )
        self.authorizer_function = self._function(
            "Authorizer",
            "authorizer",
            "Lambda authorizer: verifies Echo access tokens",
            layer,
            memory_size=512,
        )
        self.users = self._function(
            "Users", "users", "Users API: profile, admin listing, disable, delete", layer
        )
        self.key_rotation = self._function(
            "KeyRotation",
            "key_rotation",
            "Rotates the token-signing keys (next/current/previous) in KMS",
            layer,
            memory_size=256,
            timeout=cdk.Duration.seconds(30),
        )
        # Their events go to the outbox in the transaction of the state change; the relay publishes.
        for function in (self.login, self.token, self.users, self.key_rotation):
            outbox.grant_write(function, IDENTITY)
        self._grant_data_access()
        self._grant_signing_keys()
        self._schedule_rotation()
        self._client_secret_key()
        # The mail outbox: `notification.*` events (an address and a live link) for a mailer.
        self.notifications = bus.subscribe_queue(
            "notifications", consumer_timeout=cdk.Duration.seconds(30), type_prefixes=[NOTIFICATION_PREFIX]
        )

        self.authorizer = apigw.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            handler=self.authorizer_function.function,
            authorizer_name=settings.resource_name("token-authorizer"),
            identity_source=apigw.IdentitySource.header("Authorization"),
            validation_regex=r"^[Bb]earer [-0-9A-Za-z._~+/]+=*$",
            results_cache_ttl=cdk.Duration.seconds(AUTHORIZER_CACHE_SECONDS),
        )
        self._add_routes(api)

    def _member_email_domains(self) -> str:
        """The verified-email rule's domains (`tenant=domain,...`): context `member_email_domains`;
        the local sandbox vouches for its seeded tenants' domains."""
        configured = self.node.try_get_context("member_email_domains")
        if configured is not None:
            return str(configured)
        return LOCAL_MEMBER_EMAIL_DOMAINS if self._settings.name == "local" else ""

    @property
    def functions(self) -> dict[str, EchoFunction]:
        return {
            "login": self.login,
            "token_service": self.token,
            "authorizer": self.authorizer_function,
            "users": self.users,
            "key_rotation": self.key_rotation,
        }

    def environment(self) -> dict[str, str]:
        return {
            "ISSUER": self.issuer,
            "ACCESS_TOKEN_AUDIENCE": self.audience,
            "IDENTITY_TABLE": self.identity_table.table_name,
            "SIGNING_KEYS_TABLE": self.signing_keys_table.table_name,
            "ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
            "ID_TOKEN_TTL_SECONDS": str(ID_TOKEN_TTL_SECONDS),
        }

    def _function(
        self,
        construct_id: str,
        package: str,
        description: str,
        layer: lambda_.ILayerVersion,
        *,
        memory_size: int = 512,
        timeout: cdk.Duration | None = None,
    ) -> EchoFunction:
        environment = self.environment()
        if package == "key_rotation":
            environment["KEY_DELETION_WINDOW_DAYS"] = "30" if self._settings.is_production_like else "7"
        if package == "login":
            environment["MEMBER_EMAIL_DOMAINS"] = self._member_email_domains()
        if package == "authorizer":
            # A rotated-out (compromised) key stops verifying within this plus the gateway's cache.
            environment["JWKS_CACHE_SECONDS"] = str(JWKS_CACHE_SECONDS)
        return EchoFunction(
            self,
            construct_id,
            settings=self._settings,
            package=package,
            description=description,
            layers=[] if package in SHARED_CODE_IN_BUNDLE else [layer],
            environment=environment,
            memory_size=memory_size,
            timeout=timeout,
        )

    def _grant_items(self, function: EchoFunction, actions: Sequence[str], prefixes: Sequence[str]) -> None:
        """Item-level access to the identity table: only partition keys starting with `prefixes`."""
        function.role.add_to_policy(
            iam.PolicyStatement(
                actions=list(actions),
                resources=[self.identity_table.table_arn],
                conditions={
                    "ForAllValues:StringLike": {
                        "dynamodb:LeadingKeys": [f"{prefix}#*" for prefix in prefixes]
                    }
                },
            )
        )

    def _grant_data_access(self) -> None:
        read = ["dynamodb:GetItem"]
        write = [
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
        ]
        keys_arn = self.signing_keys_table.table_arn
        # Login: reads clients; creates users (registration) and re-hashes passwords; owns the
        # browser-side grants (pre-login transactions, sessions, codes) and the attempt counters.
        self._grant_items(
            self.login,
            [*read, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
            ["TENANT"],
        )
        self._grant_items(self.login, read, ["CLIENT"])
        self._grant_items(self.login, [*read, *write], ["LOGIN", "SESSION", "CODE", "ATTEMPT", "VERIFY"])
        # Consents: remembered, listed and revoked by the user (one partition per user).
        self._grant_items(
            self.login, [*read, "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"], ["CONSENT"]
        )
        self.login.grant(["dynamodb:Scan"], [keys_arn])  # id_token_hint verification
        # Token service: redeems codes, rotates refresh tokens, revokes; reads users and clients.
        # Consents are read to refuse grants of third-party clients the user revoked.
        self._grant_items(self.token, read, ["TENANT", "CLIENT", "CONSENT"])
        self._grant_items(
            self.token, [*read, "dynamodb:PutItem", "dynamodb:UpdateItem"], ["CODE", "RT", "FAMILY", "JTI"]
        )
        self.token.grant(["dynamodb:Scan"], [keys_arn])
        # Authorizer: the published keys and the revoked-jti list, read only.
        self._grant_items(self.authorizer_function, read, ["JTI"])
        self.authorizer_function.grant(["dynamodb:Scan"], [keys_arn])
        # Users API: the tenant's users, their lockout counters and their consents.
        self._grant_items(
            self.users,
            [
                *read,
                "dynamodb:Query",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
            ],
            ["TENANT"],
        )
        self._grant_items(self.users, [*read, "dynamodb:DeleteItem"], ["ATTEMPT"])
        # Deleting a user deletes their consents.
        self._grant_items(self.users, ["dynamodb:Query", "dynamodb:BatchWriteItem"], ["CONSENT"])
        # Key rotation: the only writer of the signing-keys table.
        self.key_rotation.grant(
            ["dynamodb:Scan", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"], [keys_arn]
        )

    def _client_secret_key(self) -> None:
        """The HMAC key of client secrets: only the token service reads it (and the sandbox seeding)."""
        self.client_secret_key = secretsmanager.Secret(
            self,
            "ClientSecretKey",
            secret_name=self._settings.resource_name(CLIENT_SECRET_KEY_SUFFIX),
            description="Key of the HMAC-SHA256 under which OAuth client secrets are stored",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=64
            ),
            removal_policy=self._settings.removal_policy,
        )
        acknowledge(
            self.client_secret_key,
            "AwsSolutions::AwsSolutions-SMG4",
            "Rotating this key invalidates every registered client secret at once; it is rotated by "
            "re-registering the clients (docs/identity.md), not by a rotation Lambda.",
        )
        self.token.function.add_environment("CLIENT_AUTH_HMAC_KEY_ARN", self.client_secret_key.secret_arn)
        self.token.grant(["secretsmanager:GetSecretValue"], [self.client_secret_key.secret_arn])

    def _grant_signing_keys(self) -> None:
        # Pseudo-parameters (not the stack's concrete env) keep the cdk-nag finding id stable.
        tagged_keys = f"arn:{cdk.Aws.PARTITION}:kms:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:key/*"
        # A key is ours only if it is tagged for this stage *and* is a P-256 signing key: a role
        # that could tag some other key still cannot sign with (or delete) a symmetric data key.
        signing_key = {"kms:KeySpec": "ECC_NIST_P256", "kms:KeyUsage": "SIGN_VERIFY"}
        is_ours = {"StringEquals": {f"aws:ResourceTag/{SIGNING_KEY_TAG}": self._settings.name, **signing_key}}
        self.token.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Sign"],
                resources=[tagged_keys],
                conditions={
                    "StringEquals": {
                        **is_ours["StringEquals"],
                        "kms:SigningAlgorithm": "ECDSA_SHA_256",
                        "kms:MessageType": "RAW",
                    }
                },
            )
        )
        self.key_rotation.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:GetPublicKey", "kms:ScheduleKeyDeletion"],
                resources=[tagged_keys],
                conditions=is_ours,
            )
        )
        # CreateKey has no resource to scope by: it is limited to P-256 signing keys tagged for this stage.
        self.key_rotation.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:CreateKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {f"aws:RequestTag/{SIGNING_KEY_TAG}": self._settings.name, **signing_key},
                    "ForAllValues:StringEquals": {"aws:TagKeys": [SIGNING_KEY_TAG]},
                },
            )
        )
        # CreateKey with Tags needs kms:TagResource. Limited to the stage's tag alone, on P-256 signing
        # keys that carry no purpose tag yet (the key being created) or already ours: the rotation
        # cannot re-tag another stage's key, nor any symmetric key (data keys of the bus, the audit,
        # the web sessions); Echo's own other keys are denied outright (deny_key_takeover).
        self.key_rotation.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:TagResource"],
                resources=[tagged_keys],
                conditions={
                    "StringEquals": {f"aws:RequestTag/{SIGNING_KEY_TAG}": self._settings.name, **signing_key},
                    "ForAllValues:StringEquals": {"aws:TagKeys": [SIGNING_KEY_TAG]},
                    "StringEqualsIfExists": {f"aws:ResourceTag/{SIGNING_KEY_TAG}": self._settings.name},
                },
            )
        )
        for function in (self.token, self.key_rotation):
            acknowledge(
                function.role,
                "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]",
                "Token-signing keys are created at run time by the rotation; access is limited by IAM "
                f"condition to keys tagged {SIGNING_KEY_TAG}={self._settings.name} (attribute-based access).",
            )

    def deny_key_takeover(self, keys: Sequence[kms.IKey]) -> None:
        """Echo's other keys (the bus's, the audit notary's, the web sessions', the alarm topic's where
        there is one) can never become signing keys of the identity service: explicit denies,
        whatever a tag says."""
        arns = [key.key_arn for key in keys]
        for function in self.functions.values():
            function.role.add_to_policy(
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    actions=list(TAKEOVER_ACTIONS),
                    resources=arns,
                )
            )

    def _schedule_rotation(self) -> None:
        # One rotation step at a time: the state machine's conditional writes assume no racing runs.
        cfn_function = self.key_rotation.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.reserved_concurrent_executions = 1
        self.rotation_rule = events.Rule(
            self,
            "RotationSchedule",
            rule_name=self._settings.resource_name("key-rotation"),
            description="Advances the token-signing key rotation (next -> current -> previous -> retired)",
            schedule=events.Schedule.rate(ROTATION_SCHEDULE),
        )
        self.rotation_dlq = dead_letter_queue(
            self, "RotationDlq", settings=self._settings, name="key-rotation-dlq"
        )
        acknowledge(
            self.rotation_dlq,
            "AwsSolutions::AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the rotation schedule's Lambda target.",
        )
        self.rotation_rule.add_target(
            targets.LambdaFunction(
                self.key_rotation.function, retry_attempts=2, dead_letter_queue=self.rotation_dlq
            )
        )

    def _add_routes(self, api: EchoApi) -> None:
        for package, routes in PUBLIC_ROUTES.items():
            function = self.login if package == "login" else self.token
            for path, methods in routes:
                api.route(
                    path,
                    methods,
                    function,
                    access="public",
                    credential_methods=CREDENTIAL_ROUTES.get(path, ()),
                )
        for path, methods in PROTECTED_ROUTES:
            api.route(path, methods, self.users, access="authorizer", authorizer=self.authorizer)
