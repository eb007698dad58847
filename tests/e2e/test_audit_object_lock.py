"""The deployed checkpoint bucket under S3 Object Lock (GOVERNANCE on LocalStack, which enforces it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import ServiceAccounts, wait_for


def test_a_notary_checkpoint_is_locked_and_cannot_be_overwritten_or_deleted(
    stack: dict[str, Any], aws: Callable[[str], Any], accounts: ServiceAccounts, tenant: str
) -> None:
    # Given the tenant's first event (its service account's token) chained and checkpointed
    s3, bucket = aws("s3"), stack["buckets"]["audit_checkpoints"]
    key = f"checkpoints/{tenant}/{1:012d}.json"
    accounts.token(tenant)
    wait_for(lambda: s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))
    # Then the notary wrote it locked, in the local stage's mode
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockRetainUntilDate"] > head["LastModified"]
    version_id = head["VersionId"]
    # And a second write at the same key is refused (If-None-Match, as the notary writes)
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    # And the locked version cannot be deleted without the governance bypass no Echo role holds
    with pytest.raises(ClientError) as denied:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)["ObjectLockMode"] == "GOVERNANCE"
