"""Small stacks holding one service and what it needs, synthesized with bundling skipped.

Integration tests build their moto tables from these templates, and the infrastructure tests assert
on them, so the tables the tests use and the ones CDK deploys cannot drift apart.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from stacks import producers
from stacks.api import EchoApi
from stacks.authz import AuthzService
from stacks.bundling import layer_code
from stacks.event_bus import EventBus
from stacks.function import EchoFunction
from stacks.identity import IdentityService
from stacks.nag import acknowledge_rules, attach_nag_packs
from stacks.outbox import Outbox
from stacks.settings import StageSettings

REPO = Path(__file__).resolve().parents[2]
CONTEXT = json.loads((REPO / "cdk.json").read_text())["context"]


@dataclass(frozen=True, slots=True)
class Parts:
    """What every test stack holds before its service is added."""

    stack: cdk.Stack
    settings: StageSettings
    bus: EventBus
    layer: lambda_.LayerVersion
    api: EchoApi


@dataclass(frozen=True, slots=True)
class StackTemplate:
    name: str
    add_service: Callable[[Parts], None]
    # Prefixes of the logical ids of the tables this service's tests build.
    tables: tuple[str, ...]

    def build_app(self, stage: str) -> tuple[cdk.App, cdk.Stack]:
        app = cdk.App(context={**CONTEXT, "aws:cdk:bundling-stacks": []})
        settings = StageSettings.from_context(stage, CONTEXT["stages"])
        stack = cdk.Stack(
            app, f"{self.name}Test-{stage}", env=cdk.Environment(account="111111111111", region="eu-west-1")
        )
        bus = EventBus(stack, "EventBus", settings=settings)
        layer = lambda_.LayerVersion(
            stack, "SharedLayer", code=layer_code("shared"), compatible_runtimes=[lambda_.Runtime.PYTHON_3_13]
        )
        api = EchoApi(stack, "Api", settings=settings)
        self.add_service(Parts(stack, settings, bus, layer, api))
        acknowledge_rules(stack)
        attach_nag_packs(app)
        return app, stack

    def template(self, stage: str) -> Template:
        return _template(self, stage)

    def table_definitions(self, stage: str = "local") -> dict[str, dict[str, Any]]:
        """Logical id -> the properties of the service's tables."""
        return {
            logical_id: resource["Properties"]
            for logical_id, resource in self.template(stage).find_resources("AWS::DynamoDB::Table").items()
            if logical_id.startswith(self.tables)
        }


@cache
def _template(spec: StackTemplate, stage: str) -> Template:
    _, stack = spec.build_app(stage)
    return Template.from_stack(stack)


def _authz(parts: Parts) -> None:
    stack, settings, bus, layer = parts.stack, parts.settings, parts.bus, parts.layer
    # Stand-in for the identity service's Lambda authorizer.
    verifier = EchoFunction(
        stack,
        "TokenVerifier",
        settings=settings,
        package="log_sink",
        description="authorizer stand-in",
        layers=[layer],
    )
    authorizer = apigw.RequestAuthorizer(
        stack,
        "Authorizer",
        handler=verifier.function,
        identity_sources=[apigw.IdentitySource.header("Authorization")],
    )
    authz = AuthzService(stack, "Authz", settings=settings, bus=bus, layer=layer)
    authz.add_routes(parts.api, authorizer=authorizer)
    Outbox(stack, "Outbox", settings=settings, bus=bus, layer=layer).grant_write(
        authz.function, producers.AUTHZ
    )
    # Any other function deciding in-process (a stand-in package: only its grants matter here).
    consumer = EchoFunction(
        stack,
        "Consumer",
        settings=settings,
        package="audit_api",
        description="in-process decider",
        layers=[layer],
    )
    authz.grant_decide(consumer, producers.AUDIT)


def _identity(parts: Parts) -> None:
    stack, settings, bus, layer = parts.stack, parts.settings, parts.bus, parts.layer
    outbox = Outbox(stack, "Outbox", settings=settings, bus=bus, layer=layer)
    IdentityService(stack, "Identity", settings=settings, api=parts.api, bus=bus, outbox=outbox, layer=layer)


AUTHZ = StackTemplate("Authz", _authz, ("Authz",))
IDENTITY = StackTemplate("Identity", _identity, ("Identity", "Outbox"))
