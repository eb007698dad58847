"""Assertions on the synthesized templates: the security and reliability properties we promise."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks.settings import StageSettings
from tests.infrastructure.conftest import STAGES

FUNCTIONS_LOCAL = {
    "audit_ingest",
    "audit_notary",
    "audit_verification",
    "log_sink",
    "outbox_relay",
    "audit_api",
    "authz",
    "login",
    "token_service",
    "authorizer",
    "users",
    "key_rotation",
    "documents",
    "parse",
    "embed",
    "query",
    "web",
}


def resources(template: Template, type_: str) -> dict[str, Any]:
    return template.find_resources(type_)


def policy_statements(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Role logical id -> every statement attached to it."""
    statements: dict[str, list[dict[str, Any]]] = {}
    for policy in resources(template, "AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            statements.setdefault(role["Ref"], []).extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_every_function_has_its_own_role_and_log_group_with_retention(local: Template) -> None:
    # Given the local stage's functions
    functions = resources(local, "AWS::Lambda::Function")
    # Then each has a distinct role, a JSON log config pointing at its own retained log group
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(functions) == len(FUNCTIONS_LOCAL)
    assert len(set(roles)) == len(roles)
    groups = resources(local, "AWS::Logs::LogGroup")
    for function in functions.values():
        group_ref = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group_ref]["Properties"]["RetentionInDays"] == 7
        assert function["Properties"]["Runtime"] == "python3.13"
        assert function["Properties"]["LoggingConfig"]["LogFormat"] == "JSON"


def test_no_role_has_managed_policies_or_wildcard_actions(prod: Template) -> None:
    for role in resources(prod, "AWS::IAM::Role").values():
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service") == (
            "lambda.amazonaws.com"
        ):
            assert "ManagedPolicyArns" not in role["Properties"]
    for statements in policy_statements(prod).values():
        for statement in statements:
            assert all("*" not in action for action in actions(statement)), statement
            if statement["Resource"] == "*":
                if actions(statement) == ["kms:CreateKey"]:
                    # Keys created at run time have no ARN yet: narrowed by tag, spec and usage instead.
                    assert {"kms:KeySpec", "kms:KeyUsage"} <= set(statement["Condition"]["StringEquals"])
                    continue
                # ListStreams has no resource-level permission (the relay's stream event source).
                assert set(actions(statement)) <= {
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "dynamodb:ListStreams",
                }


def test_audit_ingest_can_append_but_never_update_or_delete(local: Template) -> None:
    # Given the ingest function's role
    function = next(
        f
        for f in resources(local, "AWS::Lambda::Function").values()
        if "audit-ingest" in f["Properties"]["FunctionName"]
    )
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    granted = {action for statement in policy_statements(local)[role] for action in actions(statement)}
    # Then it writes with conditional puts only and cannot rewrite history
    assert {"dynamodb:PutItem", "dynamodb:Query", "lambda:InvokeFunction"} <= granted
    # And it cannot sign or write checkpoints: that is the notary's (ADR 0009)
    assert not granted & {"kms:Sign", "s3:PutObject"}
    assert not granted & {
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "s3:DeleteObject",
        "kms:ScheduleKeyDeletion",
    }


