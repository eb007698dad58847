"""`make up`: bring the whole platform up on LocalStack, offline, idempotently.

Steps print one line each with elapsed time; full output goes to .echo/logs/<step>.log.
After deploy, .echo/stack.json is written: the contract that tests, docs and tools read.
Run with the project venv (needs boto3): `.venv/bin/python localstack/up.py [up|deploy|contract|seed]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("ECHO_STATE_DIR", REPO / ".echo"))
LOGS = STATE / "logs"
STAGE = "local"
REGION = "us-east-1"
ENDPOINT = os.environ.get(
    "ECHO_ENDPOINT_URL", f"http://127.0.0.1:{os.environ.get('ECHO_LOCALSTACK_PORT') or 4566}"
)
STACK_NAME = f"Echo-{STAGE}"
DEMO_TENANT = "demo"
SEEDED_TENANTS = ("demo", "other_tenant")  # stack.json keys of the seeded tenants, same shape
# A fixed namespace makes the seed's event ids deterministic, so re-seeding is exactly-once in the audit log.
SEED_NAMESPACE = uuid.UUID("6f1d3c1e-3b1f-4d7e-9a53-0c2f4f0e6a11")


class StepFailed(RuntimeError):
    """A `make up` step failed; its log file has the details."""


def aws_env() -> dict[str, str]:
    """Environment for AWS clients and the CDK CLI pointed at LocalStack (see LOCALSTACK_OFFLINE.md)."""
    node_bin = str(REPO / "node_modules/.bin")
    return {
        **os.environ,
        "PATH": f"{node_bin}:{REPO / '.venv/bin'}:{os.environ.get('PATH', '')}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": ENDPOINT,
        "AWS_ENDPOINT_URL_S3": ENDPOINT,
        "AWS_S3_FORCE_PATH_STYLE": "1",
        "AWS_ENVAR_ALLOWLIST": "AWS_REGION,AWS_DEFAULT_REGION,AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "CDK_DEFAULT_ACCOUNT": "000000000000",
        "CDK_DEFAULT_REGION": REGION,
    }


def client(service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106
    )


class Progress:
    """One line per step; step durations also land in .echo/timings.json for `make bench`."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.timings: dict[str, float] = {}

    def step(self, name: str, action: Callable[[Path], str | None]) -> None:
        log = LOGS / f"{name.replace(' ', '-')}.log"
        t0 = time.monotonic()
        print(f"  … {name}", end="", flush=True)
        try:
            detail = action(log)
        except StepFailed as error:
            print(f"\r  ✗ {name} ({time.monotonic() - t0:.1f}s) — see {log}")
            raise SystemExit(str(error)) from error
        if not (detail or "").startswith("already"):  # keep the figure of the run that did the work
            self.timings[name] = round(time.monotonic() - t0, 2)
            self._record()
        suffix = f" — {detail}" if detail else ""
        print(
            f"\r  ✓ {name} ({time.monotonic() - t0:.1f}s, total {time.monotonic() - self.started:.0f}s){suffix}"
        )

    def _record(self) -> None:
        for name, seconds in self.timings.items():
            record_timing(name, seconds)


def record_timing(name: str, seconds: float) -> None:
    path = STATE / "timings.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**previous, name: seconds}, indent=2) + "\n")


