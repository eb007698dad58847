"""The S3 adapter of `IndexStore`: `index/{tenant}/segments/{document_id}.seg` + `index/{tenant}/manifest.json`.

Snapshots (`index/{tenant}/snapshots/{generation:010d}.snap`, echo_retrieval.snapshot) are written
under a new key per generation (never overwritten) before the manifest points at them, and the
previous generation is deleted after. Segments are written before the manifest names them and removed from the manifest before their
object is deleted, so a reader never meets a manifest entry without its segment. Concurrent
writers (several embed functions of one tenant) update the manifest with S3 conditional writes
(If-Match on the ETag read, If-None-Match for the first one) and retry on 412, so no update is lost.
A reader asks with If-None-Match and gets 304 while nothing changed.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

from echo_retrieval.index import (
    IndexDataError,
    IndexObjectMissing,
    Manifest,
    SegmentEntry,
    SnapshotEntry,
    read_segment,
    segment_sha256,
)

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_ATTEMPTS = 8


class ManifestConflict(IndexDataError):
    """The manifest kept changing under concurrent writers; the caller's message is retried (SQS)."""


def _check_id(value: str, what: str) -> str:
    if not _SAFE_ID.match(value) or ".." in value:
        raise ValueError(f"{what} is not a safe identifier")
    return value


class S3IndexStore:
    def __init__(self, client: Any, bucket: str, *, prefix: str = "index") -> None:
        self._s3 = client
        self._bucket = bucket
        self._prefix = prefix.strip("/")

    def segment_key(self, tenant: str, document_id: str) -> str:
        return f"{self._prefix}/{_check_id(tenant, 'tenant')}/segments/{_check_id(document_id, 'document_id')}.seg"

    def manifest_key(self, tenant: str) -> str:
        return f"{self._prefix}/{_check_id(tenant, 'tenant')}/manifest.json"

    def put_segment(self, tenant: str, document_id: str, segment: bytes) -> None:
        chunks = len(read_segment(segment).chunks)  # refuse to publish bytes no reader could load
        key = self.segment_key(tenant, document_id)
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=segment, ContentType="application/octet-stream"
        )
        entry = SegmentEntry(key, segment_sha256(segment), chunks)
        self._update_manifest(tenant, lambda manifest: manifest.with_segment(document_id, entry))

    def delete_segment(self, tenant: str, document_id: str) -> None:
        key = self.segment_key(tenant, document_id)
        self._update_manifest(tenant, lambda manifest: manifest.without(document_id))
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def read_manifest(self, tenant: str, *, if_none_match: str | None = None) -> tuple[Manifest, str] | None:
        from botocore.exceptions import ClientError

        request: dict[str, Any] = {"Bucket": self._bucket, "Key": self.manifest_key(tenant)}
        if if_none_match:
            request["IfNoneMatch"] = if_none_match
        try:
            response = self._s3.get_object(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 304 or code == "304":
                return None
            if code in {"NoSuchKey", "404"}:
                return None if if_none_match == "" else (Manifest(), "")
            raise
        return Manifest.from_json_bytes(response["Body"].read()), str(response["ETag"])

    def get_segment(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        if not key.startswith(f"{self._prefix}/"):
            raise ValueError("segment key outside the index prefix")
        try:
            body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise IndexObjectMissing(key) from None
            raise
        return body

    def snapshot_key(self, tenant: str, generation: int, sha256: str) -> str:
        name = f"{int(generation):010d}-{_check_id(sha256[:16], 'sha256')}"
        return f"{self._prefix}/{_check_id(tenant, 'tenant')}/snapshots/{name}.snap"

    def put_snapshot(self, tenant: str, generation: int, snapshot: bytes) -> str:
        key = self.snapshot_key(tenant, generation, segment_sha256(snapshot))
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=snapshot, ContentType="application/octet-stream"
        )
        return key

    def replace_snapshot(self, tenant: str, entry: SnapshotEntry, *, based_on: int) -> bool:
        replaced = False

        def change(manifest: Manifest) -> Manifest:
            nonlocal replaced
            current = manifest.snapshot.generation if manifest.snapshot else 0
            replaced = current == based_on
            return manifest.with_snapshot(entry) if replaced else manifest

        self._update_manifest(tenant, change)
        return replaced

    def delete_snapshot(self, key: str) -> None:
        if not key.startswith(f"{self._prefix}/") or "/snapshots/" not in key:
            raise ValueError("snapshot key outside the index prefix")
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def snapshot_generations(self, tenant: str) -> dict[str, int]:
        prefix = f"{self._prefix}/{_check_id(tenant, 'tenant')}/snapshots/"
        found: dict[str, int] = {}
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            for listed in page.get("Contents", []):
                key = str(listed["Key"])
                generation = key[len(prefix) :].split("-", 1)[0]
                if generation.isdigit():
                    found[key] = int(generation)
        return found

    def _update_manifest(self, tenant: str, change: Any) -> None:
        from botocore.exceptions import ClientError

        key = self.manifest_key(tenant)
        for attempt in range(MAX_ATTEMPTS):
            snapshot = self.read_manifest(tenant)
            manifest, etag = snapshot if snapshot else (Manifest(), "")
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            try:
                self._s3.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=change(manifest).to_json_bytes(),
                    ContentType="application/json",
                    **condition,
                )
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in {
                    "PreconditionFailed",
                    "ConditionalRequestConflict",
                }:
                    raise
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not security
        raise ManifestConflict(f"manifest of tenant {tenant} changed {MAX_ATTEMPTS} times during an update")
