"""The authz construct, synthesized alone (tests/integration/stack_template.py, AUTHZ): tables,
least-privilege roles, routes behind the authorizer, cdk-nag clean in every stage."""

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks.authz import ROUTES, AuthzService
from stacks.function import EchoFunction
from tests.integration.stack_template import AUTHZ

WRITE_ACTIONS = {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def _statements(template_: Template, role_prefix: str) -> list[dict[str, Any]]:
    for policy in template_.find_resources("AWS::IAM::Policy").values():
        if policy["Properties"]["Roles"][0]["Ref"].startswith(role_prefix):
            return list(policy["Properties"]["PolicyDocument"]["Statement"])
    raise AssertionError(f"no policy for {role_prefix}")


def _grants(template_: Template, role_prefix: str, table_prefix: str) -> set[str]:
    actions: set[str] = set()
    for statement in _statements(template_, role_prefix):
        resource = statement["Resource"]
        if isinstance(resource, dict) and resource.get("Fn::GetAtt", [""])[0].startswith(table_prefix):
            action = statement["Action"]
            actions |= {action} if isinstance(action, str) else set(action)
    return actions


@pytest.mark.parametrize("stage", ["local", "prod"])
def test_the_construct_passes_cdk_nag(stage: str) -> None:
    # Synthesis raises on any unacknowledged AwsSolutions/Serverless finding.
    app, _ = AUTHZ.build_app(stage)
    app.synth()


def test_policy_table_is_keyed_by_tenant_and_item_encrypted_with_pitr() -> None:
    AUTHZ.template("prod").has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "TableName": "echo-prod-authz-policies",
                "KeySchema": [
                    {"AttributeName": "tenant", "KeyType": "HASH"},
                    {"AttributeName": "item", "KeyType": "RANGE"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "DeletionProtectionEnabled": True,
            },
            "DeletionPolicy": "Retain",
        },
    )


def test_documents_metadata_table_is_keyed_by_tenant_and_document_id() -> None:
    AUTHZ.template("local").has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "echo-local-documents",
            "KeySchema": [
                {"AttributeName": "tenant", "KeyType": "HASH"},
                {"AttributeName": "document_id", "KeyType": "RANGE"},
            ],
        },
    )


def test_the_api_role_never_updates_or_deletes_policies() -> None:
    prod = AUTHZ.template("prod")
    assert _grants(prod, "AuthzApiRole", "AuthzPolicyTable") == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
    }
    assert _grants(prod, "AuthzApiRole", "AuthzDocumentsTable") == {"dynamodb:GetItem", "dynamodb:Query"}


