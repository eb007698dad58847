"""Platform figures: LocalStack and deploy timings, invoke latency cold/warm, bundle size, init time."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from stacks.bundling import bundle_function, bundle_layer
from stacks.documents import EXTRA_LAYERS
from tests.bench.common import REPO, STATE, client, contract, summary, timed_ms

WARM_SAMPLES = 30
SAMPLE_EVENTS: dict[str, dict[str, Any]] = {
    "audit_ingest": {"Records": []},
    "log_sink": {"Records": []},
}
RUNTIME_PYTHON = STATE / "localstack/runtimes/python3.13/bin/python"


# Sample files are named after the capability, not always the package.
SAMPLE_PREFIX = {"token_service": "token.discovery", "key_rotation": "key_rotation.scheduled"}


def _sample_event(function: str) -> bytes:
    if function in SAMPLE_EVENTS:
        return json.dumps(SAMPLE_EVENTS[function]).encode()
    samples = sorted((REPO / "events").glob(f"{SAMPLE_PREFIX.get(function, function)}.*json"))
    if not samples:
        raise FileNotFoundError(f"no sample event for {function} in events/")
    return samples[0].read_bytes()


def _force_cold(lambda_client: Any, name: str) -> None:
    """A configuration change makes LocalStack start a fresh execution environment."""
    config = lambda_client.get_function_configuration(FunctionName=name)
    variables = {**config.get("Environment", {}).get("Variables", {}), "ECHO_BENCH_NONCE": uuid.uuid4().hex}
    lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)


def invoke_latency() -> dict[str, Any]:
    lambda_client = client("lambda")
    results: dict[str, Any] = {}
    for function, name in sorted(contract()["functions"].items()):
        payload = _sample_event(function)
        _force_cold(lambda_client, name)
        call = partial(lambda_client.invoke, FunctionName=name, Payload=payload)
        cold = timed_ms(call)
        warm = [timed_ms(call) for _ in range(WARM_SAMPLES)]
        size = lambda_client.get_function(FunctionName=name)["Configuration"]
        layers = sum(layer.get("CodeSize", 0) for layer in size.get("Layers", []))
        results[function] = {
            "cold_ms": round(cold, 1),
            "warm": summary(warm),
            "code_zipped_bytes": size["CodeSize"],
            "layers_zipped_bytes": layers,
        }
    return results


def gateway_latency() -> dict[str, Any]:
    stack = contract()
    http = httpx.Client(base_url=stack["api_url"], timeout=30)
    confidential = stack["demo"]["confidential_client"]
    token = http.post(
        "token",
        auth=(confidential["client_id"], confidential["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "audit:read"},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[str, Any] = {}
    results["health_mock"] = summary([timed_ms(lambda: http.get("health")) for _ in range(WARM_SAMPLES)])
    if "audit_api" in stack["functions"]:
        _force_cold(client("lambda"), stack["functions"]["audit_api"])
        cold = timed_ms(lambda: _ok(http.get("audit/events", headers=headers, params={"limit": 10})))
        warm = [
            timed_ms(lambda: http.get("audit/events", headers=headers, params={"limit": 10}))
            for _ in range(WARM_SAMPLES)
        ]
        results["audit_events"] = {"cold_ms": round(cold, 1), "warm": summary(warm)}
    return results


def _ok(response: httpx.Response) -> httpx.Response:
    response.raise_for_status()  # a refused request would measure the refusal, not the route
    return response


def init_time() -> dict[str, Any]:
    """Handler import time in the bare runtime (what a cold start pays before the first event)."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        layer = Path(scratch, "layer")
        bundle_layer("shared", layer)
        extra = {name for names in EXTRA_LAYERS.values() for name in names}
        for name in extra:
            bundle_layer(name, Path(scratch, f"layer-{name}"))
        for function in sorted(contract()["functions"]):
            bundle = Path(scratch, function)
            bundle_function(function, bundle)
            path = ":".join(
                [str(bundle), str(layer / "python")]
                + [str(Path(scratch, f"layer-{name}", "python")) for name in EXTRA_LAYERS.get(function, ())]
            )
            samples = []
            for _ in range(3):
                started = time.perf_counter()
                subprocess.run(
                    [str(RUNTIME_PYTHON), "-c", f"import {function}.handler"],
                    cwd=bundle,
                    env={"PYTHONPATH": path, "AWS_DEFAULT_REGION": "us-east-1"},
                    check=True,
                )
                samples.append((time.perf_counter() - started) * 1000)
            baseline = timed_ms(lambda: subprocess.run([str(RUNTIME_PYTHON), "-c", "pass"], check=True))
            results[function] = {
                "import_ms": round(min(samples), 1),
                "bare_interpreter_ms": round(baseline, 1),
            }
    return results


def deploy_timings() -> dict[str, Any]:
    path = STATE / "timings.json"
    return json.loads(path.read_text()) if path.exists() else {}
