"""The object store port (documents bucket) and its S3 adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from echo_documents.errors import DocumentStoreUnavailable

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

_MISSING = {"NoSuchKey", "404", "NotFound"}


class ObjectTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"object holds {size} bytes")
        self.size = size


class ObjectStore(Protocol):
    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        """The object's bytes, None if absent; raises ObjectTooLarge past `max_bytes`."""
        ...

    def write(self, key: str, data: bytes, content_type: str) -> None: ...

    def delete(self, key: str) -> None:
        """Idempotent: deleting an absent key succeeds."""
        ...


class S3ObjectStore:
    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client: Any = client or boto3.client("s3")

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
            if head["ContentLength"] > max_bytes:
                raise ObjectTooLarge(head["ContentLength"])
            body: bytes = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                return None
            raise DocumentStoreUnavailable("documents bucket cannot be read") from exc
        except BotoCoreError as exc:
            raise DocumentStoreUnavailable("documents bucket cannot be read") from exc
        return body

    def write(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise DocumentStoreUnavailable("documents bucket cannot be written") from exc

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise DocumentStoreUnavailable("documents bucket cannot be written") from exc