def run(command: Sequence[str], log: Path, *, env: dict[str, str] | None = None) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}  # {datetime.now(UTC).isoformat()}\n")
        out.flush()
        result = subprocess.run(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise StepFailed(f"{' '.join(command[:3])} exited with {result.returncode}; log: {log}")


def cdk(args: Sequence[str], log: Path) -> None:
    # The issuer URL embeds the endpoint: pass the one we deploy to (the port can differ).
    context = ["-c", f"stage={STAGE}", "-c", f"localstack_endpoint={ENDPOINT}"]
    run([str(REPO / "node_modules/.bin/cdklocal"), *args, "--no-notices", *context], log, env=aws_env())


def stack_exists(name: str) -> bool:
    try:
        stacks = client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError:
        return False
    return bool(stacks) and not stacks[0]["StackStatus"].endswith("_FAILED")


def bootstrap(log: Path) -> str:
    if stack_exists("CDKToolkit"):
        return "already bootstrapped"
    cdk(["bootstrap", f"aws://000000000000/{REGION}"], log)
    return "bootstrapped"


def deploy(log: Path) -> str:
    # Direct deployment: LocalStack's change-set engine has crashed on updates (LOCALSTACK_OFFLINE.md).
    start = log.stat().st_size if log.exists() else 0
    cdk(["deploy", STACK_NAME, "--require-approval", "never", "--method=direct", "--progress", "events"], log)
    restored = ensure_api_stage(log)
    if "(no changes)" in log.read_text()[start:]:
        return f"already deployed, no changes{restored}"
    return STACK_NAME + restored


def ensure_api_stage(log: Path) -> str:
    """LocalStack 2026.3.0 drops the stage when an update replaces the API's Deployment resource
    (CDK does on every route change); AWS moves the stage to the new deployment. Put it back."""
    outputs = stack_outputs()
    apigateway = client("apigateway")
    stages = apigateway.get_stages(restApiId=outputs["ApiId"])["item"]
    if any(stage["stageName"] == outputs["ApiStage"] for stage in stages):
        return ""
    apigateway.create_deployment(
        restApiId=outputs["ApiId"], stageName=outputs["ApiStage"], description="make up: stage restored"
    )
    with log.open("a") as out:
        out.write(f"stage {outputs['ApiStage']} was missing after the update: redeployed it\n")
    return f" (stage {outputs['ApiStage']} restored)"


def wait_for_streams(log: Path, *, timeout: float = 60.0) -> str:
    """Writes to a table made before its stream reports ENABLED are silently lost on LocalStack
    (LOCALSTACK_OFFLINE.md): wait for every stream of the stack (each producer's outbox) before the first write."""
    dynamodb, streams = client("dynamodb"), client("dynamodbstreams")
    pages = client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=STACK_NAME)
    tables = [
        resource["PhysicalResourceId"]
        for page in pages
        for resource in page["StackResourceSummaries"]
        if resource["ResourceType"] == "AWS::DynamoDB::Table"
    ]
    stream_arns = [
        arn
        for table in tables
        if (arn := dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn"))
    ]
    deadline = time.monotonic() + timeout
    pending = list(stream_arns)
    while pending:
        pending = [
            arn
            for arn in pending
            if streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] != "ENABLED"
        ]
        if pending and time.monotonic() > deadline:
            raise StepFailed(f"streams not enabled after {timeout:.0f} s: {pending}")
        if pending:
            time.sleep(0.2)
    with log.open("a") as out:
        out.write("".join(f"{arn} ENABLED\n" for arn in stream_arns))
    return f"{len(stream_arns)} enabled"


def stack_outputs() -> dict[str, str]:
    stack = client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _grouped(outputs: dict[str, str], prefix: str) -> dict[str, str]:
    def snake(name: str) -> str:
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")

    return {snake(key[len(prefix) :]): value for key, value in outputs.items() if key.startswith(prefix)}


def write_contract(log: Path) -> str:
    outputs = stack_outputs()
    api_id, api_stage = outputs["ApiId"], outputs["ApiStage"]
    contract: dict[str, Any] = {
        "stage": STAGE,
        "region": REGION,
        "endpoint_url": ENDPOINT,
        "stack_name": STACK_NAME,
        "api_id": api_id,
        "api_stage": api_stage,
        "api_url": f"{ENDPOINT}/_aws/execute-api/{api_id}/{api_stage}/",
        "tables": _grouped(outputs, "Table"),
        "buckets": _grouped(outputs, "Bucket"),
        "topics": _grouped(outputs, "Topic"),
        "queues": _grouped(outputs, "Queue"),
        "functions": _grouped(outputs, "Function"),
        "keys": _grouped(outputs, "Key"),
        "issuer": outputs["IdentityIssuer"],
        "web_url": outputs.get("WebUrl"),
        "demo": {"tenant": DEMO_TENANT},
        **{
            key: value
            for key, value in _previous_contract().items()
            if key in SEEDED_TENANTS or key == "web_clients"
        },
    }
    _save_contract(contract)
    log.write_text(json.dumps({k: v for k, v in contract.items() if k not in SEEDED_TENANTS}, indent=2))
    return str((STATE / "stack.json").relative_to(REPO))


def _previous_contract() -> dict[str, Any]:
    path = STATE / "stack.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _save_contract(contract: dict[str, Any]) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    path = STATE / "stack.json"
    path.write_text(json.dumps(contract, indent=2) + "\n")
    path.chmod(0o600)  # holds the demo users' passwords and the demo client secret


def seed_identity(log: Path) -> str:
    """Both tenants' users and clients and the first signing key; passwords that still verify are kept."""
    contract = _previous_contract()
    command = [
        sys.executable, str(REPO / "localstack/identity_seed.py"),
        "--endpoint-url", ENDPOINT, "--region", REGION, "--stage", STAGE,
        "--identity-table", contract["tables"]["identity"],
        "--signing-keys-table", contract["tables"]["signing_keys"],
        "--issuer", contract["issuer"], "--previous", str(STATE / "stack.json"),
    ]  # fmt: skip
    env = {**aws_env(), "PYTHONPATH": str(REPO / "layers/shared")}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    with log.open("a") as out:
        out.write(result.stderr)  # the JSON on stdout holds passwords: never logged
    if result.returncode != 0:
        raise StepFailed(f"identity seeding exited with {result.returncode}; log: {log}")
    contract.update(json.loads(result.stdout))
    _save_contract(contract)
    return ", ".join(contract[key]["users"]["admin"]["email"] for key in SEEDED_TENANTS)


