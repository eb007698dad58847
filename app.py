#!/usr/bin/env python3
"""CDK entry point: one Echo stage per environment, chosen with `-c stage=NAME`."""

from __future__ import annotations

import os

import aws_cdk as cdk

from stacks.echo_stack import EchoStack
from stacks.nag import acknowledge_rules, attach_nag_packs
from stacks.settings import StageSettings


def main() -> None:
    app = cdk.App()
    stage_name = app.node.try_get_context("stage") or "local"
    settings = StageSettings.from_context(stage_name, app.node.try_get_context("stages"))
    env = cdk.Environment(
        account=settings.account or os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=settings.region or os.environ.get("CDK_DEFAULT_REGION"),
    )
    stack = EchoStack(app, f"Echo-{settings.name}", settings=settings, env=env)
    cdk.Tags.of(stack).add("app", "echo")
    cdk.Tags.of(stack).add("stage", settings.name)
    acknowledge_rules(stack)
    attach_nag_packs(app)
    app.synth()


if __name__ == "__main__":
    main()
