"""The document product's infrastructure: bucket, notification, queue policy, least-privilege roles."""

from typing import Any

from aws_cdk.assertions import Template

from tests.infrastructure.test_stack import actions, policy_statements, resources


def _role_of(template: Template, package: str) -> str:
    for function in resources(template, "AWS::Lambda::Function").values():
        if function["Properties"]["Handler"] == f"{package}.handler.lambda_handler":
            return str(function["Properties"]["Role"]["Fn::GetAtt"][0])
    raise AssertionError(f"no function {package}")


def _actions_of(template: Template, package: str) -> set[str]:
    statements = policy_statements(template)[_role_of(template, package)]
    return {action for statement in statements for action in actions(statement)}


def _documents_bucket(template: Template) -> dict[str, Any]:
    [bucket] = [
        b
        for logical_id, b in resources(template, "AWS::S3::Bucket").items()
        if logical_id.startswith("Documents")
    ]
    return bucket["Properties"]


def test_the_bucket_notifies_the_parse_queue_of_originals_only(local: Template) -> None:
    bucket = _documents_bucket(local)
    [configuration] = bucket["NotificationConfiguration"]["QueueConfigurations"]
    assert configuration["Event"] == "s3:ObjectCreated:*"
    assert configuration["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "tenants/"}]
    assert configuration["Queue"]["Fn::GetAtt"][0].startswith("DocumentsParseQueue")
    policies = resources(local, "AWS::SQS::QueuePolicy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert any(
        s.get("Principal") == {"Service": "s3.amazonaws.com"} and s["Effect"] == "Allow" for s in statements
    )


def test_the_bucket_is_private_encrypted_unversioned_and_cors_limited(prod: Template) -> None:
    bucket = _documents_bucket(prod)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "BucketEncryption" in bucket
    assert "VersioningConfiguration" not in bucket
    [rule] = bucket["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    assert "*" not in rule["AllowedOrigins"]


def test_each_document_function_gets_only_what_it_uses(prod: Template) -> None:
    assert "dynamodb:DeleteItem" not in _actions_of(prod, "documents")
    assert "s3:GetObject" not in _actions_of(prod, "documents")
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}.isdisjoint(
        _actions_of(prod, "query")
    )
    assert "s3:PutObject" not in _actions_of(prod, "query")
    assert "dynamodb:DeleteItem" not in _actions_of(prod, "parse")


def test_only_embed_and_query_carry_the_ml_layer(prod: Template) -> None:
    layers = {
        logical_id
        for logical_id in resources(prod, "AWS::Lambda::LayerVersion")
        if logical_id.startswith("DocumentsMl")
    }
    [ml_layer] = layers
    with_ml = {
        function["Properties"]["Handler"].split(".")[0]
        for function in resources(prod, "AWS::Lambda::Function").values()
        if {"Ref": ml_layer} in function["Properties"].get("Layers", [])
    }
    assert with_ml == {"embed", "query"}


def test_record_changes_write_the_documents_outbox_and_only_deciders_publish_directly(
    prod: Template,
) -> None:
    tables = {t["Properties"]["TableName"]: k for k, t in resources(prod, "AWS::DynamoDB::Table").items()}
    outbox = tables["echo-prod-outbox-documents"]
    topics = {t["Properties"]["TopicName"]: k for k, t in resources(prod, "AWS::SNS::Topic").items()}
    documents_topic = topics["echo-prod-events-documents"]
    for package in ("documents", "parse", "embed"):
        # Each commits its record changes' events in the documents outbox (PutItem in the transaction)
        statements = policy_statements(prod)[_role_of(prod, package)]
        (on_outbox,) = [s for s in statements if outbox in str(s["Resource"])]
        assert actions(on_outbox) == ["dynamodb:PutItem"], package
    # parse and embed publish nothing themselves any more
    for package in ("parse", "embed"):
        assert "sns:Publish" not in _actions_of(prod, package), package
    # The documents API (its decisions) and query (its decisions, query.answered) publish directly,
    # on the documents topic only; query writes no outbox (no state change)
    for package in ("documents", "query"):
        statements = policy_statements(prod)[_role_of(prod, package)]
        published_on = {str(s["Resource"]) for s in statements if "sns:Publish" in actions(s)}
        assert published_on == {str({"Ref": documents_topic})}, package
    query = policy_statements(prod)[_role_of(prod, "query")]
    assert not [s for s in query if outbox in str(s["Resource"])]
