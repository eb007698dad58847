"""Baseline consumer for the audit throughput benchmark: one PutItem per event, no chain, no guard."""

import json
import os

import boto3

_table = None


def lambda_handler(event, context):
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["TABLE"])
    for record in event["Records"]:
        body = json.loads(record["body"])
        _table.put_item(Item={"tenant": body["tenant"], "event_id": body["event_id"]})
    return {"batchItemFailures": []}
