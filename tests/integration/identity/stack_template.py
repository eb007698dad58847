"""A small stack holding only the identity service and what it needs, synthesized with bundling skipped.

Integration tests build their moto tables from this template and the infrastructure tests assert on
it, so the tables the tests use and the ones CDK deploys cannot drift apart.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from stacks.api import EchoApi
from stacks.bundling import layer_code
from stacks.event_bus import EventBus
from stacks.identity import IdentityService
from stacks.nag import acknowledge_rules, attach_nag_packs
from stacks.outbox import Outbox
from stacks.settings import StageSettings

REPO = Path(__file__).resolve().parents[3]
CONTEXT = json.loads((REPO / "cdk.json").read_text())["context"]


def build_app(stage: str) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(context={**CONTEXT, "aws:cdk:bundling-stacks": []})
    settings = StageSettings.from_context(stage, CONTEXT["stages"])
    stack = cdk.Stack(
        app, f"IdentityTest-{stage}", env=cdk.Environment(account="111111111111", region="eu-west-1")
    )
    bus = EventBus(stack, "EventBus", settings=settings)
    layer = lambda_.LayerVersion(
        stack, "SharedLayer", code=layer_code("shared"), compatible_runtimes=[lambda_.Runtime.PYTHON_3_13]
    )
    api = EchoApi(stack, "Api", settings=settings)
    outbox = Outbox(stack, "Outbox", settings=settings, bus=bus, layer=layer)
    IdentityService(stack, "Identity", settings=settings, api=api, bus=bus, outbox=outbox, layer=layer)
    acknowledge_rules(stack)
    attach_nag_packs(app)
    return app, stack


@cache
def template(stage: str) -> Template:
    _, stack = build_app(stage)
    return Template.from_stack(stack)


def table_definitions(stage: str = "local") -> dict[str, dict[str, Any]]:
    """Logical id -> properties of the identity construct's tables."""
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template(stage).find_resources("AWS::DynamoDB::Table").items()
        if logical_id.startswith(("Identity", "Outbox"))
    }
