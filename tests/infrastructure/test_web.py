"""The web app's construct in the synthesized stack: KMS-encrypted sessions, a secret that never
sits in the environment, least-privilege role, public /app routes (the app authenticates itself)."""

from typing import Any

from aws_cdk.assertions import Match, Template


def _web_function(template: Template) -> tuple[str, dict[str, Any]]:
    for logical_id, function in template.find_resources("AWS::Lambda::Function").items():
        if function["Properties"]["Handler"] == "web.handler.lambda_handler":
            return logical_id, function
    raise AssertionError("no web function")


def _statements(template: Template, function: dict[str, Any]) -> list[dict[str, Any]]:
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    found: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if any(r["Ref"] == role for r in policy["Properties"]["Roles"]):
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def test_sessions_are_encrypted_with_their_own_rotating_key(prod: Template) -> None:
    tables = prod.find_resources(
        "AWS::DynamoDB::Table", {"Properties": {"TableName": Match.string_like_regexp("web-sessions")}}
    )
    (table,) = tables.values()
    sse = table["Properties"]["SSESpecification"]
    assert sse["SSEEnabled"] is True
    assert sse["SSEType"] == "KMS"
    key_id = sse["KMSMasterKeyId"]["Fn::GetAtt"][0]
    assert prod.to_json()["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_client_secret_is_referenced_never_inlined(prod: Template) -> None:
    _, function = _web_function(prod)
    env = function["Properties"]["Environment"]["Variables"]
    assert "Ref" in env["WEB_CLIENT_SECRET_ARN"]
    assert not any("SECRET" in name and name != "WEB_CLIENT_SECRET_ARN" for name in env)
    assert env["WEB_URL"]["Fn::Join"][1][-1].endswith("/app/")


def test_the_role_may_touch_only_its_table_key_and_secret(prod: Template) -> None:
    _, function = _web_function(prod)
    actions = set()
    for statement in _statements(prod, function):
        action = statement["Action"]
        actions |= {action} if isinstance(action, str) else set(action)
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
        "secretsmanager:GetSecretValue",
    }


def test_app_routes_proxy_to_the_web_function_without_the_token_authorizer(prod: Template) -> None:
    logical_id, _ = _web_function(prod)
    resources = prod.find_resources("AWS::ApiGateway::Resource")
    paths = {r["Properties"]["PathPart"] for r in resources.values()}
    assert {"app", "{proxy+}"} <= paths
    methods = [
        m
        for m in prod.find_resources("AWS::ApiGateway::Method").values()
        if logical_id in str(m["Properties"].get("Integration", {}).get("Uri", ""))
    ]
    assert {m["Properties"]["HttpMethod"] for m in methods} == {"GET", "POST", "DELETE"}
    assert all(m["Properties"]["AuthorizationType"] == "NONE" for m in methods)
