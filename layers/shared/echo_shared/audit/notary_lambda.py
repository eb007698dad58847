"""The ingest's side of the notary split: ask the notary function (synchronously) to verify and
sign the tenants a batch touched. The ingest role may invoke it but holds no kms:Sign itself."""

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from echo_shared.audit.errors import CheckpointError
from echo_shared.audit.notary import ServiceOutcome, outcomes_from_json

if TYPE_CHECKING:
    from types_boto3_lambda.client import LambdaClient


def notary_client(read_timeout_seconds: int) -> "LambdaClient":
    # No SDK retries: a batch whose checkpoint failed is caught up by the tenant's next batch.
    config = Config(read_timeout=read_timeout_seconds, retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("lambda", config=config)


class LambdaCheckpointService:
    def __init__(self, function_name: str, client: "LambdaClient") -> None:
        self._function_name = function_name
        self._client = client

    def checkpoint(self, tenants: Sequence[str]) -> list[ServiceOutcome]:
        if not tenants:
            return []
        try:
            response = self._client.invoke(
                FunctionName=self._function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps({"tenants": list(tenants)}).encode(),
            )
            payload = response["Payload"].read()
        except (ClientError, BotoCoreError) as exc:
            return [CheckpointError(f"notary invoke failed ({type(exc).__name__})") for _ in tenants]
        if response.get("FunctionError"):
            return [CheckpointError("the notary failed") for _ in tenants]
        try:
            reply = json.loads(payload)
        except json.JSONDecodeError:
            reply = None
        return outcomes_from_json(tenants, reply)