def test_queues_have_dlqs_and_visibility_at_least_six_times_the_consumer_timeout(prod: Template) -> None:
    queues = resources(prod, "AWS::SQS::Queue")
    functions = resources(prod, "AWS::Lambda::Function")
    mappings = resources(prod, "AWS::Lambda::EventSourceMapping")
    assert mappings
    for mapping in mappings.values():
        source = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        if source not in queues:
            continue  # the outbox relay reads a table's stream (tests/infrastructure/test_outbox.py)
        queue = queues[source]
        function = functions[mapping["Properties"]["FunctionName"]["Ref"]]
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"]
        redrive = queue["Properties"]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] >= 1
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_subscriptions_have_filters_and_redrive(prod: Template) -> None:
    subscriptions = list(resources(prod, "AWS::SNS::Subscription").values())
    # The audit queue on each of the five producer topics (not raw: tests/infrastructure/test_topics.py),
    # the three others on their producer's topic, raw
    assert len(subscriptions) == 5 + 3
    for subscription in subscriptions:
        assert "RedrivePolicy" in subscription["Properties"]
    filters = [s["Properties"].get("FilterPolicy") for s in subscriptions]
    # The audit queue receives every event but notifications (an address and a live link)
    assert {"type": [{"anything-but": {"prefix": "notification."}}]} in filters
    assert {"type": [{"prefix": "notification."}]} in filters  # the mail outbox
    assert {"type": [{"prefix": "log."}]} in filters
    assert {"type": [{"prefix": "document.parsed"}, {"prefix": "document.deleted"}]} in filters
    prod.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_tables_are_encrypted_with_pitr_and_retained_in_prod(prod: Template) -> None:
    tables = resources(prod, "AWS::DynamoDB::Table")
    assert len(tables) == 12  # one outbox per outboxed producer (identity, authz, documents; ADR 0016)
    sessions = [t for t in tables.values() if "web-sessions" in str(t["Properties"]["TableName"])]
    # The web app's sessions are encrypted with their own key and expire; restoring them from a backup
    # would resurrect ended sessions, so they alone have no point-in-time recovery and are not retained.
    assert len(sessions) == 1
    assert sessions[0]["Properties"]["SSESpecification"]["SSEType"] == "KMS"
    assert sessions[0]["Properties"]["TimeToLiveSpecification"]["Enabled"] is True
    for table in tables.values():
        if table in sessions:
            continue
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"


def test_chain_table_keys_and_log_ttl(prod: Template) -> None:
    prod.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "tenant", "KeyType": "HASH"},
                {"AttributeName": "seq", "KeyType": "RANGE"},
            ]
        },
    )
    prod.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"KeySchema": [{"AttributeName": "event_id", "KeyType": "HASH"}]},
    )
    prod.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}},
    )


def test_buckets_block_public_access_enforce_tls_and_encrypt(prod: Template) -> None:
    buckets = resources(prod, "AWS::S3::Bucket")
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert "BucketEncryption" in bucket["Properties"]
    policies = resources(prod, "AWS::S3::BucketPolicy")
    assert len(policies) == len(buckets)
    for policy in policies.values():
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_checkpoint_signing_key_is_asymmetric_p256(prod: Template) -> None:
    prod.has_resource_properties("AWS::KMS::Key", {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"})


def test_only_identity_entry_points_and_health_are_public(prod: Template) -> None:
    # Given every method of the prod API
    resources_by_id = resources(prod, "AWS::ApiGateway::Resource")
    public = set()
    for method in resources(prod, "AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        if properties.get("AuthorizationType", "NONE") == "NONE" and properties["HttpMethod"] != "OPTIONS":
            public.add(
                resources_by_id.get(properties["ResourceId"].get("Ref", ""), {})
                .get("Properties", {})
                .get("PathPart")
            )
    # Then only the OpenID Provider's and hosted login's endpoints (consent pages included: they check
    # the session cookie), the health check and the web app (which authenticates its own session
    # cookie and holds tokens server side) need no token
    assert public <= {
        "health", "login", "register", "logout", "authorize", "token", "jwks.json",
        "openid-configuration", "revoke", "introspect", "userinfo", "verify-email", "consent", "consents",
        "app", "{proxy+}",
    }  # fmt: skip
    prod.resource_count_is("AWS::ApiGateway::ApiKey", 0)
    for path_part in ("events", "verify", "logs", "check", "batch", "list", "policies", "me"):
        method = next(
            m["Properties"]
            for m in resources(prod, "AWS::ApiGateway::Method").values()
            if resources_by_id.get(m["Properties"]["ResourceId"].get("Ref", ""), {})
            .get("Properties", {})
            .get("PathPart")
            == path_part
        )
        assert method["AuthorizationType"] == "CUSTOM", path_part


def test_api_stage_has_access_logs_throttling_and_tracing(prod: Template) -> None:
    prod.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "TracingEnabled": True,
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {"ThrottlingRateLimit": 500, "ThrottlingBurstLimit": 250, "LoggingLevel": "INFO"}
                    )
                ]
            ),
        },
    )


