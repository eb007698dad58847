"""Checkpoint objects in S3 under `checkpoints/<tenant>/<seq:012d>.json`.

Keys are zero-padded, so S3's ascending key order is seq order: `StartAfter` finds the first
checkpoint at or above a seq with one listing request, and the latest one at or below a seq is
found by listing ever wider windows below it (normally the first window of 64 seqs).
"""

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from echo_shared.audit.checkpoints import (
    Checkpoint,
    StoredCheckpoint,
    checkpoint_key,
    checkpoint_prefix,
    read_checkpoint,
    seq_from_key,
)
from echo_shared.audit.errors import CheckpointError

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

_FIRST_WINDOW = 64
_WINDOW_GROWTH = 16
_PARALLEL_READS = 10  # boto3 clients are thread-safe; 10 is their default connection pool


@dataclass(frozen=True, slots=True)
class CheckpointRetention:
    """S3 Object Lock on each checkpoint written: locked until `days` after it was signed."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: int


class S3CheckpointStore:
    def __init__(
        self, bucket: str, client: "S3Client | None" = None, *, retention: CheckpointRetention | None = None
    ) -> None:
        self._bucket = bucket
        self._client = client or boto3.client("s3")
        self._retention = retention

    def put(self, checkpoint: Checkpoint) -> None:
        """Write the checkpoint once (If-None-Match), locked for its retention.

        A checkpoint already stored at that seq (a concurrent notary signed the same head) is left
        as it is: it is verified like any other by every later walk.
        """
        lock: dict[str, object] = {}
        if self._retention is not None:
            lock = {
                "ObjectLockMode": self._retention.mode,
                "ObjectLockRetainUntilDate": checkpoint.signed_at + timedelta(days=self._retention.days),
            }
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=checkpoint.key,
                Body=checkpoint.to_json(),
                ContentType="application/json",
                IfNoneMatch="*",
                **lock,  # type: ignore[arg-type]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                return
            raise CheckpointError("storing the checkpoint failed") from exc
        except BotoCoreError as exc:
            raise CheckpointError("storing the checkpoint failed") from exc

    def list(self, tenant: str) -> list[StoredCheckpoint]:
        """Every checkpoint of the tenant, read _PARALLEL_READS at a time (a full walk reads hundreds)."""
        try:
            keys = list(self._keys(tenant, after_seq=None))
            with ThreadPoolExecutor(max_workers=_PARALLEL_READS) as pool:
                found = list(pool.map(lambda entry: self._get(*entry), keys))
        except (ClientError, BotoCoreError) as exc:
            raise CheckpointError("reading checkpoints failed") from exc
        return sorted(found, key=lambda stored: stored.key_seq)

    def latest(self, tenant: str, *, at_or_below: int) -> StoredCheckpoint | None:
        if at_or_below < 1:
            return None
        window = _FIRST_WINDOW
        try:
            while True:
                after = at_or_below - window
                best: tuple[str, int] | None = None
                for key, key_seq in self._keys(tenant, after_seq=after if after >= 1 else None):
                    if key_seq > at_or_below:
                        break
                    best = (key, key_seq)
                if best is not None:
                    return self._get(*best)
                if after < 1:
                    return None
                window *= _WINDOW_GROWTH
        except (ClientError, BotoCoreError) as exc:
            raise CheckpointError("reading checkpoints failed") from exc

    def first_at_or_above(self, tenant: str, seq: int) -> StoredCheckpoint | None:
        try:
            after = seq - 1
            for key, key_seq in self._keys(tenant, after_seq=after if after >= 1 else None):
                return self._get(key, key_seq)
        except (ClientError, BotoCoreError) as exc:
            raise CheckpointError("reading checkpoints failed") from exc
        return None

    def seqs_between(self, tenant: str, first: int, last: int) -> Sequence[int]:
        found: list[int] = []
        try:
            for _, key_seq in self._keys(tenant, after_seq=first - 1 if first > 1 else None):
                if key_seq > last:
                    break
                found.append(key_seq)
        except (ClientError, BotoCoreError) as exc:
            raise CheckpointError("listing checkpoints failed") from exc
        return found

    def get(self, tenant: str, seq: int) -> StoredCheckpoint | None:
        try:
            return self._get(checkpoint_key(tenant, seq), seq)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise CheckpointError("reading the checkpoint failed") from exc
        except BotoCoreError as exc:
            raise CheckpointError("reading the checkpoint failed") from exc

    def _keys(self, tenant: str, *, after_seq: int | None) -> Iterator[tuple[str, int]]:
        """Checkpoint keys with a seq above `after_seq` (all if None), ascending, listed lazily."""
        arguments: dict[str, str] = {"Bucket": self._bucket, "Prefix": checkpoint_prefix(tenant)}
        if after_seq is not None:
            arguments["StartAfter"] = checkpoint_key(tenant, after_seq)
        for page in self._client.get_paginator("list_objects_v2").paginate(**arguments):  # type: ignore[arg-type]
            for entry in page.get("Contents", []):
                key_seq = seq_from_key(entry["Key"])
                if key_seq is not None:
                    yield entry["Key"], key_seq

    def _get(self, key: str, key_seq: int) -> StoredCheckpoint:
        body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return StoredCheckpoint(key_seq, read_checkpoint(body))
