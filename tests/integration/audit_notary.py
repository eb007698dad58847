"""The ingest's notary, run in process for the moto tier (moto cannot run a Lambda without Docker)."""

import io
import json
from typing import Any

import pytest
from audit_ingest import dependencies as ingest_dependencies
from audit_notary.handler import lambda_handler as notary_handler

from tests.conftest import FakeLambdaContext


class InProcessNotary:
    """Stands in for the ingest's Lambda client: runs the notary function's handler here, against
    the same moto resources (moto cannot run a Lambda without Docker)."""

    def __init__(self, context: FakeLambdaContext) -> None:
        self._context = context
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        request = json.loads(Payload)
        self.invocations.append(request)
        reply = notary_handler(request, self._context)
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(reply).encode())}


@pytest.fixture(autouse=True)
def in_process_notary(monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext) -> InProcessNotary:
    fake = InProcessNotary(lambda_context)
    monkeypatch.setenv("AUDIT_NOTARY_FUNCTION", "echo-test-audit-notary")
    monkeypatch.setattr(ingest_dependencies, "get_notary_client", lambda: fake)
    return fake
