"""cdk-nag (v3, CDK policy validation): AwsSolutions and Serverless packs.

Every acknowledged rule carries a written reason and is recorded here, stack-wide, for review.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct

# Rule id -> why Echo deliberately differs from the rule, everywhere in the stack.
ACKNOWLEDGED_RULES: dict[str, str] = {
    "AwsSolutions::AwsSolutions-L1": (
        "Functions run python3.13, the runtime Echo's offline executor and awslambdaric wheels support "
        "(DESIGN.md); python3.14 adoption is tracked as a decision, not a silent bump."
    ),
    "Serverless::Serverless-LambdaLatestVersion": "Same as AwsSolutions-L1: python3.13 is a deliberate pin.",
    "Serverless::Serverless-LambdaDLQ": (
        "No function is invoked asynchronously: consumers read SQS queues whose redrive policy moves "
        "failed messages to a DLQ, and API functions answer synchronously."
    ),
    "Serverless::Serverless-LambdaEventSourceMappingDestination": (
        "On-failure destinations are not supported for SQS event sources; the source queue's redrive "
        "policy to its DLQ is the failure destination."
    ),
    "Serverless::Serverless-SQSRedrivePolicy": "Only dead-letter queues lack a redrive policy: they are the end of the line.",
    "AwsSolutions::AwsSolutions-APIG3": (
        "WAF is attached per account by the platform team in AWS stages; it does not exist offline. "
        "API Gateway throttling bounds the request rate meanwhile: a stage default, and per-route limits "
        "ten times tighter on the routes that take credentials (stacks/api.py)."
    ),
}


def attach_nag_packs(app: Construct) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))


def acknowledge(scope: Construct, rule: str, reason: str) -> None:
    """Acknowledge one rule on one construct (and its children), with the reason on record."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def acknowledge_rules(stack: cdk.Stack) -> None:
    cdk.Validations.of(stack).acknowledge(
        *(cdk.Acknowledgment(id=rule, reason=reason) for rule, reason in ACKNOWLEDGED_RULES.items())
    )