def test_an_in_process_decider_reads_and_publishes_only() -> None:
    prod = AUTHZ.template("prod")
    assert _grants(prod, "ConsumerRole", "AuthzPolicyTable") == {"dynamodb:GetItem"}
    assert _grants(prod, "ConsumerRole", "AuthzDocumentsTable") == {"dynamodb:GetItem", "dynamodb:Query"}
    actions = {
        a
        for s in _statements(prod, "ConsumerRole")
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not actions & WRITE_ACTIONS
    (publish,) = [s for s in _statements(prod, "ConsumerRole") if s["Action"] == "sns:Publish"]
    assert publish["Resource"]["Ref"].startswith("EventBusAuditTopic")


@pytest.mark.parametrize("producer", ["platform", "authz"])
def test_no_decider_is_granted_another_producers_voice(producer: str) -> None:
    # The platform decides nothing; and no in-process decider may say its decisions on authz's topic
    _, stack = AUTHZ.build_app("local")
    authz, consumer = stack.node.find_child("Authz"), stack.node.find_child("Consumer")
    assert isinstance(authz, AuthzService)
    assert isinstance(consumer, EchoFunction)
    with pytest.raises(ValueError, match="does not decide in-process"):
        authz.grant_decide(consumer, producer)


def _authz_topic_publishers(template_: Template) -> set[str]:
    """The function roles granted sns:Publish on the authz topic."""
    roles = set()
    for policy in template_.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            on_authz = any(
                str(r.get("Ref", "")).startswith("EventBusAuthzTopic")
                for r in resources
                if isinstance(r, dict)
            )
            if on_authz and "sns:Publish" in json.dumps(statement["Action"]):
                roles |= {role["Ref"] for role in policy["Properties"]["Roles"]}
    return roles


def test_only_the_authz_function_and_the_outbox_relay_may_publish_on_the_authz_topic(prod: Template) -> None:
    # In the construct alone: the authz API and the relay, never the in-process decider
    publishers = _authz_topic_publishers(AUTHZ.template("prod"))
    assert {role.split("Role")[0] for role in publishers} == {"AuthzApi", "OutboxRelay"}
    # In the whole stack: the roles, and the topic policy naming them as its only publishers
    functions = {
        f["Properties"]["Role"]["Fn::GetAtt"][0]: f["Properties"]["FunctionName"].removeprefix("echo-prod-")
        for f in prod.find_resources("AWS::Lambda::Function").values()
        if isinstance(f["Properties"].get("FunctionName"), str)
    }
    assert {functions[role] for role in _authz_topic_publishers(prod)} == {"authz", "outbox-relay"}


def test_no_authz_statement_has_a_wildcard_action_or_resource() -> None:
    for role in ("AuthzApiRole", "ConsumerRole"):
        for statement in _statements(AUTHZ.template("prod"), role):
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            assert all("*" not in action for action in actions)
            if statement["Resource"] == "*":
                assert set(actions) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@pytest.mark.parametrize(("role", "topic"), [("AuthzApi", "Authz"), ("Consumer", "Audit")])
def test_functions_get_the_client_configuration_and_their_own_topic(role: str, topic: str) -> None:
    # A decision belongs to its decider: the stand-in decider (an audit function) says it on audit's topic
    AUTHZ.template("local").has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Role": {"Fn::GetAtt": [Match.string_like_regexp(f"^{role}Role"), "Arn"]},
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "AUTHZ_POLICY_TABLE": {"Ref": Match.string_like_regexp("^AuthzPolicyTable")},
                        "AUTHZ_DOCUMENTS_TABLE": {"Ref": Match.string_like_regexp("^AuthzDocumentsTable")},
                        "AUTHZ_REFRESH_SECONDS": "5",
                        "EVENT_TOPIC_ARN": {"Ref": Match.string_like_regexp(f"^EventBus{topic}Topic")},
                    }
                )
            },
        },
    )


def test_the_api_function_runs_the_authz_package() -> None:
    AUTHZ.template("local").has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "echo-local-authz",
            "Handler": "authz.handler.lambda_handler",
            "Runtime": "python3.13",
        },
    )


def test_every_route_is_behind_the_lambda_authorizer() -> None:
    local = AUTHZ.template("local")
    methods = local.find_resources("AWS::ApiGateway::Method")
    resources = local.find_resources("AWS::ApiGateway::Resource")
    expected = {(path, method) for path, verbs in ROUTES for method in verbs}
    found = set()
    for method in methods.values():
        properties = method["Properties"]
        resource = properties["ResourceId"].get("Ref")
        if resource is None or resource not in resources:
            continue
        path = _path(resources, resource)
        if not path.startswith("/authz/"):
            continue
        found.add((path, properties["HttpMethod"]))
        assert properties["AuthorizationType"] == "CUSTOM"
        assert "Ref" in properties["AuthorizerId"]
    assert found == expected


def _path(resources: Mapping[str, Any], logical_id: str) -> str:
    parts = []
    while logical_id in resources:
        properties = resources[logical_id]["Properties"]
        parts.append(properties["PathPart"])
        logical_id = properties["ParentId"].get("Ref", "")
    return "/" + "/".join(reversed(parts))
