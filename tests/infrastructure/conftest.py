import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.echo_stack import EchoStack
from stacks.settings import StageSettings

REPO = Path(__file__).resolve().parents[2]
CONTEXT = json.loads((REPO / "cdk.json").read_text())["context"]
STAGES = CONTEXT["stages"]


def synthesize(stage: str) -> Template:
    # Bundling is skipped here (assets are the source folders); tests/infrastructure/test_bundles.py
    # builds the real bundles.
    app = cdk.App(context={**CONTEXT, "aws:cdk:bundling-stacks": []})
    settings = StageSettings.from_context(stage, STAGES)
    env = cdk.Environment(account="111111111111", region="eu-west-1")
    stack = EchoStack(app, f"Echo-{stage}", settings=settings, env=env)
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def prod() -> Template:
    return synthesize("prod")


@pytest.fixture(scope="session")
def local() -> Template:
    return synthesize("local")
