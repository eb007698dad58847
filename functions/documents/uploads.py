"""The upload-form port and its S3 adapter: presigned POSTs whose policy pins key, size and type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from echo_documents.errors import DocumentStoreUnavailable


@dataclass(frozen=True, slots=True)
class UploadForm:
    url: str
    fields: dict[str, str]


class UploadForms(Protocol):
    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> UploadForm: ...


class S3UploadForms:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self._bucket = bucket
        self._client = client or boto3.client("s3")

    def presigned_post(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadForm:
        try:
            post = self._client.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,  # boto3 adds the exact-key condition itself
                Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
                ExpiresIn=expires_in,
            )
        except (ClientError, BotoCoreError) as exc:
            raise DocumentStoreUnavailable("upload form cannot be signed") from exc
        return UploadForm(url=post["url"], fields={str(k): str(v) for k, v in post["fields"].items()})