@pytest.mark.parametrize("stage", ["local", "prod"])
def test_physical_names_are_prefixed_by_stage(stage: str, local: Template, prod: Template) -> None:
    template = local if stage == "local" else prod
    for table in resources(template, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["TableName"].startswith(f"echo-{stage}-")


@pytest.mark.parametrize(("stage", "seconds"), [("local", "300"), ("prod", "3600")])
def test_audit_api_knows_how_recent_a_checkpoint_must_be_per_stage(
    stage: str, seconds: str, local: Template, prod: Template
) -> None:
    template = {"local": local, "prod": prod}[stage]
    function = next(
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if "audit-api" in str(f["Properties"]["FunctionName"])
    )
    variables = function["Properties"]["Environment"]["Variables"]
    assert (variables["AUDIT_MAX_UNSIGNED_SECONDS"], variables["AUDIT_MAX_UNSIGNED_RECORDS"]) == (
        seconds,
        "10000",
    )


def _role_actions(template: Template, package: str) -> tuple[str, set[str], list[dict[str, Any]]]:
    function = next(
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if package in str(f["Properties"]["FunctionName"])
    )
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = policy_statements(template)[role]
    return role, {action for statement in statements for action in actions(statement)}, statements


def test_audit_notary_signs_and_reads_but_cannot_write_the_chain(prod: Template) -> None:
    _, granted, statements = _role_actions(prod, "audit-notary")
    assert {"kms:Sign", "kms:GetPublicKey", "s3:PutObject", "s3:GetObject", "dynamodb:Query"} <= granted
    assert not granted & {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:BatchGetItem",
        "sqs:SendMessage",
        "s3:DeleteObject",
    }
    dynamodb_resources = [
        s["Resource"] for s in statements if any(a.startswith("dynamodb:") for a in actions(s))
    ]
    assert len(dynamodb_resources) == 1  # the chain table only: not the exactly-once guards


def test_only_the_notary_signs_checkpoints_and_writes_them(prod: Template) -> None:
    key = next(
        logical_id
        for logical_id, key in resources(prod, "AWS::KMS::Key").items()
        if "audit chain checkpoints" in key["Properties"].get("Description", "")
    )
    notary_role, _, _ = _role_actions(prod, "audit-notary")
    signers, writers = set(), set()
    for role, statements in policy_statements(prod).items():
        for statement in statements:
            allows = statement.get("Effect", "Allow") == "Allow"
            if allows and "kms:Sign" in actions(statement) and key in json.dumps(statement["Resource"]):
                signers.add(role)
            if "s3:PutObject" in actions(statement) and "Checkpoints" in json.dumps(statement["Resource"]):
                writers.add(role)
    assert signers == {notary_role}
    assert writers == {notary_role}


def _checkpoint_bucket(template: Template) -> tuple[str, dict[str, Any]]:
    return next(
        (logical_id, bucket)
        for logical_id, bucket in resources(template, "AWS::S3::Bucket").items()
        if "audit-checkpoints" in json.dumps(bucket["Properties"].get("BucketName"))
    )


@pytest.mark.parametrize(
    ("stage", "mode", "days"), [("local", "GOVERNANCE", 1), ("prod", "COMPLIANCE", 2557)]
)
def test_checkpoints_are_under_object_lock_per_stage(
    stage: str, mode: str, days: int, local: Template, prod: Template
) -> None:
    template = {"local": local, "prod": prod}[stage]
    # Given the checkpoint bucket of the stage
    _, checkpoint_bucket = _checkpoint_bucket(template)
    properties = checkpoint_bucket["Properties"]
    # Then it is versioned with Object Lock and the stage's default retention
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["ObjectLockEnabled"] is True
    assert properties["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": mode, "Days": days}},
    }
    # And the notary writes each checkpoint with the same retention
    function = next(
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if "audit-notary" in str(f["Properties"]["FunctionName"])
    )
    variables = function["Properties"]["Environment"]["Variables"]
    assert (variables["CHECKPOINT_LOCK_MODE"], variables["CHECKPOINT_RETENTION_DAYS"]) == (mode, str(days))


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_every_aws_stage_locks_checkpoints_in_compliance_mode(stage: str) -> None:
    settings = StageSettings.from_context(stage, STAGES)
    assert settings.checkpoint_lock_mode == "COMPLIANCE"
    assert settings.checkpoint_retention_days >= 1