def seed_web_client(log: Path) -> str:
    """Register the web app with every seeded tenant (localstack/web_client.py)."""
    contract = _previous_contract()
    outputs = stack_outputs()
    tenants = [contract[key]["tenant"] for key in SEEDED_TENANTS]
    command = [
        sys.executable, str(REPO / "localstack/web_client.py"),
        "--endpoint-url", ENDPOINT, "--region", REGION,
        "--identity-table", contract["tables"]["identity"],
        "--secret-arn", outputs["WebClientSecretArn"], "--web-url", outputs["WebUrl"],
        *[arg for tenant in tenants for arg in ("--tenant", tenant)],
    ]  # fmt: skip
    env = {**aws_env(), "PYTHONPATH": str(REPO / "layers/shared")}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    with log.open("a") as out:
        out.write(result.stderr)
    if result.returncode != 0:
        raise StepFailed(f"web client registration exited with {result.returncode}; log: {log}")
    contract["web_clients"] = json.loads(result.stdout)
    _save_contract(contract)
    return ", ".join(sorted(contract["web_clients"].values()))


def seed(log: Path) -> str:
    """Announce the seeded tenants on the bus; fixed event ids make a re-seed a no-op in the audit log."""
    contract = json.loads((STATE / "stack.json").read_text())
    events = []
    for key in SEEDED_TENANTS:
        tenant = contract[key]["tenant"]
        event = {
            "event_id": str(uuid.uuid5(SEED_NAMESPACE, f"tenant.created/{tenant}")),
            "type": "tenant.created",
            "tenant": tenant,
            "actor": "system:make-up",
            "action": "create",
            "resource": f"tenant/{tenant}",
            "outcome": "success",
            "occurred_at": "2026-01-01T00:00:00Z",
            "request_id": "make-up-seed",
            "data": {"name": f"{tenant.capitalize()} tenant"},
        }
        client("sns").publish(
            TopicArn=contract["topics"]["events"],
            Message=json.dumps(event),
            MessageAttributes={
                "type": {"DataType": "String", "StringValue": event["type"]},
                "tenant": {"DataType": "String", "StringValue": event["tenant"]},
            },
        )
        events.append(event)
    log.write_text(json.dumps(events, indent=2))
    return ", ".join(f"tenant {event['tenant']!r}" for event in events)


def localstack(command: str) -> Callable[[Path], str | None]:
    def action(log: Path) -> str | None:
        start = log.stat().st_size if log.exists() else 0
        run([sys.executable, str(REPO / "localstack/manage.py"), command], log)
        output = log.read_text()[start:]
        cold = re.search(r"healthy after ([0-9.]+) s", output)
        if cold:
            record_timing("localstack cold start to healthy", float(cold.group(1)))
            return f"cold start {cold.group(1)} s"
        return "already running" if "already running" in output else None

    return action


def print_urls() -> None:
    contract = json.loads((STATE / "stack.json").read_text())
    api = contract["api_url"]
    print("\nEcho is up (stage local, offline):")
    print(f"  API            {api}")
    print(f"  health         {api}health")
    print(f"  sign in        {api}login")
    print(f"  discovery      {api}.well-known/openid-configuration")
    print(f"  audit events   {api}audit/events   (Authorization: Bearer <access token>)")
    print(f"  audit verify   {api}audit/verify")
    print(f"  app logs       {api}logs")
    print(f"  mail (local)   make mail   (verification links; kept in {STATE / 'mail'})")
    if contract.get("web_url"):
        print(f"  web app        {contract['web_url']}")
    print(f"  LocalStack     {ENDPOINT}")
    demo = contract["demo"]
    if "users" in demo:
        print(f"  demo admin     {demo['users']['admin']['email']}  (password in {STATE / 'stack.json'})")
    if "users" in contract.get("other_tenant", {}):
        print(f"  other admin    {contract['other_tenant']['users']['admin']['email']}")
    print(f"  contract       {STATE / 'stack.json'}  (demo and other_tenant: users, clients)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["up", "deploy", "contract", "seed"], nargs="?", default="up")
    command = parser.parse_args().command
    progress = Progress()
    if command == "up":
        progress.step("install localstack", localstack("install"))
        progress.step("start localstack", localstack("start"))
        progress.step("cdk bootstrap", bootstrap)
    if command in ("up", "deploy"):
        progress.step("cdk deploy", deploy)
        progress.step("wait for table streams", wait_for_streams)
    if command in ("up", "deploy", "contract"):
        progress.step("write stack.json", write_contract)
    if command in ("up", "seed"):
        progress.step("seed demo identities", seed_identity)
        progress.step("register web app", seed_web_client)
        progress.step("seed demo tenant", seed)
    if command == "up":
        print_urls()


if __name__ == "__main__":
    main()
