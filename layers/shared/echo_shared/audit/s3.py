"""Checkpoint objects in S3 under `checkpoints/<tenant>/<seq:012d>.json`."""

from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from echo_shared.audit.checkpoints import (
    Checkpoint,
    StoredCheckpoint,
    checkpoint_prefix,
    read_checkpoint,
    seq_from_key,
)
from echo_shared.audit.errors import CheckpointError

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client


class S3CheckpointStore:
    def __init__(self, bucket: str, client: "S3Client | None" = None) -> None:
        self._bucket = bucket
        self._client = client or boto3.client("s3")

    def put(self, checkpoint: Checkpoint) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=checkpoint.key,
                Body=checkpoint.to_json(),
                ContentType="application/json",
            )
        except (ClientError, BotoCoreError) as exc:
            raise CheckpointError("storing the checkpoint failed") from exc

    def list(self, tenant: str) -> list[StoredCheckpoint]:
        found: list[StoredCheckpoint] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=checkpoint_prefix(tenant)
            )
            for page in pages:
                for entry in page.get("Contents", []):
                    key_seq = seq_from_key(entry["Key"])
                    if key_seq is None:
                        continue
                    body = self._client.get_object(Bucket=self._bucket, Key=entry["Key"])["Body"].read()
                    found.append(StoredCheckpoint(key_seq, read_checkpoint(body)))
        except (ClientError, BotoCoreError) as exc:
            raise CheckpointError("reading checkpoints failed") from exc
        return sorted(found, key=lambda stored: stored.key_seq)
