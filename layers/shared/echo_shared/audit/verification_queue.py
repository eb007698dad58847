"""The verification job queue on SQS: one message {"tenant", "job_id"} asks for the next pages."""

import json
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from echo_shared.audit.errors import AuditStoreThrottled
from echo_shared.events import is_valid_tenant

if TYPE_CHECKING:
    from types_boto3_sqs.client import SQSClient

_MAX_JOB_ID = 64


class InvalidJobMessage(ValueError):
    """A queue message that is not {"tenant": <tenant id>, "job_id": <id>}."""


def job_message(tenant: str, job_id: str) -> str:
    return json.dumps({"tenant": tenant, "job_id": job_id}, sort_keys=True)


def read_job_message(body: str) -> tuple[str, str]:
    try:
        document: Any = json.loads(body)
    except ValueError:
        raise InvalidJobMessage("not JSON") from None
    tenant = document.get("tenant") if isinstance(document, dict) else None
    job_id = document.get("job_id") if isinstance(document, dict) else None
    if not isinstance(tenant, str) or not is_valid_tenant(tenant):
        raise InvalidJobMessage("not a tenant id")
    if not isinstance(job_id, str) or not 0 < len(job_id) <= _MAX_JOB_ID:
        raise InvalidJobMessage("not a job id")
    return tenant, job_id


class SqsJobQueue:
    def __init__(self, queue_url: str, client: "SQSClient | None" = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs")

    def enqueue(self, tenant: str, job_id: str) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=job_message(tenant, job_id))
        except (ClientError, BotoCoreError) as exc:
            raise AuditStoreThrottled("queueing the verification job failed") from exc
