"""The authorization service: policy store table, the authz API function and its routes.

`grant_decide` lets any other function decide in-process (echo_shared.authz.runtime): it reads the
active policy version and the documents metadata, and publishes its `authz.decision` events on its
own producer's topic (ADR 0016: a decision belongs to its decider). Only the authz function (and
the outbox relay, for its policy events) may publish on the authz topic.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.api import EchoApi
from stacks.event_bus import EventBus
from stacks.function import EchoFunction
from stacks.producers import AUTHZ, DECIDERS
from stacks.settings import StageSettings
from stacks.storage import table

# How stale the active policy version may be in a warm container.
POLICY_REFRESH_SECONDS = 5
ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/authz/check", ("POST",)),
    ("/authz/batch", ("POST",)),
    ("/authz/list", ("POST",)),
    ("/authz/policies", ("GET", "PUT")),
    ("/authz/policies/history", ("GET",)),
    ("/authz/policies/{version}/activate", ("POST",)),
    ("/authz/policies/{version}/rollback", ("POST",)),
)


class AuthzService(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        bus: EventBus,
        layer: lambda_.ILayerVersion,
        documents_table: dynamodb.ITable | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._bus = bus
        # Versions, the active pointer and the activation log of every tenant (see echo_shared.authz.dynamodb).
        self.policy_table = table(
            self,
            "PolicyTable",
            settings=settings,
            name="authz-policies",
            partition_key=dynamodb.Attribute(name="tenant", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="item", type=dynamodb.AttributeType.STRING),
        )
        # Owned by the document service once it exists; until then created here so decisions on
        # documents work end to end. Pass the document service's table to share it.
        self.documents_table = documents_table or table(
            self,
            "DocumentsTable",
            settings=settings,
            name="documents",
            partition_key=dynamodb.Attribute(name="tenant", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="document_id", type=dynamodb.AttributeType.STRING),
        )
        self.function = EchoFunction(
            self,
            "Api",
            settings=settings,
            package="authz",
            description="Cedar authorization decisions (check, batch, list) and tenant policy administration",
            layers=[layer],
            memory_size=1024,
            timeout=cdk.Duration.seconds(15),
            environment={**self.environment, "EVENT_TOPIC_ARN": bus.topic_arn(AUTHZ)},
        )
        # Versions are immutable and the pointer moves by conditional put: no UpdateItem, no DeleteItem.
        self.function.grant(
            ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"],
            [self.policy_table.table_arn],
        )
        self.function.grant(["dynamodb:GetItem", "dynamodb:Query"], [self.documents_table.table_arn])
        bus.grant_publish(self.function, AUTHZ)

    @property
    def environment(self) -> dict[str, str]:
        """The in-process client's configuration, but its topic (each decider's own)."""
        return {
            "AUTHZ_POLICY_TABLE": self.policy_table.table_name,
            "AUTHZ_DOCUMENTS_TABLE": self.documents_table.table_name,
            "AUTHZ_REFRESH_SECONDS": str(POLICY_REFRESH_SECONDS),
        }

    def add_routes(self, api: EchoApi, *, authorizer: apigw.IAuthorizer) -> None:
        """Every authz route sits behind the identity service's Lambda authorizer."""
        for path, methods in ROUTES:
            api.route(path, methods, self.function, access="authorizer", authorizer=authorizer)

    def grant_decide(self, function: EchoFunction, producer: str) -> None:
        """Let `function`, which speaks for `producer`, use the in-process client: read-only on
        policies and documents; its decisions go on `producer`'s topic (EVENT_TOPIC_ARN), never
        on authz's, so a decider cannot say what only the authz service may."""
        if producer not in DECIDERS or producer == AUTHZ:
            raise ValueError(f"the {producer} producer does not decide in-process")
        function.grant(["dynamodb:GetItem"], [self.policy_table.table_arn])
        function.grant(["dynamodb:GetItem", "dynamodb:Query"], [self.documents_table.table_arn])
        self._bus.grant_publish(function, producer)
        for name, value in {**self.environment, "EVENT_TOPIC_ARN": self._bus.topic_arn(producer)}.items():
            function.function.add_environment(name, value)
