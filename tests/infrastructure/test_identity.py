"""The identity construct, synthesized alone (tests/integration/stack_template.py, IDENTITY): tables,
least-privilege roles, the authorizer contract, routes, the rotation schedule, cdk-nag clean."""

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks.identity import CREDENTIAL_ROUTES, PROTECTED_ROUTES, PUBLIC_ROUTES, SIGNING_KEY_TAG
from tests.integration.stack_template import IDENTITY


def _function(template_: Template, handler_package: str) -> tuple[str, Mapping[str, Any]]:
    for logical_id, function in template_.find_resources("AWS::Lambda::Function").items():
        if function["Properties"]["Handler"] == f"{handler_package}.handler.lambda_handler":
            return logical_id, function
    raise AssertionError(f"no function {handler_package}")


def _statements(template_: Template, handler_package: str) -> list[dict[str, Any]]:
    _, function = _function(template_, handler_package)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in template_.find_resources("AWS::IAM::Policy").values():
        if any(r["Ref"] == role for r in policy["Properties"]["Roles"]):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _on_table(statement: dict[str, Any], table_prefix: str) -> bool:
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return any(
        isinstance(r, dict) and r.get("Fn::GetAtt", [""])[0].startswith(table_prefix) for r in resources
    )


def _leading_keys(statement: dict[str, Any]) -> set[str]:
    keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys", [])
    return set(keys)


@pytest.mark.parametrize("stage", ["local", "prod"])
def test_the_construct_passes_cdk_nag(stage: str) -> None:
    # Synthesis raises on any unacknowledged AwsSolutions/Serverless finding.
    app, _ = IDENTITY.build_app(stage)
    app.synth()


def test_identity_table_has_typed_items_ttl_pitr_encryption_and_is_retained_in_prod() -> None:
    IDENTITY.template("prod").has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "TableName": "echo-prod-identity",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "DeletionProtectionEnabled": True,
            },
            "DeletionPolicy": "Retain",
        },
    )
    IDENTITY.template("prod").has_resource_properties(
        "AWS::DynamoDB::Table",
        {"TableName": "echo-prod-signing-keys", "KeySchema": [{"AttributeName": "kid", "KeyType": "HASH"}]},
    )


def test_every_identity_table_grant_is_limited_to_its_item_prefixes() -> None:
    # Given every function's statements on the identity table
    for package in ("login", "token_service", "authorizer", "users"):
        for statement in _statements(IDENTITY.template("prod"), package):
            if _on_table(statement, "IdentityIdentityTable"):
                # Then each is conditioned on partition-key prefixes
                assert _leading_keys(statement), (package, statement)


def test_the_authorizer_only_reads_published_keys_and_the_revoked_jti_list() -> None:
    statements = _statements(IDENTITY.template("prod"), "authorizer")
    granted = set().union(*(_actions(s) for s in statements))
    assert granted == {
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    identity_reads = [s for s in statements if _on_table(s, "IdentityIdentityTable")]
    assert [_leading_keys(s) for s in identity_reads] == [{"JTI#*"}]


def test_only_the_token_service_signs_and_only_with_this_stages_tagged_keys() -> None:
    for package in ("login", "authorizer", "users", "key_rotation", "token_service"):
        signs = [s for s in _statements(IDENTITY.template("prod"), package) if "kms:Sign" in _actions(s)]
        if package != "token_service":
            assert signs == [], package
            continue
        (sign,) = signs
        assert sign["Condition"] == {
            "StringEquals": {
                f"aws:ResourceTag/{SIGNING_KEY_TAG}": "prod",
                "kms:KeySpec": "ECC_NIST_P256",
                "kms:KeyUsage": "SIGN_VERIFY",
                "kms:SigningAlgorithm": "ECDSA_SHA_256",
                "kms:MessageType": "RAW",
            }
        }


def test_only_the_rotation_writes_signing_keys_and_creates_only_tagged_p256_keys() -> None:
    for package in ("login", "token_service", "authorizer", "users"):
        for statement in _statements(IDENTITY.template("prod"), package):
            if _on_table(statement, "IdentitySigningKeysTable"):
                assert _actions(statement) == {"dynamodb:Scan"}, package
    create = next(
        s for s in _statements(IDENTITY.template("prod"), "key_rotation") if "kms:CreateKey" in _actions(s)
    )
    assert create["Condition"]["StringEquals"] == {
        f"aws:RequestTag/{SIGNING_KEY_TAG}": "prod",
        "kms:KeySpec": "ECC_NIST_P256",
        "kms:KeyUsage": "SIGN_VERIFY",
    }
    assert create["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": [SIGNING_KEY_TAG]}


def test_no_function_gets_a_private_key_or_a_secret_through_its_environment() -> None:
    for function in IDENTITY.template("prod").find_resources("AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert not any("SECRET" in name or "PRIVATE" in name for name in variables)


def test_the_token_authorizer_reads_the_bearer_header_and_caches_briefly() -> None:
    IDENTITY.template("prod").has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "TOKEN",
            "IdentitySource": "method.request.header.Authorization",
            "IdentityValidationExpression": "^[Bb]earer [-0-9A-Za-z._~+/]+=*$",
            "AuthorizerResultTtlInSeconds": 60,
        },
    )


def test_public_and_protected_routes() -> None:
    methods = [
        m["Properties"] for m in IDENTITY.template("prod").find_resources("AWS::ApiGateway::Method").values()
    ]
    public = [
        m for m in methods if m["AuthorizationType"] == "NONE" and m["Integration"]["Type"] == "AWS_PROXY"
    ]
    protected = [m for m in methods if m["AuthorizationType"] == "CUSTOM"]
    assert len(public) == sum(len(methods) for routes in PUBLIC_ROUTES.values() for _, methods in routes)
    assert len(protected) == sum(len(methods) for _, methods in PROTECTED_ROUTES)
    assert all("AuthorizerId" in m for m in protected)