def _checkpoint_policy_statement(prod: Template, sid: str) -> dict[str, Any]:
    logical_id, _ = _checkpoint_bucket(prod)
    policy = next(
        p
        for p in resources(prod, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    )
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return next(s for s in statements if s.get("Sid") == sid)


def test_no_one_can_write_over_an_existing_checkpoint(prod: Template) -> None:
    # Given the checkpoint bucket's policy
    deny = _checkpoint_policy_statement(prod, "CheckpointsAreWrittenOnce")
    # Then every principal is refused a PutObject on checkpoints/* without If-None-Match
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", {"AWS": "*"}, "s3:PutObject")
    assert deny["Condition"] == {"Null": {"s3:if-none-match": "true"}}
    assert "checkpoints/*" in json.dumps(deny["Resource"])


def test_no_one_can_delete_a_checkpoint_or_hide_it_behind_a_delete_marker(prod: Template) -> None:
    # Given the checkpoint bucket's policy
    deny = _checkpoint_policy_statement(prod, "CheckpointsAreNeverDeleted")
    # Then every principal is refused both a plain delete (a delete marker) and a version delete
    assert (deny["Effect"], deny["Principal"]) == ("Deny", {"AWS": "*"})
    assert set(deny["Action"]) == {"s3:DeleteObject", "s3:DeleteObjectVersion"}
    assert "Condition" not in deny
    assert "checkpoints/*" in json.dumps(deny["Resource"])


def test_only_the_notary_can_write_checkpoints_or_set_their_retention(prod: Template) -> None:
    logical_id, _ = _checkpoint_bucket(prod)
    notary_role, _, _ = _role_actions(prod, "audit-notary")
    writers: dict[str, set[str]] = {}
    for role, statements in policy_statements(prod).items():
        for statement in statements:
            if logical_id not in json.dumps(statement["Resource"]):
                continue
            written = {
                a
                for a in actions(statement)
                if a.startswith("s3:Put") or a.startswith("s3:Delete") or "Retention" in a or "Bypass" in a
            }
            if written:
                writers.setdefault(role, set()).update(written)
    assert writers == {notary_role: {"s3:PutObject", "s3:PutObjectRetention"}}


def test_the_verification_job_reads_the_chain_and_writes_only_its_jobs(prod: Template) -> None:
    # Given the job function's role
    _, granted, statements = _role_actions(prod, "audit-verification")
    # Then it reads the chain and the checkpoints, keeps its jobs, re-enqueues itself and publishes
    assert granted == {
        "dynamodb:Query",
        "kms:GetPublicKey",
        "s3:GetObject",
        "s3:ListBucket",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "sqs:SendMessage",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    tables = resources(prod, "AWS::DynamoDB::Table")
    jobs_table = next(k for k, t in tables.items() if "audit-verifications" in t["Properties"]["TableName"])
    chain_table = next(
        k for k, t in tables.items() if t["Properties"]["TableName"] == "echo-prod-audit-chain"
    )
    for statement in statements:
        if {"dynamodb:PutItem", "dynamodb:GetItem"} & set(actions(statement)):
            # Writes go to its own table only, never to the chain or the guards
            assert jobs_table in json.dumps(statement["Resource"])
        if "dynamodb:Query" in actions(statement):
            assert chain_table in json.dumps(statement["Resource"])
        if "sqs:SendMessage" in actions(statement):
            # Its own queue (the next pages) and its DLQ (poison messages), nothing else
            sent_to = {resource["Fn::GetAtt"][0] for resource in statement["Resource"]}
            assert {name.removeprefix("AuditVerificationsJob")[:3] for name in sent_to} == {"Que", "Dlq"}
    # And its queue is consumed one message at a time with partial failures and a DLQ
    mapping = next(
        m
        for m in resources(prod, "AWS::Lambda::EventSourceMapping").values()
        if "AuditVerificationsJobQueue" in json.dumps(m["Properties"]["EventSourceArn"])
    )
    assert mapping["Properties"]["BatchSize"] == 1


def test_the_audit_api_starts_jobs_but_cannot_verify_them_for_itself(prod: Template) -> None:
    _, granted, statements = _role_actions(prod, "audit-api")
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "sqs:SendMessage"} <= granted
    for statement in statements:
        written = {"dynamodb:PutItem", "dynamodb:DeleteItem", "sqs:SendMessage"} & set(actions(statement))
        if written:
            # Its jobs table (a job it could not queue is withdrawn) and the jobs' queue, nothing else
            assert "AuditVerifications" in json.dumps(statement["Resource"])
    routes = {
        (method["Properties"]["HttpMethod"], method["Properties"]["AuthorizationType"])
        for logical_id, method in resources(prod, "AWS::ApiGateway::Method").items()
        if "auditverifications" in logical_id
    }
    assert routes == {("POST", "CUSTOM"), ("GET", "CUSTOM")}


def test_no_identity_role_can_take_over_echos_other_keys(prod: Template) -> None:
    # Given Echo's own keys that are not token-signing keys (bus, audit notary, web sessions)
    keys = {logical_id for logical_id in resources(prod, "AWS::KMS::Key")}
    assert len(keys) >= 3
    identity_roles = {
        function["Properties"]["Role"]["Fn::GetAtt"][0]
        for function in resources(prod, "AWS::Lambda::Function").values()
        if str(function["Properties"].get("Handler", "")).split(".")[0]
        in {"login", "token_service", "authorizer", "users", "key_rotation"}
    }
    assert len(identity_roles) == 5
    for policy in resources(prod, "AWS::IAM::Policy").values():
        roles = {role["Ref"] for role in policy["Properties"]["Roles"]}
        if not roles & identity_roles:
            continue
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        # Then every identity role explicitly denies tagging, untagging, signing with, deleting and
        # granting each of them, whatever tag a key might be given
        denies = [s for s in statements if s["Effect"] == "Deny"]
        assert len(denies) == 1
        [deny] = denies
        assert {"kms:TagResource", "kms:UntagResource", "kms:Sign", "kms:ScheduleKeyDeletion",
                "kms:CreateGrant", "kms:PutKeyPolicy"} <= set(deny["Action"])  # fmt: skip
        denied = {resource["Fn::GetAtt"][0] for resource in deny["Resource"]}
        assert denied == keys - {k for k in keys if "Signing" in k and "Audit" not in k}


def test_no_key_policy_lets_a_tag_decide_who_uses_a_key(prod: Template) -> None:
    for key in resources(prod, "AWS::KMS::Key").values():
        policy = json.dumps(key["Properties"]["KeyPolicy"])
        assert "aws:ResourceTag" not in policy
        assert "aws:RequestTag" not in policy
        assert "kms:CreateGrant" not in policy or "kms:GrantIsForAWSResource" in policy
