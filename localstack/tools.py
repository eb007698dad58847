"""Developer tools against the deployed local stack: `make invoke`, `make logs` and `make mail`.

Function names are the logical names from .echo/stack.json (`audit_ingest`, `audit_api`, ...).
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from up import STATE, client


def contract() -> dict[str, Any]:
    path = STATE / "stack.json"
    if not path.exists():
        raise SystemExit("no .echo/stack.json: run `make up` first")
    return json.loads(path.read_text())


def physical_name(function: str) -> str:
    functions = contract()["functions"]
    if function not in functions:
        raise SystemExit(f"unknown function {function!r}; deployed: {', '.join(sorted(functions))}")
    return functions[function]


# A producer topic's ARN in a sample, whatever stage, region and account it was written for.
_SAMPLE_TOPIC = re.compile(r"arn:aws:sns:[a-z0-9-]+:\d{12}:echo-[a-z0-9]+-events(?:-(?P<producer>[a-z]+))?\b")


def for_deployed_stack(sample: str, topics: dict[str, str]) -> str:
    """The sample with each producer topic's ARN replaced by the deployed one (stack.json `topics`):
    the audit ingest records where an event was delivered from and refuses a topic that is no
    producer's, so a sample written for another account would only show its refusal."""

    def deployed(match: re.Match[str]) -> str:
        return topics.get(match["producer"] or "platform", match[0])

    return _SAMPLE_TOPIC.sub(deployed, sample)


def invoke(function: str, event_file: str) -> int:
    if not function or not event_file:
        raise SystemExit("usage: make invoke FN=<function> EVENT=events/<file>.json")
    payload = for_deployed_stack(Path(event_file).read_text(), contract()["topics"]).encode()
    json.loads(payload)  # refuse a broken sample before sending it
    started = time.perf_counter()
    response = client("lambda").invoke(FunctionName=physical_name(function), Payload=payload, LogType="Tail")
    elapsed_ms = (time.perf_counter() - started) * 1000
    result = response["Payload"].read().decode()
    try:
        print(json.dumps(json.loads(result), indent=2))
    except json.JSONDecodeError:
        print(result)
    print(f"\n--- status {response['StatusCode']}, {elapsed_ms:.0f} ms", end="")
    print(f", error: {response['FunctionError']}" if "FunctionError" in response else "")
    print("--- log tail:")
    print(base64.b64decode(response.get("LogResult", "")).decode(errors="replace"))
    return 1 if "FunctionError" in response else 0


def follow_logs(function: str) -> int:
    group = f"/aws/lambda/{physical_name(function)}"
    logs = client("logs")
    since = int((time.time() - 300) * 1000)
    seen: set[str] = set()
    print(f"following {group} (Ctrl-C to stop)")
    try:
        while True:
            response = logs.filter_log_events(logGroupName=group, startTime=since)
            for event in response.get("events", []):
                if event["eventId"] not in seen:
                    seen.add(event["eventId"])
                    print(event["message"].rstrip())
                    since = max(since, event["timestamp"])
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    except logs.exceptions.ResourceNotFoundException:
        print(f"{group} has no logs yet")
        return 1


def mail() -> int:
    """The local stage has no mailer: `notification.*` events wait in the notifications queue (the
    outbox). Move them into the local mail folder, .echo/mail/, and print who gets which link."""
    queue = contract()["queues"]["notifications"]
    sqs = client("sqs")
    folder = STATE / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    delivered = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            break
        for message in messages:
            event = json.loads(message["Body"])
            data = event.get("data") or {}
            (folder / f"{event['event_id']}.json").write_text(json.dumps(event, indent=2))
            print(f"{event['type']}  to {data.get('to')}\n  {data.get('link')}")
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            delivered += 1
    print(f"{delivered} new message(s); all mail is in {folder}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    invoke_parser = sub.add_parser("invoke")
    invoke_parser.add_argument("function")
    invoke_parser.add_argument("event")
    logs_parser = sub.add_parser("logs")
    logs_parser.add_argument("function")
    sub.add_parser("mail")
    args = parser.parse_args()
    if args.command == "invoke":
        return invoke(args.function, args.event)
    if args.command == "mail":
        return mail()
    return follow_logs(args.function)


if __name__ == "__main__":
    sys.exit(main())