def test_issuer_is_derived_from_the_rest_api_per_stage() -> None:
    _, local = _function(IDENTITY.template("local"), "token_service")
    _, prod = _function(IDENTITY.template("prod"), "token_service")
    local_issuer = local["Properties"]["Environment"]["Variables"]["ISSUER"]["Fn::Join"][1]
    prod_issuer = prod["Properties"]["Environment"]["Variables"]["ISSUER"]["Fn::Join"][1]
    assert local_issuer[0] == "http://127.0.0.1:4566/_aws/execute-api/"
    assert prod_issuer[0] == "https://"
    assert local_issuer[1]["Ref"].startswith("ApiRestApi")
    assert prod_issuer[1]["Ref"].startswith("ApiRestApi")


def test_rotation_runs_hourly_one_at_a_time_with_a_dlq() -> None:
    IDENTITY.template("prod").has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 hour)",
            "Targets": [
                Match.object_like({"DeadLetterConfig": Match.any_value(), "RetryPolicy": Match.any_value()})
            ],
        },
    )
    _, rotation = _function(IDENTITY.template("prod"), "key_rotation")
    assert rotation["Properties"]["ReservedConcurrentExecutions"] == 1
    assert rotation["Properties"]["Environment"]["Variables"]["KEY_DELETION_WINDOW_DAYS"] == "30"


def test_the_iam_tag_condition_names_the_tag_the_vault_puts_on_keys() -> None:
    from echo_shared.identity.kms import PURPOSE_TAG

    assert SIGNING_KEY_TAG == PURPOSE_TAG


@pytest.mark.parametrize("stage", ["local", "prod"])
def test_credential_routes_are_throttled_tighter_than_the_read_apis(stage: str) -> None:
    # Given the synthesized stage of the shared REST API
    [api_stage] = IDENTITY.template(stage).find_resources("AWS::ApiGateway::Stage").values()
    settings = api_stage["Properties"]["MethodSettings"]
    by_route = {(s["ResourcePath"], s["HttpMethod"]): s for s in settings}
    # Then the stage-wide default is still there (it throttles the read APIs)
    default = by_route[("/*", "*")]
    # And every route that takes a credential has its own limit, ten times tighter
    expected = {
        ("/" + path.replace("/", "~1"), method)
        for path, methods in CREDENTIAL_ROUTES.items()
        for method in methods
    }
    assert {("/~1token", "POST"), ("/~1login", "POST"), ("/~1register", "POST")} <= expected
    assert expected <= set(by_route)
    for route in expected:
        assert by_route[route]["ThrottlingRateLimit"] * 10 <= default["ThrottlingRateLimit"]
        assert by_route[route]["ThrottlingBurstLimit"] * 10 <= default["ThrottlingBurstLimit"]
    # And no read API (users, discovery, JWKS) has a limit of its own: the default applies
    assert not [route for route in by_route if "users" in route[0] or "jwks" in route[0]]


def _kms_statements(template_: Template, package: str) -> list[dict[str, Any]]:
    return [s for s in _statements(template_, package) if any(a.startswith("kms:") for a in _actions(s))]


def test_kms_grants_on_any_key_arn_need_our_tag_and_a_p256_signing_key() -> None:
    # Given every identity role's KMS statements that name keys by wildcard (created at run time)
    for package in ("login", "token_service", "authorizer", "users", "key_rotation"):
        for statement in _kms_statements(IDENTITY.template("prod"), package):
            if statement.get("Effect") == "Deny" or "key/*" not in json.dumps(statement["Resource"]):
                continue
            # Then each is conditioned on this stage's tag *and* on the key being a P-256 signing
            # key, so no symmetric data key and no other stage's key qualifies
            conditions = statement["Condition"]
            equals = conditions["StringEquals"]
            assert equals["kms:KeySpec"] == "ECC_NIST_P256", (package, statement)
            assert equals["kms:KeyUsage"] == "SIGN_VERIFY", (package, statement)
            tag = equals.get(f"aws:ResourceTag/{SIGNING_KEY_TAG}") or equals.get(
                f"aws:RequestTag/{SIGNING_KEY_TAG}"
            )
            assert tag == "prod", (package, statement)


def test_the_rotation_tags_only_with_the_stage_tag_and_never_retags_another_stages_key() -> None:
    [tag] = [
        s
        for s in _kms_statements(IDENTITY.template("prod"), "key_rotation")
        if "kms:TagResource" in _actions(s)
    ]
    assert _actions(tag) == {"kms:TagResource"}
    assert tag["Condition"]["StringEquals"][f"aws:RequestTag/{SIGNING_KEY_TAG}"] == "prod"
    assert tag["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": [SIGNING_KEY_TAG]}
    assert tag["Condition"]["StringEqualsIfExists"] == {f"aws:ResourceTag/{SIGNING_KEY_TAG}": "prod"}


def test_no_identity_role_may_untag_grant_or_rewrite_key_policies() -> None:
    for package in ("login", "token_service", "authorizer", "users", "key_rotation"):
        allowed = set().union(
            *(
                _actions(s)
                for s in _kms_statements(IDENTITY.template("prod"), package)
                if s.get("Effect") != "Deny"
            )
        )
        assert not allowed & {"kms:UntagResource", "kms:CreateGrant", "kms:PutKeyPolicy", "kms:*"}, package
