"""A small stack holding only the authz service and what it needs, synthesized with bundling skipped.

Integration tests build their moto tables from this template, and the infrastructure tests assert
on it, so the tables the tests use and the ones CDK deploys cannot drift apart.
"""

import json
from functools import cache
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from stacks.api import EchoApi
from stacks.authz import AuthzService
from stacks.bundling import layer_code
from stacks.event_bus import EventBus
from stacks.function import EchoFunction
from stacks.nag import acknowledge_rules, attach_nag_packs
from stacks.outbox import Outbox
from stacks.settings import StageSettings

REPO = Path(__file__).resolve().parents[3]
CONTEXT = json.loads((REPO / "cdk.json").read_text())["context"]


def build_app(stage: str) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(context={**CONTEXT, "aws:cdk:bundling-stacks": []})
    settings = StageSettings.from_context(stage, CONTEXT["stages"])
    stack = cdk.Stack(
        app, f"AuthzTest-{stage}", env=cdk.Environment(account="111111111111", region="eu-west-1")
    )
    bus = EventBus(stack, "EventBus", settings=settings)
    layer = lambda_.LayerVersion(
        stack, "SharedLayer", code=layer_code("shared"), compatible_runtimes=[lambda_.Runtime.PYTHON_3_13]
    )
    api = EchoApi(stack, "Api", settings=settings)
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
    authz.add_routes(api, authorizer=authorizer)
    Outbox(stack, "Outbox", settings=settings, bus=bus, layer=layer).grant_write(authz.function)
    # Any other function deciding in-process (a stand-in package: only its grants matter here).
    consumer = EchoFunction(
        stack,
        "Consumer",
        settings=settings,
        package="audit_api",
        description="in-process decider",
        layers=[layer],
    )
    authz.grant_decide(consumer)
    acknowledge_rules(stack)
    attach_nag_packs(app)
    return app, stack


@cache
def template(stage: str) -> Template:
    _, stack = build_app(stage)
    return Template.from_stack(stack)


def table_definitions(stage: str = "local") -> dict[str, dict[str, object]]:
    """Logical id -> the table's properties, for tables of the authz construct."""
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template(stage).find_resources("AWS::DynamoDB::Table").items()
        if logical_id.startswith("Authz")
    }
