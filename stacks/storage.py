"""Storage defaults shared by every bounded context: encrypted, PITR, TLS-only, private."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.settings import StageSettings


def table(
    scope: Construct,
    construct_id: str,
    *,
    settings: StageSettings,
    name: str,
    partition_key: dynamodb.Attribute,
    sort_key: dynamodb.Attribute | None = None,
    time_to_live_attribute: str | None = None,
    stream: dynamodb.StreamViewType | None = None,
) -> dynamodb.Table:
    return dynamodb.Table(
        scope,
        construct_id,
        table_name=settings.resource_name(name),
        partition_key=partition_key,
        sort_key=sort_key,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=settings.is_production_like,
        time_to_live_attribute=time_to_live_attribute,
        stream=stream,
        removal_policy=settings.removal_policy,
    )


def bucket(
    scope: Construct,
    construct_id: str,
    *,
    settings: StageSettings,
    name: str,
    access_logs: s3.IBucket | None,
    versioned: bool = True,
    object_lock: s3.ObjectLockRetention | None = None,
) -> s3.Bucket:
    """`object_lock` (needs versioning) is the default retention of every new object version."""
    return s3.Bucket(
        scope,
        construct_id,
        bucket_name=f"{settings.resource_name(name)}-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        versioned=versioned,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=f"{name}/" if access_logs else None,
        removal_policy=settings.removal_policy,
        object_lock_enabled=True if object_lock else None,
        object_lock_default_retention=object_lock,
    )
